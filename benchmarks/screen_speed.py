"""``skcxr screen`` end to end: speed against the model's own predict_proba, and peak memory.

In one run on one machine:

* the model's ``predict_proba`` on images decoded beforehand (the network
  alone: the ceiling a screen can approach), in this process;
* ``skcxr screen`` on folders of N files (copies of the Kermany test films
  under a temporary folder), each in a fresh child process whose wall time
  and peak resident memory (``ru_maxrss`` from ``os.wait4``) are measured:
  end to end (start-up and model loading included) and the screening loop
  alone (the rate the command prints in its summary line).

Runs alternate (baseline, screens, baseline, screens, ...) and the best of
``--rounds`` is kept, so that neither profits from a quieter moment on a
shared machine. Timings are indicative; nothing here asserts one.

    python benchmarks/screen_speed.py --model my_model.joblib
    python benchmarks/screen_speed.py --model my_model.joblib --sizes 1000 10000 --rounds 2
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

import numpy as np
import torch

from skcxr.cli._models import load_model
from skcxr.datasets import get_data_home
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
    if rows != n or f": {n} files: {n} screened" not in summary:
        raise RuntimeError(f"expected {n} screened rows; got {rows}: {summary}")
    loop_rate = float(re.search(r"\(([\d.]+) files/s\)", summary).group(1))
    # ru_maxrss is in kilobytes on Linux.
    return seconds, loop_rate, usage.ru_maxrss * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="a model file or pretrained name, as 'skcxr screen --model' takes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="numbers of files to screen")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds; best kept")
    parser.add_argument("--baseline-files", type=int, default=1000,
                        help="files decoded for the predict_proba baseline")
    parser.add_argument("--jobs", type=int, default=1, help="skcxr screen --jobs")
    parser.add_argument("--batch-size", type=int, default=64, help="skcxr screen --batch-size")
    args = parser.parse_args()

    test = get_data_home() / "chest_xray" / "test"
    sources = sorted(test.glob("*/*.jpeg"))
    if not sources:
        sys.exit(f"No Kermany test films under {test}; set SKCXR_DATA.")
    screener = load_model(args.model).screener
    extra = ["--jobs", str(args.jobs), "--batch-size", str(args.batch_size)]
    results = {"baseline": [], **{n: [] for n in args.sizes}}
    with tempfile.TemporaryDirectory(prefix="skcxr-screen-speed-") as tmp:
        folders = {n: make_folder(Path(tmp) / f"files_{n}", sources, n) for n in args.sizes}
        base_files = [str(p) for p in sorted(folders[max(args.sizes)].rglob("*.jpeg"))]
        base_files = base_files[:args.baseline_files]
        for _ in range(args.rounds):
            results["baseline"].append(baseline(screener, base_files))
            for n in args.sizes:
                results[n].append(screen(folders[n], n, args.model, extra))
    report(args, results, screener)


def report(args, results, screener):
    loader, scorer = screening_parts(screener)
    base = max(results["baseline"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: indicative)")
    print(f"model: {args.model} ({type(scorer).__name__}, {getattr(scorer, 'module', '?')}, "
          f"{loader.size} px); skcxr screen --jobs {args.jobs} --batch-size {args.batch_size}; "
          f"best of {args.rounds} round(s)")
    print()
    print(f"predict_proba on {args.baseline_files} pre-decoded images: {base:.1f} files/s")
    print()
    print("| files | end to end, s | end to end, files/s | ratio to predict_proba "
          "| screening loop, files/s | loop ratio | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        seconds = min(r[0] for r in results[n])
        loop = max(r[1] for r in results[n])
        rss = max(r[2] for r in results[n])  # the worst peak
        print(f"| {n:,} | {seconds:.1f} | {n / seconds:.1f} | {n / seconds / base:.2f} "
              f"| {loop:.1f} | {loop / base:.2f} | {rss / 2**30:.2f} GB |")
    print()
    print("End to end includes starting Python, importing torch and loading the model; the "
          "screening loop is the rate the command prints in its summary line (decoding, scoring "
          "and ordering the rows; not start-up, model loading, file discovery or writing).")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
