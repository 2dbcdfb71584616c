"""Input guard benchmark: how many foreign images it refuses, and how many films.

The out-of-distribution set is built at run time, in a temporary folder, only
from images that installed packages ship or that this script generates:

* scikit-image's bundled ``skimage.data`` images (photographs, textures,
  documents, microscopy, a retina, a CT phantom, ...) and scikit-learn's
  sample photographs, each as it is, in grey, and as random crops;
* synthetic images: noise, smooth random fields, gradients, rendered text;
* Kermany **test** films made unusable: turned 90 degrees, upside down,
  inverted, heavily cropped, blank.

Every file goes the way ``skcxr screen`` takes it: the file checks first
(``guard.file_reasons``), then decoding by the model's loader and the image
checks and novelty (``guard.reasons``). The guard is fitted on the Kermany
training split with patient groups (the threshold on held-out training
patients); the untransformed test films measure the false rejections.
Nothing here is chosen on test data.

    python benchmarks/input_guard.py --model model.joblib
    python benchmarks/input_guard.py --model model.joblib --max-train 2000 --json guard.json
    python benchmarks/input_guard.py --model model.joblib --save-guard guard.joblib  # fit once
    python benchmarks/input_guard.py --model model.joblib --guard guard.joblib      # reuse it

``--model`` takes a file written by ``joblib.dump`` of a fitted
``ImageLoader -> CXRClassifier`` pipeline (or a threshold classifier around
one), or the name of a pretrained screener once ``skcxr.load_pretrained``
exists; a model that carries its own fitted guard (a Screener's ``fitted_guard``)
is benchmarked with that guard unless ``--refit`` is given.
"""

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from skcxr.datasets import load_chest_xray
from skcxr.guard import InputGuard, fit_input_guard
from skcxr.guard._helpers import _pipeline_of

GOAL_FOREIGN, GOAL_FILMS = 0.95, 0.02


