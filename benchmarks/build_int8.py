"""Build the ONNX Runtime backends (fp32, static int8) of a shipped screener, verified, with card numbers.

1. Load the Kermany films as the shipped network was trained on them
   (the card's loader), with the study's patient split (accuracy.load_data):
   the training patients the network was fitted on, the 285 held-out
   validation patients its threshold was chosen on, the test split.
2. Export the shipped network to fp32 ONNX (verified against PyTorch on the
   golden test films) and quantise it to int8, calibrated on a random
   subset of the network's OWN TRAINING films only (never the validation
   patients, never the test split).
3. Verify both against PyTorch on the validation films.
4. For each backend, as the card's rule does for PyTorch: the highest
   threshold reaching the target sensitivity on the validation patients,
   with that backend's scores. Then, on the test split (chooses nothing):
   AUC against PyTorch fp32's, the screening report at the backend's own
   threshold, the share of films flagged differently from PyTorch fp32 at
   the card's threshold, and the share the input guard decides differently
   with the backend's features.
5. Write ``<out>/<name>-onnx-fp32.onnx``, ``<out>/<name>-onnx-int8.onnx`` and
   ``<out>/<name>-backends.json`` (the card fragment, sha256 and size of
   each file). Nothing is written into the repository: what ships is the
   lead's decision.

``--study`` also quantises the calibration variants the defaults were
chosen from (and one calibrated on random textures, no film at all) and
prints their agreement with fp32 on the validation films.

    SKCXR_DATA=../shared/data nice python benchmarks/build_int8.py --out /tmp/skcxr-backends
"""

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
import accuracy  # noqa: E402  (the study's data split)

import skcxr  # noqa: E402
from skcxr import ImageLoader  # noqa: E402
from skcxr.backends import OnnxNetwork, export_onnx, quantize_int8, verify_backend  # noqa: E402
from skcxr.backends._quantize import DEFAULT_CALIBRATION_FILMS, DEFAULT_METHOD  # noqa: E402
from skcxr.backends._reference import texture_images, torch_outputs  # noqa: E402
from skcxr.backends._session import softmax  # noqa: E402
from skcxr.metrics import screening_report, select_threshold  # noqa: E402
from skcxr.pretrained import get_card  # noqa: E402

LABELS = np.array(["NORMAL", "PNEUMONIA"])
STUDY = [  # calibrated on: training films or random textures; quantize_int8's options
    ("training", 64, {}), ("training", 256, {}), ("training", 512, {}), ("training", 1024, {}),
    ("training", 512, {"per_channel": False}), ("training", 512, {"quantize_input_head": True}),
    ("training", 512, {"reduce_range": True}), ("training", 512, {"method": "percentile"}),
    ("textures", 64, {}), ("textures", 512, {}),
]


def load_films(card):
    """Training, validation and test films at the card's loader settings, with labels and groups."""
    data = accuracy.load_data(argparse.Namespace(quick=False))
    loader = ImageLoader(n_jobs=-1, **{key: tuple(value) if isinstance(value, list) else value
                                       for key, value in card["loader"].items()})
    train, test = data["train"], data["test"]
    X_train = loader.fit_transform(train.data)
    return dict(X_fit=X_train[data["fit"]], groups_fit=train.groups[data["fit"]],
                X_val=X_train[data["val"]], y_val=train.target[data["val"]],
                groups_val=train.groups[data["val"]], X_test=loader.transform(test.data),
                y_test=test.target, groups_test=test.groups)


