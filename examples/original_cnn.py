"""The original project's CNN+FC with its hyperparameters, and class weights.

Three 5x5 conv blocks (16, 32, 56 filters, ReLU, 2x2 max-pool), FC 512 -> 2,
SGD momentum 0.9, lr 0.015, batch 54: CXRClassifier's defaults. Where the
original deleted images to balance classes, this uses
``class_weight="balanced"`` (also a default).

    python examples/original_cnn.py --quick   # 96 px, 3 epochs: a few minutes on a CPU
    python examples/original_cnn.py           # 224 px, 30 epochs (use a GPU)
"""

import argparse

from sklearn.pipeline import make_pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size, epochs = (96, 3) if args.quick else (224, 30)

    train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
    model = make_pipeline(ImageLoader(size=size, n_jobs=-1),
                          CXRClassifier.from_preset("original", max_epochs=epochs,
                                                    random_state=0, verbose=1))
    model.fit(train.data, train.target, cxrclassifier__groups=train.groups)
    print(screening_report(test.target, model.predict_proba(test.data)[:, 1], threshold=0.5,
                           groups=test.groups, random_state=0))


if __name__ == "__main__":
    main()
