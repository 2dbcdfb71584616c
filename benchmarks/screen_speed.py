"""``skcxr screen`` end to end, against an earlier skcxr in the same run: speed, start-up, memory.

One run, one machine, the two versions interleaved round by round so that a
change in the load of a shared machine hits both alike:

1. **Start-up**: ``skcxr --help`` and a one-film ``skcxr screen``, each in a
   fresh process, wall time (median of the rounds).
2. **Screening**: ``skcxr screen`` with the shipped screener on (a) the 624
   Kermany test films and (b) a folder of full-size films (test films
   upsampled to about 2,000 px, as a site's films are; written to a temporary
   folder, never kept): end-to-end wall time, and the rate of the screening
   loop the command prints. The new version runs with its default backend
   (the int8 ONNX file) and with ``--backend torch``, to tell the network's
   share of the gain from the reading path's.
3. **Memory**: the new version's peak resident memory on 10,000 files
   (symbolic links to the test films).

The earlier version is a checkout given by ``--baseline`` (e.g. ``git worktree
add /tmp/skcxr-c95c307 c95c307``), run with its own package on
``PYTHONPATH``; both use this interpreter and its installed packages.
The network alone, per backend, is ``benchmarks/backend_speed.py``.

    git worktree add /tmp/skcxr-c95c307 c95c307
    SKCXR_DATA=../shared/data python benchmarks/screen_speed.py --baseline /tmp/skcxr-c95c307 \\
        --out benchmarks/results/cpu-screen-speed.md
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]


def run(checkout, argv, expect_rows=None):
    """Run ``python -m skcxr argv`` from ``checkout``: (wall s, loop files/s or None, peak RSS)."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "skcxr", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=checkout)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"skcxr {' '.join(argv)} from {checkout} failed:\n{stderr[-2000:]}")
    rate = re.search(r"\(([\d.]+) files/s", stderr)
    if expect_rows is not None and f": {expect_rows} files: " not in stderr:
        raise RuntimeError(f"expected {expect_rows} files screened: {stderr[-500:]}")
    return seconds, float(rate.group(1)) if rate else None, usage.ru_maxrss * 1024


def full_size_folder(folder, sources, n, side=2000):
    """``n`` test films upsampled to ``side`` px on the longer side (JPEG), as a site's are."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(sources[:n]):
        with Image.open(source) as image:
            image = image.convert("L").resize((side, int(side * 0.8)), Image.Resampling.BICUBIC)
            image.save(folder / f"{i:04d}_{source.name}", quality=92)
    return folder


def linked_folder(folder, sources, n):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        source = sources[i % len(sources)]
        (folder / f"{i:06d}_{source.name}").symlink_to(source)
    return folder


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="checkout of the earlier skcxr")
    parser.add_argument("--baseline-label", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-size", type=int, default=200, help="full-size films to generate")
    parser.add_argument("--memory-files", type=int, default=10000)
    parser.add_argument("--out", default=None, help="also write the tables (markdown) here")
    args = parser.parse_args()
    from skcxr.datasets import get_skcxr_data_home

    test = get_skcxr_data_home() / "chest_xray" / "test"
    sources = sorted(test.glob("*/*.jpeg"))
    if not sources:
        sys.exit(f"No Kermany test films under {test}; set SKCXR_DATA.")
    old, new = Path(args.baseline).resolve(), REPO_ROOT
    label = args.baseline_label or old.name
    load_start = os.getloadavg()
    times = {}

    def record(key, value):
        times.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="skcxr-screen-speed-") as tmp:
        tmp = Path(tmp)
        full = full_size_folder(tmp / "full", sources[::3], args.full_size)
        one = tmp / "one"
        one.mkdir()
        (one / sources[0].name).symlink_to(sources[0])
        folders = {"test split (624 films, 224 px JPEG)": (test, len(sources)),
                   f"full-size films ({args.full_size}, 2,000 px JPEG)": (full, args.full_size)}
        versions = {label: (old, []), "this commit": (new, []),
                    "this commit, --backend torch": (new, ["--backend", "torch"])}
        for round_ in range(args.rounds):
            order = list(versions.items())[round_ % 3:] + list(versions.items())[:round_ % 3]
            for name, (checkout, extra) in order:
                if "--backend" not in extra:
                    record(("help", name), run(checkout, ["--help"])[0])
                    record(("one film", name), run(checkout, ["screen", str(one),
                                                              "--out", str(tmp / "o.csv"), *extra],
                                                    expect_rows=1)[0])
                for what, (folder, n) in folders.items():
                    seconds, rate, _ = run(checkout, ["screen", str(folder), "--out",
                                                      str(tmp / "w.csv"), *extra], expect_rows=n)
                    record((what, name, "wall"), n / seconds)
                    record((what, name, "loop"), rate)
            print(f"round {round_ + 1} done", flush=True)
        memory = None
        if args.memory_files:
            folder = linked_folder(tmp / "many", sources, args.memory_files)
            _, rate, rss = run(new, ["screen", str(folder), "--out", str(tmp / "m.csv")],
                               expect_rows=args.memory_files)
            memory = (args.memory_files, rss, rate)
    text = report(times, versions, folders, label, memory, load_start, os.getloadavg(), args)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def report(times, versions, folders, label, memory, load_start, load_end, args):
    lines = [
        f"`skcxr screen` with the shipped screener, this commit against {label}, interleaved, "
        f"median of {args.rounds} rounds; {platform.machine()} CPU, {os.cpu_count()} cores; "
        f"load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end (2 fills "
        "both cores). Command: `" + " ".join(["python", *sys.argv]) + "`.",
        "",
        "**Start-up** (fresh process, wall time):",
        "",
        "| command | " + " | ".join(n for n in versions if "--backend" not in n) + " |",
        "|---|" + "---|" * sum("--backend" not in n for n in versions),
    ]
    for what in ("help", "one film"):
        cells = [f"{median(times[(what, n)]):.2f} s" for n in versions if "--backend" not in n]
        lines.append(f"| `skcxr {'--help' if what == 'help' else 'screen ONE_FILM'}` | "
                     + " | ".join(cells) + " |")
    lines += ["", "**Screening** (files per second: end to end, start-up included; and the "
              "screening loop the command's summary prints):", "",
              "| folder | version | end to end files/s | ratio | loop files/s | ratio |",
              "|---|---|---|---|---|---|"]
    for what in folders:
        base_wall = median(times[(what, label, "wall")])
        base_loop = median(times[(what, label, "loop")])
        for name in versions:
            wall, loop = median(times[(what, name, "wall")]), median(times[(what, name, "loop")])
            lines.append(f"| {what} | {name} | {wall:.1f} | {wall / base_wall:.2f} | {loop:.1f} "
                         f"| {loop / base_loop:.2f} |")
    if memory:
        n, rss, rate = memory
        lines += ["", f"**Memory**: this commit screened {n:,} files (links to the test films) "
                  f"at {rate:.1f} files/s with a peak resident memory of {rss / 2**30:.2f} GiB "
                  "(the int8 path imports no torch; PyTorch alone takes about 0.75 GiB)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
