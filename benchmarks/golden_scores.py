"""Pin the shipped screener's scores on a few fixed test films (tests/golden/).

Run after shipping new weights; ``tests/test_shipped_screener.py`` then checks,
on every CI run, that loading the shipped weights still gives these scores
(tolerance 1e-4). The file records the weights' sha256, so stale golden scores
fail loudly instead of passing against other weights.

    python benchmarks/golden_scores.py
"""

import json
from pathlib import Path

import skcxr
from skcxr.backends._reference import golden_films
from skcxr.datasets import get_skcxr_data_home

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "shipped_scores.json"


def main():
    test_dir = get_skcxr_data_home() / "chest_xray" / "test"
    golden = {}
    for name in skcxr.list_pretrained():
        screener = skcxr.load_pretrained(name, device="cpu")
        films = golden_films(test_dir)  # first, middle, last of each class, by name
        proba = screener.predict_proba([str(test_dir / f) for f in films])[:, 1]
        golden[name] = {
            "sha256": skcxr.pretrained.get_card(name).weights["sha256"],
            "pneumonia_scores": {f: float(p) for f, p in zip(films, proba)},
        }
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
