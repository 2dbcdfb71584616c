"""Wall time of one patient-grouped grid search with one worker and with two.

The same ``GridSearchCV`` of ``make_pipeline(ImageLoader, CXRClassifier)``
runs sequentially, on loky workers (``n_jobs=2``) and on a Dask
``LocalCluster`` with one and with two single-threaded worker processes,
each searching ``--rounds`` times in a row (the best counts);
every fit runs on one torch thread, so the scores must be equal exactly
(checked: the script exits 1 when they are not). One more row runs the
sequential search on every core torch wants, the way a user would on a
laptop; its scores may differ in the last digits (torch's CPU kernels sum
in a thread-count-dependent order), so it is compared but not checked.
Worker start-up (processes importing torch) is timed apart from the search;
"mean fit s" is the time of one fit as measured where it ran. A benchmark,
not a test: nothing here asserts a timing.

``--device-grid`` is the GPU run: 8 candidates x 3 patient folds of the
recommended preset at 224 px, the whole training split, on a Dask cluster
of ``--workers-per-gpu`` single-threaded workers per visible GPU (each
worker sees only its GPU through ``CUDA_VISIBLE_DEVICES``), with the GPUs'
utilisation sampled by ``nvidia-smi`` every 500 ms. It stops with an error
when no GPU is visible.

    python benchmarks/scale.py                        # CPU: 4 candidates x 3 folds, tiny network
    python benchmarks/scale.py --module compact --n-images 400 --epochs 6   # heavier fits
    python benchmarks/scale.py --n-images 120 --epochs 2 --folds 2          # a smoke run
    python benchmarks/scale.py --device-grid          # GPU (needs dask[distributed])
"""

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import joblib
import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray

CPU_GRID = {"clf__lr": [3e-4, 1e-3], "clf__augmentation": [0.0, 1.0]}
DEVICE_GRID = {"clf__lr": [3e-4, 1e-3, 3e-3, 1e-2], "clf__optimizer__weight_decay": [1e-4, 1e-2]}


def patient_subset(n_images, seed=0):
    """About ``n_images`` training images of whole patients (all of them for None)."""
    train = load_chest_xray(subset="train")
    labels = train.target_names[train.target]
    if n_images is None or n_images >= len(train.data):
        return train.data, labels, train.groups
    splitter = GroupShuffleSplit(n_splits=1, test_size=n_images / len(train.data),
                                 random_state=seed)
    _, idx = next(splitter.split(train.data, train.target, train.groups))
    return train.data[idx], labels[idx], train.groups[idx]


def make_search(clf, size, grid, folds, memory):
    pipe = Pipeline([("load", ImageLoader(size, n_jobs=-1)),
                     ("clf", clf.set_fit_request(groups=True))], memory=memory)
    # refit=False: GridSearchCV refits the best candidate in the calling
    # process, not on the cluster; the benchmark times the grid itself.
    return GridSearchCV(pipe, grid, cv=GroupKFold(folds), scoring="roc_auc", refit=False)


def timed_fit(search, X, y, groups):
    start = time.perf_counter()
    search.fit(X, y, groups=groups)
    return time.perf_counter() - start


def _warm(pause=0.0):
    """Import and exercise torch, skorch and skcxr once, so that the search is timed warm.

    ``pause`` keeps a loky worker busy long enough for its sibling to take
    the other warm-up task.
    """
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (16, 1, 32, 32), dtype=np.uint8)
    CXRClassifier("tiny", max_epochs=1, validation_fraction=None).fit(X, np.arange(16) % 2)
    time.sleep(pause)
    return os.getpid()


# ------------------------------------------------------------------ CPU
@contextlib.contextmanager
def dask_pool(n_workers):
    from dask.distributed import Client, LocalCluster

    # env: one OpenMP (torch) thread per worker even if the caller sets more.
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", env={"OMP_NUM_THREADS": "1"}) as cluster, \
            Client(cluster) as client:
        client.run(_warm)
        yield {"backend": "dask"}


