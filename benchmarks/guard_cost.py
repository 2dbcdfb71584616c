"""What the input guard costs inside ``Screener.predict_proba``: guarded against unguarded, same run.

The shipped screener checks every film by default: file checks, one decode,
the guard's image checks and its novelty score on the network's own features,
taken from the same forward pass as the probabilities. The guarded call here
is ``on_refusal="warn"`` (every check of the default, but the few test films
the guard refuses are scored with a warning rather than raising, so that both
calls return all the scores); ``on_refusal="score"`` skips the guard and only
decodes and scores. Both calls run the same backend on the same films, so the ratio of
their times is the guard's cost; the issue's target is at most 20% more.

Files: the Kermany test films (624 JPEGs, 224 px), and ``--big`` of them
upsampled to 2,000 px (written to a temporary folder, never kept), as a
site's films are. Each backend and file set is timed ``--rounds`` times after
an untimed warm-up, the two calls alternating which goes first; the table
gives the median wall time, films/s and the guard's overhead.

    SKCXR_DATA=../shared/data python benchmarks/guard_cost.py --out benchmarks/results/cpu-guard-cost.md
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from screen_speed import full_size_folder  # the same upsampled films as that benchmark

import skcxr
from skcxr.datasets import load_chest_xray


def timed(screener, films):
    start = time.perf_counter()
    proba = screener.predict_proba(films)
    return time.perf_counter() - start, proba


def measure(name, backend, films, rounds):
    guarded = skcxr.load_pretrained(name, device="cpu", backend=backend, on_refusal="warn")
    unguarded = skcxr.load_pretrained(name, device="cpu", backend=backend, on_refusal="score")
    assert guarded.backend_in_use == unguarded.backend_in_use == backend
    warnings.simplefilter("ignore", skcxr.exceptions.RefusedFilmWarning)
    # Warm-up, and the check that both give the same scores.
    _, a = timed(guarded, films)
    _, b = timed(unguarded, films)
    np.testing.assert_array_equal(a, b)
    times = {"guarded": [], "unguarded": []}
    for r in range(rounds):
        order = ("guarded", "unguarded") if r % 2 == 0 else ("unguarded", "guarded")
        for which in order:
            screener = guarded if which == "guarded" else unguarded
            times[which].append(timed(screener, films)[0])
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="resnet18-kermany-128")
    parser.add_argument("--backends", nargs="+", default=["onnxruntime-int8", "torch"])
    parser.add_argument("--big", type=int, default=200, help="full-size films to generate")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = parser.parse_args()

    test = list(load_chest_xray(subset="test").data)
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"test films (224 px)": test}
        if args.big:
            folder = full_size_folder(Path(tmp), [Path(p) for p in test], args.big)
            sets[f"full-size films (2,000 px), {args.big}"] = sorted(map(str, folder.iterdir()))
        for label, films in sets.items():
            for backend in args.backends:
                median = measure(args.name, backend, films, args.rounds)
                overhead = median["guarded"] / median["unguarded"] - 1
                rows.append(
                    f"| {label} | {backend} | {len(films)} | {median['unguarded']:.2f} "
                    f"({len(films) / median['unguarded']:.0f}/s) | {median['guarded']:.2f} "
                    f"({len(films) / median['guarded']:.0f}/s) | {overhead:+.0%} |")
                print(rows[-1], flush=True)
    header = [
        f"`Screener.predict_proba` of `{args.name}`, guarded (`on_refusal=\"warn\"`) against "
        "`on_refusal=\"score\"`, same backend, same films, same run. "
        f"CPU: {platform.machine()}, {os.cpu_count()} cores, load average {load_before:.1f} before "
        f"and {os.getloadavg()[0]:.1f} after; skcxr {skcxr.__version__}; median of {args.rounds} "
        "rounds after a warm-up; scores identical in both calls.",
        "",
        "| films | backend | n | unguarded s (films/s) | guarded s (films/s) | guard's cost |",
        "|---|---|---|---|---|---|",
    ]
    table = "\n".join(header + rows) + "\n"
    print("\n" + table)
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
