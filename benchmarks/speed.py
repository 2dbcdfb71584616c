"""Training and prediction speed: CXRClassifier against a plain PyTorch loop.

Both train the same network (CXRNet defaults) with the same augmentation,
normalisation, loss weights, optimiser and batch size on the same images;
runs alternate so that neither profits from a warmer machine. Prints a table
with images/second, the wrapper/plain ratio, predict_proba speed and peak
memory. A benchmark, not a test: nothing here asserts a timing.

    python benchmarks/speed.py                # 540 real training images, 224 px
    python benchmarks/speed.py --n-images 2000 --rounds 3
"""

import argparse
import platform
import resource
import time

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight

from skcxr import CXRClassifier, ImageLoader
from skcxr.classifier import RandomAugment
from skcxr.classifier._classifier import resolve_device
from skcxr.classifier._intensity import normalize, to_unit_float
from skcxr.datasets import load_chest_xray
from skcxr.models import CXRNet

BATCH_SIZE = 54
LR = 0.015


def load_images(n_images, size):
    train = load_chest_xray(subset="train")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(train.data), size=n_images, replace=False)
    X = ImageLoader(size=size, n_jobs=-1).fit_transform(train.data[idx])
    return X, train.target[idx]


def plain_loop_epoch(X, y, device, seed):
    """One epoch of a hand-written loop doing what CXRClassifier does."""
    torch.manual_seed(seed)
    model = CXRNet().to(device)
    weight = torch.as_tensor(compute_class_weight("balanced", classes=np.array([0, 1]), y=y),
                             dtype=torch.float32, device=device)
    criterion = torch.nn.CrossEntropyLoss(weight=weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    augment = RandomAugment()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=BATCH_SIZE, shuffle=True, pin_memory=device.type == "cuda")
    amp = device.type == "cuda"
    model.train()
    start = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        xb = normalize(augment(to_unit_float(xb)), "per_image")
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = criterion(model(xb).float(), yb)
        loss.backward()
        optimizer.step()
        loss.item()  # as skorch records the loss of every batch
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def wrapper_epoch(X, y, seed):
    clf = CXRClassifier(max_epochs=1, batch_size=BATCH_SIZE, lr=LR, validation_fraction=None,
                        lr_schedule=None, random_state=seed)
    start = time.perf_counter()
    clf.fit(X, y)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, clf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=540)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    device = torch.device(resolve_device("auto"))
    X, y = load_images(args.n_images, args.size)
    plain, wrapped = [], []
    for round_ in range(args.rounds):
        plain.append(plain_loop_epoch(X, y, device, seed=round_))
        seconds, clf = wrapper_epoch(X, y, seed=round_)
        wrapped.append(seconds)
    start = time.perf_counter()
    clf.predict_proba(X)
    predict_seconds = time.perf_counter() - start

    n = len(X)
    plain_rate, wrapped_rate = n / min(plain), n / min(wrapped)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "none"
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"torch threads, GPU: {gpu}, torch {torch.__version__}")
    print(f"data: {n} Kermany training images at {args.size}x{args.size}, batch {BATCH_SIZE}, "
          f"best of {args.rounds} epochs each")
    print()
    print("| what | images/s |")
    print("|---|---|")
    print(f"| plain PyTorch loop, fit | {plain_rate:.1f} |")
    print(f"| CXRClassifier.fit | {wrapped_rate:.1f} |")
    print(f"| ratio wrapper / plain | {wrapped_rate / plain_rate:.3f} |")
    print(f"| CXRClassifier.predict_proba | {n / predict_seconds:.1f} |")
    print(f"| peak host memory (RSS, MB) | {peak_rss_mb:.0f} |")
    if device.type == "cuda":
        print(f"| peak GPU memory (MB) | {torch.cuda.max_memory_allocated() / 2**20:.0f} |")


if __name__ == "__main__":
    main()