@contextlib.contextmanager
def loky_pool():
    config = {"backend": "loky", "n_jobs": 2, "inner_max_num_threads": 1}
    with joblib.parallel_config(**config):
        # The pause keeps each worker busy long enough for its sibling to
        # take the other warm-up task.
        warmed = Parallel(batch_size=1)(delayed(_warm)(pause=1.0) for _ in range(2))
    if len(set(warmed)) != 2:
        print("warning: one loky worker started cold", file=sys.stderr)
    yield config


@contextlib.contextmanager
def no_pool():
    yield {}


def cpu_rows(args, X, y, groups, cache):
    """Each configuration: start its workers (timed), then ``args.rounds`` searches."""
    def clf():
        if args.module == "compact":
            return CXRClassifier.from_preset("compact", max_epochs=args.epochs, random_state=0)
        return CXRClassifier(args.module, max_epochs=args.epochs, batch_size=32, random_state=0)

    threads = torch.get_num_threads()
    _warm()
    ImageLoader(args.size).transform(X)  # every file read once: a warm page cache for all rows
    configs = [
        ("sequential, torch on all cores", f"1 process x {threads} torch threads", threads,
         no_pool),
        ("sequential (reference)", "1 process x 1 thread", 1, no_pool),
        ("Dask LocalCluster, 1 worker", "1 process x 1 thread", 1, lambda: dask_pool(1)),
        ("Dask LocalCluster, 2 workers", "2 processes x 1 thread", 1, lambda: dask_pool(2)),
        ("loky, n_jobs=2", "2 processes x 1 thread", 1, loky_pool),
    ]
    rows = []
    for i, (name, workers, torch_threads, pool) in enumerate(configs):
        torch.set_num_threads(torch_threads)
        start = time.perf_counter()
        walls = []
        with pool() as backend:
            startup = time.perf_counter() - start - (1.0 if pool is loky_pool else 0.0)
            for r in range(args.rounds):
                search = make_search(clf(), args.size, CPU_GRID, args.folds,
                                     memory=os.path.join(cache, f"{i}-{r}"))
                with joblib.parallel_config(**backend):
                    walls.append(timed_fit(search, X, y, groups))
                print(f"{name}, round {r + 1}: {walls[-1]:.1f} s", file=sys.stderr, flush=True)
        rows.append((name, workers, startup, walls, search))
    torch.set_num_threads(threads)
    return rows, rows[1][4]