# ------------------------------------------------------------ the image set
def package_images():
    """(group, name, RGB or grey uint8 array) from skimage.data and sklearn's samples."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    groups = {
        "photograph (colour)": ["astronaut", "cat", "chelsea", "coffee", "rocket",
                                "stereo_motorcycle", "hubble_deep_field"],
        "photograph (grey) / texture": ["camera", "clock", "coins", "moon", "grass", "gravel",
                                        "brick"],
        "document / text": ["page", "text"],
        "microscopy / retina": ["cell", "immunohistochemistry", "microaneurysms", "retina"],
        "drawing / phantom / pattern": ["shepp_logan_phantom", "binary_blobs", "checkerboard",
                                        "horse", "logo", "colorwheel"],
    }
    for group, names in groups.items():
        for name in names:
            try:
                image = getattr(skimage.data, name)()
            except Exception as exc:  # an image the installed version lacks or must download
                print(f"skipping skimage.data.{name}: {exc}", file=sys.stderr)
                continue
            if isinstance(image, tuple):
                image = image[0]
            yield group, f"skimage-{name}", to_uint8(image)
    samples = load_sample_images()
    for filename, image in zip(samples.filenames, samples.images):
        yield "photograph (colour)", f"sklearn-{Path(filename).stem}", image
    faces = skimage.data.lfw_subset()[:10]
    for i, face in enumerate(faces):
        yield "photograph (grey) / texture", f"skimage-face{i}", to_uint8(face)


def to_uint8(image):
    image = np.asarray(image)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype.kind == "f":
        low, high = image.min(), image.max()
        return np.round((image - low) / (high - low + 1e-12) * 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, :3]
    return image.astype(np.uint8)


def variants(image, rng, n_crops=3):
    """The image, its grey version (if in colour) and random crops, each at least 200 px."""
    out = [("", image)]
    if image.ndim == 3:
        out.append(("-grey", np.asarray(Image.fromarray(image).convert("L"))))
    h, w = image.shape[:2]
    for k in range(n_crops):
        ch, cw = int(h * rng.uniform(0.4, 0.8)), int(w * rng.uniform(0.4, 0.8))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        out.append((f"-crop{k}", image[top:top + ch, left:left + cw]))
    return [(suffix, upscale(a, 200)) for suffix, a in out]


def upscale(image, min_side):
    """Enlarge a small image so that it is no 'too small' file: the novelty must judge it."""
    h, w = image.shape[:2]
    if min(h, w) >= min_side:
        return image
    scale = min_side / min(h, w)
    pil = Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.BICUBIC)
    return np.asarray(pil)


def synthetic_images(rng, n=20, side=512):
    """(group, name, array): noise, smooth random fields, gradients, rendered text."""
    yy, xx = np.mgrid[:side, :side] / side
    for i in range(n):
        yield "synthetic noise", f"uniform{i}", rng.integers(0, 256, (side, side), dtype=np.uint8)
        level, spread = rng.uniform(40, 210), rng.uniform(5, 70)
        yield "synthetic noise", f"gaussian{i}", clip(rng.normal(level, spread, (side, side)))
        coarse = rng.normal(size=(int(rng.integers(2, 24)),) * 2)
        field = Image.fromarray(to_uint8(coarse)).resize((side, side), Image.BICUBIC)
        yield "synthetic smooth field / gradient", f"field{i}", np.asarray(field)
        a, b = rng.normal(size=2)
        if i % 2:
            ramp = a * xx + b * yy
        else:
            ramp = np.hypot(xx - rng.uniform(), yy - rng.uniform())
        yield "synthetic smooth field / gradient", f"gradient{i}", to_uint8(ramp)
        yield "synthetic text", f"text{i}", rendered_text(rng, side)


def rendered_text(rng, side):
    page = Image.new("L", (side, side), int(rng.integers(180, 256)))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=int(rng.integers(12, 40)))
    letters = list("abcdefghijklmnopqrstuvwxyz     ")
    y = int(rng.integers(0, 20))
    while y < side:
        line = "".join(rng.choice(letters, 60))
        draw.text((int(rng.integers(0, 30)), y), line, fill=int(rng.integers(0, 90)), font=font)
        y += int(font.size * rng.uniform(1.2, 2.0))
    return np.asarray(page)


def clip(values):
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def unusable_films(paths, rng):
    """(group, name, array): Kermany test films that are no longer usable chest films."""
    for i, path in enumerate(paths):
        film = np.asarray(Image.open(path).convert("L"))
        h, w = film.shape
        kind = i % 5
        if kind == 0:
            yield "film turned 90 degrees", f"rot{i}", np.rot90(film, 1 if i % 10 else 3)
        elif kind == 1:
            yield "film inverted", f"inv{i}", 255 - film
        elif kind == 4:
            yield "film upside down", f"upside{i}", np.rot90(film, 2)
        elif kind == 2:
            ch, cw = h // 4, w // 4  # a sixteenth of the film
            top, left = rng.integers(0, h - ch), rng.integers(0, w - cw)
            yield "film heavily cropped", f"crop{i}", upscale(film[top:top + ch, left:left + cw], 200)
        else:
            blank = np.full_like(film, int(rng.integers(0, 256)))
            if i % 10 == 3:
                blank = clip(blank + rng.normal(0, 2, blank.shape))  # sensor noise
            yield "film blank", f"blank{i}", blank


def write_set(items, folder):
    """Write each (group, name, array) as a PNG; return a list of (group, path)."""
    written = []
    for group, name, array in items:
        path = folder / f"{len(written):04d}-{name}.png"
        Image.fromarray(np.ascontiguousarray(array)).save(path)
        written.append((group, str(path)))
    return written


# ------------------------------------------------------------ measurement
def guard_files(guard, loader, paths, batch_size=64):
    """Each file's refusal (or None) and which stage gave it: file, image (named check), novelty or ''."""
    refusals = guard.file_refusals(paths)
    stages = ["file" if r else "" for r in refusals]
    todo = [i for i, r in enumerate(refusals) if r is None]
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        images = loader.transform([paths[i] for i in chunk])
        for i, refusal in zip(chunk, guard.refusals(images)):
            refusals[i] = refusal
            stages[i] = ("" if refusal is None else
                         "novelty" if refusal.code == "unlike_training" else "image")
    return refusals, stages


def summarise(groups, refusals, stages):
    rows = []
    for group in dict.fromkeys(groups):
        idx = [i for i, g in enumerate(groups) if g == group]
        counts = Counter(stages[i] for i in idx)
        refused = [refusals[i] for i in idx if refusals[i] is not None]
        common = Counter(r.code for r in refused).most_common(1)
        rows.append(dict(category=group, n=len(idx), refused=1 - counts[""] / len(idx),
                         by_file=counts["file"] / len(idx), by_image=counts["image"] / len(idx),
                         by_novelty=counts["novelty"] / len(idx),
                         common_reason=common[0][0] if common else ""))
    return rows


