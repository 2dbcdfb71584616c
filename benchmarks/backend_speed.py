"""Inference speed of the network alone in each backend: PyTorch, skorch, ONNX Runtime fp32 and int8.

Model only: uint8 films already in memory (random textures at the
network's input size; the speed does not depend on what the films show),
no decoding, no guard. Backends:

* PyTorch fp32: ``module_`` under ``torch.inference_mode``;
* skorch: ``CXRClassifier.predict_proba`` (batching, softmax, copies);
* ONNX Runtime fp32 and int8: :class:`skcxr.backends.OnnxNetwork` on the
  files ``benchmarks/build_int8.py`` writes (idle threads not spinning).

Each round times every backend at batch 1 and 64, in an order that
rotates from round to round, so a change of load on a shared machine hits
all alike; the table gives the median over rounds, the ratio to PyTorch
fp32, and the share of the fp32 peak: the network's FLOPs per film
(``torch.utils.flop_counter.FlopCounterMode``, 2 per multiply-add) times
films per second, over the fp32 matrix-multiply rate of as many cores
(one core's ``torch.mm`` rate times the threads, the best of samples taken
between rounds). int8 kernels have a higher peak of their own (VNNI), so
the int8 share can exceed 100%.

    SKCXR_DATA=../shared/data nice python benchmarks/build_int8.py --out /tmp/skcxr-backends
    nice python benchmarks/backend_speed.py --backends /tmp/skcxr-backends --out speed.md

The int8 file is the shipped screener's; the fp32 file is exported into
``--backends`` on the first run.
"""

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import skcxr
from skcxr import CXRClassifier
from skcxr.backends import OnnxNetwork, cpu_share
from skcxr.backends._reference import inference_copy, texture_images

BATCHES = (1, 64)


def films_per_second(score, X, batch, seconds):
    """Films per second of ``score`` on batches of ``batch`` films, timed for about ``seconds``."""
    batches = [X[i:i + batch] for i in range(0, len(X), batch)]
    score(batches[0])  # warm: allocations, ORT's first-run planning
    done, start = 0, time.perf_counter()
    while True:
        for chunk in batches:
            score(chunk)
            done += len(chunk)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def matmul_peak(threads, size=1024, seconds=2.0):
    """fp32 matrix-multiply rate (FLOP/s) of ``threads`` cores: one core's torch.mm rate times ``threads``.

    Measured on one thread: on a loaded machine a multi-threaded matmul
    waits at every barrier for its slowest thread, which says more about
    the load than about the cores.
    """
    torch.set_num_threads(1)
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        done += 1
    rate = 2 * size**3 * done / (time.perf_counter() - start)
    torch.set_num_threads(threads)
    return threads * rate


def flops_per_film(module, shape):
    network = inference_copy(module)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        network(torch.zeros((1, *shape), dtype=torch.uint8))
    return counter.get_total_flops()


def backends(name, backend_dir, threads):
    """name -> {batch: score function} for every backend.

    The int8 file is the one the screener ships; the fp32 file is exported
    into ``backend_dir`` (verified) unless one is there already.
    """
    from skcxr.backends import export_onnx
    from skcxr.pretrained import get_card
    from skcxr.pretrained._registry import pretrained_folder

    classifier = skcxr.load_pretrained(name, device="cpu", backend="torch").classifier
    module = inference_copy(classifier.module_)

    def pytorch(x):
        with torch.inference_mode():
            return module(torch.from_numpy(x))

    state = classifier.get_state()
    skorch = {batch: CXRClassifier.from_state(state, device="cpu", batch_size=batch)
              for batch in BATCHES}
    fp32 = Path(backend_dir) / f"{name}-onnx-fp32.onnx"
    if not fp32.is_file():
        fp32.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(classifier, fp32)
    int8 = pretrained_folder(name) / get_card(name).backends["onnxruntime-int8"]["file"]
    onnx = {"fp32": OnnxNetwork(fp32, n_threads=threads),
            "int8": OnnxNetwork(int8, n_threads=threads)}
    return {
        "PyTorch fp32 (module_, inference_mode)": {b: pytorch for b in BATCHES},
        "skorch predict_proba (fp32)": {b: skorch[b].predict_proba for b in BATCHES},
        "ONNX Runtime fp32": {b: onnx["fp32"].run for b in BATCHES},
        "ONNX Runtime int8 (static QDQ)": {b: onnx["int8"].run for b in BATCHES},
    }


def table(rates, flops, peak, threads, args, load):
    baseline = {b: statistics.median(rates["PyTorch fp32 (module_, inference_mode)"][b])
                for b in BATCHES}
    lines = [
        f"Network: {args.name}; {flops / 1e9:.2f} GFLOP per film (FlopCounterMode). Machine: "
        f"{platform.machine()} CPU, {threads} thread{'s' * (threads != 1)} (torch and ONNX "
        f"Runtime), fp32 matmul peak {peak / 1e9:.0f} GFLOP/s measured here (1-thread "
        f"torch.mm 1024x1024 x threads). "
        f"Median of {args.rounds} interleaved rounds of about {args.seconds:g} s per backend "
        f"and batch. Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end "
        f"(2 would fill both cores). {args.load_note}",
        "",
        "| backend | batch 1 films/s | ratio | share of fp32 peak | batch 64 films/s | ratio | "
        "share of fp32 peak |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, by_batch in rates.items():
        cells = []
        for b in BATCHES:
            rate = statistics.median(by_batch[b])
            cells += [f"{rate:.0f}", f"{rate / baseline[b]:.2f}", f"{rate * flops / peak:.0%}"]
        lines.append(f"| {backend} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=skcxr.list_pretrained()[0])
    parser.add_argument("--backends", default="/tmp/skcxr-backends",
                        help="the folder build_int8.py wrote the ONNX files to")
    parser.add_argument("--threads", type=int, default=None, help="default: this process's CPU share")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="per backend, batch and round")
    parser.add_argument("--films", type=int, default=128)
    parser.add_argument("--load-note", default="", help="what else ran on the machine")
    parser.add_argument("--out", required=True, help="markdown file for the table")
    args = parser.parse_args()
    threads = args.threads or cpu_share()
    torch.set_num_threads(threads)
    load_at_start = os.getloadavg()[0]

    candidates = backends(args.name, args.backends, threads)
    shape = tuple(skcxr.pretrained.get_card(args.name).network["fitted"]["input_shape"])
    X = texture_images(shape, n=args.films)
    torch_classifier = skcxr.load_pretrained(args.name, device="cpu", backend="torch").classifier
    flops = flops_per_film(torch_classifier.module_, shape)
    peaks = [matmul_peak(threads)]
    rates = {backend: {b: [] for b in BATCHES} for backend in candidates}
    order = list(candidates)
    for round_ in range(args.rounds):
        for backend in order[round_ % len(order):] + order[:round_ % len(order)]:
            for b in BATCHES:
                rate = films_per_second(candidates[backend][b], X, b, args.seconds)
                rates[backend][b].append(rate)
        peaks.append(matmul_peak(threads))  # between rounds: the same load as the backends saw
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    # The peak is what the machine can do: the best of the samples (each a
    # 2 s average); load only ever lowers it.
    text = table(rates, flops, max(peaks), threads, args, (load_at_start, os.getloadavg()[0]))
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