def cpu_report(args, rows, reference, n_patients):
    """Print the table; True when every one-thread run equals the reference exactly."""
    ref = reference.cv_results_["mean_test_score"]
    candidates = len(reference.cv_results_["params"])
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({usable} usable), "
          f"torch {torch.__version__}; load average before/after: "
          f"{args.load_before:.1f} / {os.getloadavg()[0]:.1f} (other work shares these CPUs)")
    print(f"search: {candidates} candidates x {args.folds} patient folds = "
          f"{candidates * args.folds} fits; {args.module!r} network, {args.epochs} epochs, "
          f"{args.size} px, {args.n_images_used} images of {n_patients} patients, "
          f"ImageLoader(n_jobs=-1), Pipeline memory; best of {args.rounds} search(es) each")
    print()
    print("| run | workers | start-up s | search s (best) | each search s | speed-up vs reference | "
          "mean fit s (last search) | mean test AUC per candidate | equal to reference |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = min(rows[1][3])
    all_equal = True
    for i, (name, workers, startup, walls, search) in enumerate(rows):
        scores = search.cv_results_["mean_test_score"]
        same = bool(np.array_equal(scores, ref))
        if i > 0:  # row 0 uses torch's default thread count: compared, not checked
            all_equal &= same
        verdict = "yes (exactly)" if same else f"no (max diff {np.abs(scores - ref).max():.2g})"
        fit_s = search.cv_results_["mean_fit_time"].mean()  # as timed inside the worker
        print(f"| {name} | {workers} | {startup:.1f} | {min(walls):.1f} | "
              f"{' / '.join(f'{w:.0f}' for w in walls)} | {base / min(walls):.2f} | "
              f"{fit_s:.2f} | {' / '.join(f'{v:.4f}' for v in scores)} | {verdict} |")
    return all_equal


def run_cpu(args):
    args.load_before = os.getloadavg()[0]
    X, y, groups = patient_subset(args.n_images)
    args.n_images_used = len(X)
    cache = tempfile.mkdtemp(prefix="skcxr-scale-")
    try:
        with sklearn.config_context(enable_metadata_routing=True):
            rows, reference = cpu_rows(args, X, y, groups, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return rows, reference, len(np.unique(groups))


# ------------------------------------------------------------------ GPU
def visible_gpus():
    """Indices of the GPUs this process may use; exits with an error when there is none."""
    if not torch.cuda.is_available():
        sys.exit("--device-grid needs a CUDA GPU, and torch sees none "
                 f"(torch.cuda.is_available() is False; CUDA_VISIBLE_DEVICES="
                 f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r}). Run it on a GPU machine.")
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [d.strip() for d in listed.split(",") if d.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_cluster(gpus, workers_per_gpu, threads_each):
    """Single-threaded Dask workers, ``workers_per_gpu`` per GPU, each seeing only its GPU.

    What ``CUDA_VISIBLE_DEVICES=i dask worker ADDRESS --nthreads 1`` does on
    the command line, and dask-cuda's ``LocalCUDACluster`` for one worker per
    GPU, without needing dask-cuda.
    """
    from dask.distributed import Nanny, Scheduler, SpecCluster

    # The nanny's default is one OpenMP thread per worker; each worker gets
    # its share of the host instead, for decoding (ImageLoader n_jobs=-1) and
    # torch's CPU side. A nanny's own env wins over the caller's environment.
    env = {"OMP_NUM_THREADS": str(threads_each)}
    workers = {
        f"gpu{gpu}-{j}": {"cls": Nanny, "options": {
            "nthreads": 1, "host": "127.0.0.1",
            "env": {**env, "CUDA_VISIBLE_DEVICES": gpu}}}
        for gpu in gpus for j in range(workers_per_gpu)
    }
    return SpecCluster(workers=workers, scheduler={
        "cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": ":0"}})


class GPUSampler:
    """``nvidia-smi`` utilisation samples every 500 ms, in a subprocess."""

    def __init__(self, path):
        self.path, self.process = path, None

    def __enter__(self):
        if shutil.which("nvidia-smi"):
            self.file = open(self.path, "w")  # closed in __exit__
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used",
                 "--format=csv,noheader,nounits", "-lms", "500"], stdout=self.file)
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.file.close()

    def summary(self):
        if self.process is None:
            return "GPU utilisation: not sampled (nvidia-smi not found)"
        per_gpu = {}
        with open(self.path) as f:
            samples_text = f.read().splitlines()
        for line in samples_text:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 3 and all(p.isdigit() for p in parts):
                per_gpu.setdefault(parts[0], []).append((int(parts[1]), int(parts[2])))
        lines = []
        for gpu, samples in sorted(per_gpu.items()):
            util = [u for u, _ in samples]
            lines.append(
                f"GPU {gpu}: utilisation mean {statistics.mean(util):.0f}%, median "
                f"{statistics.median(util):.0f}%, >=80% in {np.mean(np.array(util) >= 80):.0%} "
                f"of {len(util)} samples; peak memory {max(m for _, m in samples)} MiB")
        return "\n".join(lines) or "GPU utilisation: nvidia-smi gave no samples"


