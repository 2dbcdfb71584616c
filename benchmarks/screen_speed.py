"""``skcxr screen`` end to end: speed against the model's own predict_proba, and peak memory.

In one run on one machine, three measurements:

1. The streaming loop against the network, in this process, alternating:
   ``predict_proba`` on images decoded beforehand (the network alone: the
   ceiling a screen can approach), then :func:`skcxr.screener.screen_files`
   on the same files (reading, decoding, guard, scoring, one row per file),
   ``--rounds`` times; best of each.
2. ``skcxr screen`` on folders of N files (copies of the Kermany test films
   in a temporary folder), each in a fresh child process whose wall time and
   peak resident memory (``ru_maxrss`` from ``os.wait4``) are measured: end
   to end (start-up, importing torch and loading the model included), and
   the rate of its screening loop (what its summary line prints).
3. For the ratio of (2), ``predict_proba`` is timed right before and right
   after each child run and the mean is used, so that a change in the load
   of a shared machine does not pass for a difference in speed.

Timings are indicative on a shared machine; nothing here asserts one.
10,000 files take about 3 minutes on 2 idle cores at 128 px, much longer
when the CPU is shared.

    python benchmarks/screen_speed.py --model my_model.joblib
    python benchmarks/screen_speed.py --model NAME --sizes 1000 10000 --rounds 3
"""

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from skcxr.cli._models import load_model
from skcxr.datasets import get_skcxr_data_home
from skcxr.screener import screen_files
from skcxr.screener._worklist import screening_parts

REPO_ROOT = Path(__file__).resolve().parents[1]


def make_folder(folder, sources, n):
    """``n`` copies of ``sources`` (round robin) in sub-folders of 1,000 files."""
    for i in range(n):
        sub = folder / f"part{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        source = sources[i % len(sources)]
        shutil.copyfile(source, sub / f"{i:06d}_{source.name}")
    return folder


def baseline(screener, files):
    """Files/s of predict_proba on the same files' images, decoded beforehand (not timed)."""
    loader, scorer = screening_parts(screener)
    X = loader.transform(files)
    start = time.perf_counter()
    scorer.predict_proba(X)
    return len(files) / (time.perf_counter() - start)


def screen(folder, n, model, extra):
    """Run ``skcxr screen`` in a child process: (end-to-end s, loop files/s, peak RSS bytes)."""
    out = folder.parent / f"{folder.name}.csv"
    command = [sys.executable, "-m", "skcxr", "screen", str(folder), "--model", model,
               "--out", str(out), *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"skcxr screen exited with {child.returncode}:\n{stderr}")
    summary = stderr.strip().splitlines()[-1]
    rows = sum(1 for _ in open(out)) - 1
    # Every file gets a row; films the input guard refuses ("unsuitable") are
    # read and checked like the others, but none may fail to decode.
    if rows != n or f": {n} files: " not in summary or " 0 error;" not in summary:
        raise RuntimeError(f"expected {n} rows and no error; got {rows}: {summary}")
    loop_rate = float(re.search(r"\(([\d.]+) files/s\)", summary).group(1))
    # ru_maxrss is in kilobytes on Linux.
    return seconds, loop_rate, usage.ru_maxrss * 1024


def loop_ratio(screener, files, rounds, args):
    """Best files/s of predict_proba (pre-decoded) and of screen_files, alternating."""
    loader, scorer = screening_parts(screener)
    X = loader.transform(files)
    scorer.predict_proba(X[:8])  # warm up
    network, loop = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        scorer.predict_proba(X)
        network.append(len(files) / (time.perf_counter() - start))
        start = time.perf_counter()
        rows = list(screen_files(screener, files, batch_size=args.batch_size, n_jobs=args.jobs))
        loop.append(len(files) / (time.perf_counter() - start))
        assert all(r.status in ("screened", "unsuitable") for r in rows)
    return max(network), max(loop)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="a model file or pretrained name, as 'skcxr screen --model' takes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="numbers of files to screen with the command")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of the in-process comparison (best kept)")
    parser.add_argument("--baseline-files", type=int, default=320,
                        help="files for predict_proba and the in-process comparison")
    parser.add_argument("--jobs", type=int, default=1, help="skcxr screen --jobs")
    parser.add_argument("--batch-size", type=int, default=64, help="skcxr screen --batch-size")
    args = parser.parse_args()

    test = get_skcxr_data_home() / "chest_xray" / "test"
    sources = sorted(test.glob("*/*.jpeg"))
    if not sources:
        sys.exit(f"No Kermany test films under {test}; set SKCXR_DATA.")
    screener = load_model(args.model).screener
    extra = ["--jobs", str(args.jobs), "--batch-size", str(args.batch_size)]
    base_files = [str(sources[i % len(sources)]) for i in range(args.baseline_files)]
    network, loop = loop_ratio(screener, base_files, args.rounds, args)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="skcxr-screen-speed-") as tmp:
        for n in args.sizes:
            folder = make_folder(Path(tmp) / f"files_{n}", sources, n)
            before = baseline(screener, base_files)
            result = screen(folder, n, args.model, extra)
            after = baseline(screener, base_files)
            runs[n] = (*result, (before + after) / 2)
            shutil.rmtree(folder)
    report(args, network, loop, runs, screener)


def report(args, network, loop, runs, screener):
    loader, scorer = screening_parts(screener)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: indicative)")
    print(f"model: {args.model} ({type(scorer).__name__}, {getattr(scorer, 'module', '?')}, "
          f"{loader.size} px); --jobs {args.jobs} --batch-size {args.batch_size}")
    print()
    print(f"In this process, alternating, best of {args.rounds}, {args.baseline_files} files:")
    print("| predict_proba on pre-decoded images, files/s | screen_files on the files, files/s "
          "| ratio |")
    print("|---|---|---|")
    print(f"| {network:.1f} | {loop:.1f} | {loop / network:.2f} |")
    print()
    print("skcxr screen in a child process (predict_proba timed just before and after each run):")
    print("| files | end to end, s | end to end, files/s | predict_proba, files/s | ratio "
          "| screening loop, files/s | loop ratio | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for n, (seconds, loop_rate, rss, base) in runs.items():
        print(f"| {n:,} | {seconds:.1f} | {n / seconds:.1f} | {base:.1f} | {n / seconds / base:.2f} "
              f"| {loop_rate:.1f} | {loop_rate / base:.2f} | {rss / 2**30:.2f} GB |")
    print()
    print("End to end includes starting Python, importing torch and loading the model; the "
          "screening loop is the rate the command prints in its summary line (decoding, scoring "
          "and ordering the rows; not start-up, model loading, file discovery or writing).")


if __name__ == "__main__":
    main()