def calibration_films(films, n, seed):
    """``n`` random training films of the network (whole split, never a validation patient)."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(films["X_fit"]), size=min(n, len(films["X_fit"])),
                                replace=False))
    assert not set(films["groups_fit"][chosen]) & set(films["groups_val"]), "validation patient"
    return films["X_fit"][chosen]


def file_facts(path):
    data = Path(path).read_bytes()
    return dict(file=Path(path).name, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def backend_numbers(scores, features, reference, films, card, guard, target):
    """The card fragment of one backend, from its validation and test scores."""
    val_score, test_score = scores["val"], scores["test"]
    threshold = select_threshold(films["y_val"], val_score, min_sensitivity=target)
    card_threshold = card["operating_point"]["threshold"]
    torch_flags = reference["test"] >= card_threshold
    accepted = [r is None for r in guard.refusals(films["X_test"], features=features)]
    return dict(
        threshold=float(threshold),
        threshold_rule=f"the highest threshold reaching {target:.0%} sensitivity on the "
                       f"{len(set(films['groups_val']))} held-out training patients "
                       f"({len(films['y_val'])} films), with this backend's scores",
        validation=dict(auc=float(roc_auc_score(films["y_val"], val_score))),
        test=dict(
            auc=float(roc_auc_score(films["y_test"], test_score)),
            auc_pytorch_fp32=float(roc_auc_score(films["y_test"], reference["test"])),
            at_threshold=screening_report(
                LABELS[films["y_test"]], test_score, threshold=threshold, pos_label="PNEUMONIA",
                groups=films["groups_test"], n_bootstraps=1000, random_state=0,
                output_dict=True),
            flags_differing_from_pytorch_fp32=float(np.mean(
                (test_score >= threshold) != torch_flags)),
            flags_differing_at_the_card_threshold=float(np.mean(
                (test_score >= card_threshold) != torch_flags)),
            max_abs_proba_difference=float(np.abs(test_score - reference["test"]).max()),
            guard_decisions_differing=float(np.mean(
                np.array(accepted) != reference["guard_accepted"])),
        ),
    )


def study(fp32_path, films, reference, threshold, out):
    """Agreement with fp32 on the validation films of each calibration variant."""
    print(f"\nint8 variants against PyTorch fp32 on the {len(films['X_val'])} validation films "
          f"(fp32 AUC {roc_auc_score(films['y_val'], reference['val']):.4f}); flags at {threshold:.4f}")
    print("\n| calibrated on | films | options | val AUC | max abs dP | flags changed | "
          "Spearman | feature error mean/max |\n|---|---|---|---|---|---|---|---|")
    for source, n, options in STUDY:
        images = (calibration_films(films, n, seed=0) if source == "training"
                  else texture_images(films["X_val"].shape[1:], n=n))
        path = quantize_int8(fp32_path, images, out / "study.onnx", **options)
        logits, features = OnnxNetwork(path).run(films["X_val"])
        proba = softmax(logits)[:, 1]
        error = (np.linalg.norm(features - reference["val_features"], axis=1)
                 / np.linalg.norm(reference["val_features"], axis=1))
        print(f"| {source} | {n} | {options or 'defaults'} | "
              f"{roc_auc_score(films['y_val'], proba):.4f} | "
              f"{np.abs(proba - reference['val']).max():.3f} | "
              f"{int(((proba >= threshold) != (reference['val'] >= threshold)).sum())} | "
              f"{spearmanr(logits[:, 1] - logits[:, 0], reference['val_margin']).statistic:.5f} | "
              f"{error.mean():.3f}/{error.max():.3f} |", flush=True)
    (out / "study.onnx").unlink()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=skcxr.list_pretrained()[0])
    parser.add_argument("--out", default="/tmp/skcxr-backends")
    parser.add_argument("--calibration-films", type=int, default=DEFAULT_CALIBRATION_FILMS)
    parser.add_argument("--method", default=DEFAULT_METHOD)
    parser.add_argument("--seed", type=int, default=0, help="which training films calibrate")
    parser.add_argument("--study", action="store_true", help="also compare calibration variants")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    card = get_card(args.name).to_dict()
    target = card["operating_point"]["target_sensitivity"]

    start = time.perf_counter()
    films = load_films(card)
    print(f"loaded {len(films['X_fit'])} training, {len(films['X_val'])} validation and "
          f"{len(films['X_test'])} test films in {time.perf_counter() - start:.0f} s", flush=True)
    classifier = skcxr.load_pretrained(args.name, device="cpu", backend="torch").classifier
    guard = skcxr.load_pretrained(args.name, device="cpu").fitted_guard

    # PyTorch fp32, scored as the card was (predict_proba), is the reference.
    val_logits, val_features = torch_outputs(classifier, films["X_val"])
    _, test_features = torch_outputs(classifier, films["X_test"])
    reference = dict(val=classifier.predict_proba(films["X_val"])[:, 1],
                     test=classifier.predict_proba(films["X_test"])[:, 1],
                     val_features=val_features, val_margin=val_logits[:, 1] - val_logits[:, 0])
    reference["guard_accepted"] = np.array(
        [r is None for r in guard.refusals(films["X_test"], features=test_features)])
    torch_threshold = select_threshold(films["y_val"], reference["val"], min_sensitivity=target)
    print(f"PyTorch fp32: threshold {torch_threshold:.6f} (card: "
          f"{card['operating_point']['threshold']:.6f}), test AUC "
          f"{roc_auc_score(films['y_test'], reference['test']):.4f}", flush=True)

    paths = {"onnx-fp32": out / f"{args.name}-onnx-fp32.onnx",
             "onnx-int8": out / f"{args.name}-onnx-int8.onnx"}
    start = time.perf_counter()
    export_onnx(classifier, paths["onnx-fp32"])
    export_seconds = time.perf_counter() - start
    start = time.perf_counter()
    calibration = calibration_films(films, args.calibration_films, args.seed)
    quantize_int8(paths["onnx-fp32"], calibration, paths["onnx-int8"], method=args.method,
                  classifier=classifier, reference=films["X_val"])
    quantize_seconds = time.perf_counter() - start

    backends = {}
    for backend, path in paths.items():
        network = OnnxNetwork(path)
        check = verify_backend(network, films["X_val"], classifier,
                               threshold=card["operating_point"]["threshold"])
        scores = {split: network.predict_proba(films[f"X_{split}"])[:, 1]
                  for split in ("val", "test")}
        features = network.run(films["X_test"])[1]
        backends[backend] = dict(
            **file_facts(path), precision=network.precision,
            verification=dict(on=f"the {check.n_images} validation films", **check.to_dict()),
            **backend_numbers(scores, features, reference, films, card, guard, target))
        numbers = backends[backend]
        print(f"{backend}: threshold {numbers['threshold']:.6f}, test AUC "
              f"{numbers['test']['auc']:.4f} (PyTorch fp32 {numbers['test']['auc_pytorch_fp32']:.4f}), "
              f"flags differing {numbers['test']['flags_differing_from_pytorch_fp32']:.4f}, "
              f"{numbers['size_bytes'] / 1e6:.1f} MB, sha256 {numbers['sha256'][:12]}", flush=True)
    backends["onnx-int8"]["calibration"] = dict(
        films=len(calibration), method=args.method, per_channel=True, input_head="fp32",
        drawn_from=f"the network's {len(films['X_fit'])} training films (seed {args.seed}); "
                   "no validation patient, no test film")
    fragment = dict(
        name=args.name, weights_sha256=card["weights"]["sha256"], backends=backends,
        built=dict(commit=accuracy.commit(), date=time.strftime("%Y-%m-%d"),
                   machine=f"{platform.machine()} CPU", torch=_version("torch"),
                   onnxruntime=_version("onnxruntime"), onnx=_version("onnx"),
                   export_seconds=round(export_seconds, 1),
                   quantize_seconds=round(quantize_seconds, 1)),
    )
    (out / f"{args.name}-backends.json").write_text(json.dumps(fragment, indent=1) + "\n")
    print(f"wrote {paths['onnx-fp32']}, {paths['onnx-int8']} and {args.name}-backends.json "
          f"in {out}", flush=True)
    if args.study:
        study(paths["onnx-fp32"], films, reference, card["operating_point"]["threshold"], out)


def _version(module):
    return __import__(module).__version__


if __name__ == "__main__":
    main()
