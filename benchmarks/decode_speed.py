"""Reading films for a screen: the base commit's path against this one, on the same files.

What a screen does with each file before the network sees it, for a
128 px model with an input guard: the base commit's path (the guard's file
check opens each image and draft-decodes it for its colour, then the reader
sniffs and decodes it again for the model) against this commit's one pass
(stat, sniff, header checks, one decode whose colour the guard measures).
Both are the real code: the base commit's ``skcxr`` is taken from git
(``git archive``) into a temporary folder under another package name.

File sets, each read by both paths in turn (alternating which goes first),
``--rounds`` times after an untimed warm-up (the files then come from the
page cache for both):

(a) the Kermany test films (624 JPEGs at 224 px);
(b) ``--big`` films upsampled to 2,000 px on the longer side, written as
    JPEG (quality 90, RGB-coded grey as the Kermany originals) into a
    temporary folder (never committed);
(c) ``--big-png`` of the same upsampled films written as grey PNG.

Reported per set and ``--jobs`` value: files/s (wall clock, best round) and
CPU seconds per file (process CPU time of the best round, all threads).
With ``--model``, also the whole screening loop (``screen_files``: reading,
guard, network, rows) on set (b) for each ``--jobs`` value, to choose the
``skcxr screen --jobs`` default.

Timings are indicative on a shared machine (the load average is printed
before and after); the ratios compare measurements taken moments apart.

    python benchmarks/decode_speed.py
    python benchmarks/decode_speed.py --big 300 --rounds 3 --jobs 1 2 --model resnet18-kermany-128
"""

import argparse
import importlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from skcxr import CXRClassifier
from skcxr.datasets import get_skcxr_data_home
from skcxr.guard import InputGuard
from skcxr.preprocessing import ImageLoader
from skcxr.screener._worklist import _read_chunk

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_PACKAGE = "skcxr_base"


def import_base(commit, folder):
    """The ``skcxr`` package of ``commit``, imported as ``skcxr_base`` from ``folder``."""
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", commit, "skcxr"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (Path(folder) / "skcxr").rename(Path(folder) / BASE_PACKAGE)
    sys.path.insert(0, str(folder))
    return importlib.import_module(BASE_PACKAGE)


