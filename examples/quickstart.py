"""Quickstart: load the Kermany chest X-ray set and summarise it.

Run from the repository root::

    python examples/quickstart.py

The data is read from ``$SKCXR_DATA`` (default here: ``../shared/data``).
"""

import os
from pathlib import Path

import numpy as np

from skcxr.datasets import load_chest_xray
from skcxr.preprocessing import ImageLoader

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main():
    data_home = os.environ.get("SKCXR_DATA") or DEFAULT_DATA
    for subset in ("train", "test"):
        bunch = load_chest_xray(data_home, subset=subset)
        counts = np.bincount(bunch.target)
        print(
            f"{subset:5s}: {len(bunch.data):5d} images of {len(set(bunch.groups)):4d} "
            f"patients | " + ", ".join(f"{n} {c}" for n, c in zip(bunch.target_names, counts))
        )
    images = ImageLoader(size=224, n_jobs=2).fit_transform(bunch.data[:8])
    print(f"first test images decoded: shape {images.shape}, dtype {images.dtype}")


if __name__ == "__main__":
    main()