def run_device_grid(args):
    gpus = visible_gpus()
    from dask.distributed import Client

    X, y, groups = patient_subset(None)
    n_workers = len(gpus) * args.workers_per_gpu
    threads_each = max(1, joblib.cpu_count() // n_workers)
    params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
    clf = CXRClassifier.from_preset("recommended", random_state=0, **params)
    cache = tempfile.mkdtemp(prefix="skcxr-scale-")
    start = time.perf_counter()
    with gpu_cluster(gpus, args.workers_per_gpu, threads_each) as cluster, Client(cluster) as client:
        client.wait_for_workers(n_workers)
        devices = client.run(_worker_device)
        if any(d.startswith("none visible") for d in devices.values()):
            sys.exit(f"A Dask worker sees no GPU: {devices}")
        startup = time.perf_counter() - start
        search = make_search(clf, 224, DEVICE_GRID, 3, cache)
        with (GPUSampler(os.path.join(cache, "gpu.csv")) as sampler,
              sklearn.config_context(enable_metadata_routing=True),
              joblib.parallel_config(backend="dask")):
            wall = timed_fit(search, X, y, groups)
        utilisation = sampler.summary()
    shutil.rmtree(cache, ignore_errors=True)

    results = search.cv_results_
    print(f"workers' devices: {'; '.join(sorted(set(devices.values())))}; {n_workers} Dask worker(s) "
          f"({args.workers_per_gpu} per GPU, 1 thread, OMP_NUM_THREADS={threads_each}); "
          f"torch {torch.__version__}")
    print(f"search: {len(results['params'])} candidates x 3 patient folds = "
          f"{3 * len(results['params'])} fits of the recommended preset"
          f"{'' if args.max_epochs is None else f' (max_epochs={args.max_epochs})'} at 224 px on "
          f"{len(X)} training images of {len(np.unique(groups))} patients; refit=False")
    print(f"cluster start-up {startup:.0f} s; grid search {wall:.0f} s ({wall / 60:.1f} min); "
          f"end to end {startup + wall:.0f} s")
    print(utilisation)
    print()
    print("| lr | weight decay | mean val AUC (3 folds) | std | mean fit s |")
    print("|---|---|---|---|---|")
    for p, m, s, t in zip(results["params"], results["mean_test_score"],
                          results["std_test_score"], results["mean_fit_time"]):
        print(f"| {p['clf__lr']:g} | {p['clf__optimizer__weight_decay']:g} | {m:.4f} | "
              f"{s:.4f} | {t:.0f} |")


def _worker_device():
    # Runs in each worker: what device="auto" resolves to there.
    torch.backends.cudnn.benchmark = True  # fixed input size: let cuDNN choose kernels
    if not torch.cuda.is_available():
        return f"none visible (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')})"
    return (f"{torch.cuda.get_device_name(0)} "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')}, "
            f"{torch.get_num_threads()} torch threads)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=240,
                        help="CPU run: about this many training images, whole patients")
    parser.add_argument("--size", type=int, default=64, help="CPU run: pixels per side")
    parser.add_argument("--epochs", type=int, default=4, help="CPU run: max_epochs")
    parser.add_argument("--module", default="tiny", choices=["tiny", "cxrnet", "compact"],
                        help="CPU run: a network by name, or the compact preset")
    parser.add_argument("--folds", type=int, default=3, help="CPU run: patient folds")
    parser.add_argument("--rounds", type=int, default=2,
                        help="CPU run: searches per configuration; the best counts")
    parser.add_argument("--device-grid", action="store_true",
                        help="the GPU run: 8 candidates x 3 folds, recommended preset, 224 px")
    parser.add_argument("--workers-per-gpu", type=int, default=4,
                        help="GPU run: fits sharing each GPU (1 = skorch's one worker per GPU)")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="GPU run: override the preset's 30 epochs (early stopping still on)")
    args = parser.parse_args()
    if args.device_grid:
        run_device_grid(args)
        return
    rows, reference, n_patients = run_cpu(args)
    if not cpu_report(args, rows, reference, n_patients):
        sys.exit("Scores of the one-thread runs differ from the sequential reference.")


if __name__ == "__main__":
    main()