def upsample(sources, folder, n, side, fmt):
    """``n`` films resized to ``side`` px on the longer side (keeping 4:5), written as ``fmt``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        source = sources[i % len(sources)]
        with Image.open(source) as image:
            big = image.convert("RGB").resize((side, side * 4 // 5), Image.Resampling.BICUBIC)
        path = folder / f"{i:04d}.{fmt}"
        if fmt == "jpeg":
            big.save(path, quality=90)
        else:
            big.convert("L").save(path)
        files.append(str(path))
    return files


def read_all(read_chunk, files, loader, guard, jobs, batch=64):
    """Wall seconds and process CPU seconds to read ``files`` in chunks of ``batch``."""
    pool = ThreadPoolExecutor(jobs) if jobs > 1 else None
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        for start in range(0, len(files), batch):
            films = read_chunk(files[start:start + batch], loader, guard, pool)
            if any(film.refusal is not None for film in films):
                raise RuntimeError(f"a film was refused: {[f.refusal for f in films if f.refusal]}")
    finally:
        if pool is not None:
            pool.shutdown()
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(paths, sets, jobs_values, rounds):
    """{(set, jobs): {path: (best files/s, CPU s per file of that round)}}, alternating paths."""
    results = {}
    for name, files in sets.items():
        for jobs in jobs_values:
            for read_chunk, loader, guard in paths.values():  # warm-up: page cache, imports
                read_all(read_chunk, files[:64], loader, guard, jobs)
            best = {}
            for r in range(rounds):
                order = list(paths.items())[:: 1 if r % 2 == 0 else -1]
                for label, (read_chunk, loader, guard) in order:
                    wall, cpu = read_all(read_chunk, files, loader, guard, jobs)
                    if label not in best or len(files) / wall > best[label][0]:
                        best[label] = (len(files) / wall, cpu / len(files))
            results[name, jobs] = best
    return results


def screen_loop(model, files, jobs_values, rounds):
    """Best files/s of ``screen_files`` with the model (reading, guard, network, rows), per jobs."""
    from skcxr.cli._models import load_model
    from skcxr.screener import screen_files

    screener = load_model(model).screener
    list(screen_files(screener, files[:64], n_jobs=1))  # warm-up
    best = {}
    for r in range(rounds):
        for jobs in jobs_values[:: 1 if r % 2 == 0 else -1]:
            start = time.perf_counter()
            rows = list(screen_files(screener, files, n_jobs=jobs))
            rate = len(rows) / (time.perf_counter() - start)
            best[jobs] = max(best.get(jobs, 0), rate)
    return screener, best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="ed6cbd1", help="the commit to compare against")
    parser.add_argument("--big", type=int, default=300, help="upsampled JPEG films, set (b)")
    parser.add_argument("--big-png", type=int, default=100, help="upsampled PNG films, set (c)")
    parser.add_argument("--side", type=int, default=2000, help="longer side of sets (b), (c)")
    parser.add_argument("--size", type=int, default=128, help="the model's input size")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="decoding threads (screen --jobs) to measure")
    parser.add_argument("--model", default=None,
                        help="also time screen_files with this model on set (b)")
    args = parser.parse_args()

    sources = sorted((get_skcxr_data_home() / "chest_xray" / "test").glob("*/*.jpeg"))
    if not sources:
        sys.exit("No Kermany test films found; set SKCXR_DATA.")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="skcxr-decode-speed-") as tmp:
        base = import_base(args.base, Path(tmp) / "base")
        paths = {
            f"base {args.base}": (base.screener._worklist._read_chunk,
                                  base.preprocessing.ImageLoader(size=args.size),
                                  base.guard.InputGuard(base.CXRClassifier("tiny"))),
            "this commit": (_read_chunk, ImageLoader(size=args.size),
                            InputGuard(CXRClassifier("tiny"))),
        }
        sets = {f"(a) Kermany test, {len(sources)} x 224 px JPEG": [str(s) for s in sources]}
        if args.big:
            sets[f"(b) {args.big} x {args.side} px JPEG"] = upsample(
                sources, Path(tmp) / "big", args.big, args.side, "jpeg")
        if args.big_png:
            sets[f"(c) {args.big_png} x {args.side} px grey PNG"] = upsample(
                sources, Path(tmp) / "png", args.big_png, args.side, "png")
        check_identical(paths, sets)
        results = compare(paths, sets, args.jobs, args.rounds)
        loop = None
        if args.model and args.big:
            loop = screen_loop(args.model, sets[f"(b) {args.big} x {args.side} px JPEG"],
                               args.jobs, args.rounds)
    report(args, paths, results, loop, load_before, os.getloadavg())


def check_identical(paths, sets):
    """Both paths must give the same pixels (a speed-up that changes the films is no speed-up)."""
    (read_a, loader_a, guard_a), (read_b, loader_b, guard_b) = paths.values()
    for name, files in sets.items():
        sample = files[:64]
        a = np.stack([f.array for f in read_a(sample, loader_a, guard_a, None)])
        b = np.stack([f.array for f in read_b(sample, loader_b, guard_b, None)])
        if not np.array_equal(a, b):
            raise RuntimeError(f"{name}: the two paths give different pixels")


def report(args, paths, results, loop, load_before, load_after):
    labels = list(paths)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load "
          f"average {', '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{', '.join(f'{x:.2f}' for x in load_after)} after (shared machine: indicative)")
    print(f"reading for a {args.size} px model with the input guard's file checks; chunks of 64; "
          f"best of {args.rounds} alternating rounds; pixels checked identical on 64 films a set")
    print()
    print(f"| files | --jobs | {labels[0]}, files/s | this commit, files/s | speed-up "
          f"| {labels[0]}, CPU ms/file | this commit, CPU ms/file |")
    print("|---|---|---|---|---|---|---|")
    for (name, jobs), best in results.items():
        (old_rate, old_cpu), (new_rate, new_cpu) = best[labels[0]], best[labels[1]]
        print(f"| {name} | {jobs} | {old_rate:.0f} | {new_rate:.0f} | {new_rate / old_rate:.2f}x "
              f"| {old_cpu * 1e3:.2f} | {new_cpu * 1e3:.2f} |")
    if loop is not None:
        screener, best = loop
        print()
        print(f"screen_files with {args.model} (reading, guard file checks when the model has a "
              f"guard, network, rows) on set (b), this commit, best of {args.rounds}:")
        print("| --jobs | files/s |")
        print("|---|---|")
        for jobs, rate in best.items():
            print(f"| {jobs} | {rate:.1f} |")


if __name__ == "__main__":
    main()