def load_model(spec):
    if Path(spec).is_file():
        return joblib.load(spec)
    import skcxr
    if not hasattr(skcxr, "load_pretrained"):
        raise SystemExit(f"--model {spec!r}: no such file, and this skcxr has no pretrained "
                         "screeners yet (skcxr.load_pretrained).")
    return skcxr.load_pretrained(spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True,
                        help="joblib file of a fitted ImageLoader -> CXRClassifier pipeline, "
                             "or a pretrained screener's name")
    parser.add_argument("--data-home", default=None, help="folder holding chest_xray/")
    parser.add_argument("--max-train", type=int, default=None,
                        help="fit the guard on this many training films of whole patients "
                             "(default: the whole training split)")
    parser.add_argument("--max-false-rejection", type=float, default=0.02)
    parser.add_argument("--n-films", type=int, default=60,
                        help="test films per unusable-film kind (turned, inverted, ...)")
    parser.add_argument("--save-guard", default=None,
                        help="write the fitted guard's state here (joblib), for --guard")
    parser.add_argument("--guard", default=None,
                        help="use the guard state saved by --save-guard instead of fitting one")
    parser.add_argument("--refit", action="store_true",
                        help="fit a new guard even if the model carries one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    model = load_model(args.model)
    pipeline = _pipeline_of(model)
    loader = pipeline[:-1]
    train = load_chest_xray(args.data_home, subset="train")
    test = load_chest_xray(args.data_home, subset="test")

    guard = getattr(model, "fitted_guard", None)  # a Screener carries its guard
    start = time.perf_counter()
    if args.guard:
        guard = InputGuard.from_state(joblib.load(args.guard), pipeline[-1])
        fitted = f"loaded from {args.guard}"
    elif guard is None or args.refit:
        data, groups = train.data, train.groups
        if args.max_train and args.max_train < len(data):
            patients = rng.permutation(np.unique(groups))
            keep = np.isin(groups, patients[np.cumsum(
                [np.sum(groups == p) for p in patients]) <= args.max_train])
            data, groups = data[keep], groups[keep]
        guard = fit_input_guard(model, data, groups=groups,
                                max_false_rejection=args.max_false_rejection,
                                random_state=args.seed)
        fitted = (f"fitted on {len(data)} training films of {len(np.unique(groups))} patients "
                  f"in {time.perf_counter() - start:.0f} s")
        if args.save_guard:
            joblib.dump(guard.get_state(), args.save_guard)
    else:
        fitted = "the model's own guard"
    print(f"guard: {fitted}; threshold {guard.threshold_:.2f} set on {guard.n_calibration_} "
          f"held-out films ({guard.calibration_rejection_:.1%} of them refused)", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        films = rng.choice(test.data, 5 * args.n_films, replace=False)
        items = [*((g, f"{name}{suffix}", v) for g, name, image in package_images()
                   for suffix, v in variants(image, rng)),
                 *synthetic_images(rng), *unusable_films(films, rng)]
        foreign = write_set(items, folder)
        groups = [g for g, _ in foreign] + ["Kermany test films (valid)"] * len(test.data)
        paths = [p for _, p in foreign] + list(test.data)
        start = time.perf_counter()
        reasons, stages = guard_files(guard, loader, paths)
        seconds = time.perf_counter() - start
    rows = summarise(groups, reasons, stages)

    n_unusable = sum(r["n"] for r in rows if r["category"].startswith("film "))
    is_foreign = [not g.startswith(("film ", "Kermany")) for g in groups]
    foreign_refused = np.mean([bool(r) for r, f in zip(reasons, is_foreign) if f])
    unusable_refused = np.mean([bool(r) for r, g in zip(reasons, groups) if g.startswith("film ")])
    films_refused = rows[-1]["refused"]
    print_table(rows, args.model, fitted, guard)
    print()
    print(f"Non-X-ray images refused: {foreign_refused:.1%} of {sum(is_foreign)} "
          f"(goal >= {GOAL_FOREIGN:.0%})")
    print(f"Unusable films refused: {unusable_refused:.1%} of {n_unusable}")
    print(f"Kermany test films refused: {films_refused:.1%} of {len(test.data)} "
          f"(goal <= {GOAL_FILMS:.0%})")
    print(f"Guard time: {1000 * seconds / len(paths):.1f} ms per file, decoding included")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(
            model=args.model, guard=fitted, threshold=guard.threshold_, rows=rows,
            foreign_refused=foreign_refused, unusable_refused=unusable_refused,
            films_refused=films_refused), indent=2))


def print_table(rows, model, fitted, guard):
    print(f"Input guard on {model} (guard {fitted}, max_false_rejection="
          f"{guard.max_false_rejection})")
    print()
    print("| category | images | refused | by file check | by image check | by novelty "
          "| commonest reason |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['category']} | {r['n']} | {r['refused']:.1%} | {r['by_file']:.1%} "
              f"| {r['by_image']:.1%} | {r['by_novelty']:.1%} | {r['common_reason']} |")


if __name__ == "__main__":
    main()
