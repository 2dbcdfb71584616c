#!/usr/bin/env bash
# One prepared session of the benchmarks on a lent GPU machine (the
# workplace's device tool), where nothing can be installed from the network.
#
# Prepare here, once, from the repository root:
#   printf '/.whl/\n/.data/\n' >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl skorch==1.4.0 scikit-learn==1.9.1
#   # for "scale" only: Dask and the dependencies the GPU image lacks
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl dask distributed partd locket tblib zict tornado
#   mkdir -p .data && cp -r ../shared/data/chest_xray .data/    # 47 MB, never committed
# Then run it with the device tool, carrying .whl and .data:
#   SKCXR_COMMIT=$(git rev-parse --short HEAD) bash benchmarks/gpu_session.sh all 250
# "all": a CUDA smoke test, then side by side the GPU-relevant tests and the
# accuracy benchmark, every model its own process with at most BUDGET seconds
# of training, then the speed benchmark on the quiet GPU. "seeds": the same
# for the recommended recipe trained with four seeds, the speed benchmark first.
# "scale [MAX_EPOCHS]": benchmarks/scale.py --device-grid, 8 candidates x 3 patient
# folds of the recommended preset at 224 px on a Dask cluster on the GPU (not yet
# run on a GPU machine; a run must end within the device tool's 10 minutes).
# Results land in $OUT: accuracy.json/.md, accuracy_log.txt, tests.txt, speed.md, scale.md.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" SKCXR_DATA="$PWD/.data" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

smoke() {
  python3 - <<'EOF'
import pickle, sys, time
import numpy as np, sklearn, skorch, torch, torchvision
from skcxr import CXRClassifier
print("python", sys.version.split()[0], "torch", torch.__version__, "torchvision",
      torchvision.__version__, "sklearn", sklearn.__version__, "skorch", skorch.__version__)
rng = np.random.default_rng(0)
X = rng.integers(0, 255, (64, 1, 64, 64), dtype=np.uint8)
y = np.arange(64) % 2
start = time.perf_counter()
clf = CXRClassifier(max_epochs=2, random_state=0).fit(X, y, groups=np.arange(64) // 2)
assert clf.device == "auto" and next(clf.module_.parameters()).is_cuda
proba = clf.predict_proba(X)
assert proba.shape == (64, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
again = pickle.loads(pickle.dumps(clf))
assert np.allclose(again.predict_proba(X), proba, atol=1e-4)
print(f"smoke ok: fit+predict+pickle on {torch.cuda.get_device_name()} "
      f"in {time.perf_counter() - start:.1f} s")
EOF
}

gpu_tests() {  # the classifier, conformance and Grad-CAM tests, now on CUDA
  timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_classifier.py \
    tests/test_classifier_conformance.py tests/test_explain_and_plot.py >"$OUT/tests.txt" 2>&1
  echo "GPU tests exit code $?"; tail -3 "$OUT/tests.txt"
}

speed() { timeout 100 python3 benchmarks/speed.py --n-images 2000 --rounds 3 | tee "$OUT/speed.md"; }

accuracy() {  # accuracy BUDGET [accuracy.py args]
  local budget="$1"; shift
  timeout $((budget + 150)) python3 benchmarks/accuracy.py --time-budget "$budget" --out "$OUT" \
    "$@" 2>&1 | tee "$OUT/accuracy_log.txt"
}

what="${1:-all}"
budget="${2:-270}"
case "$what" in
  smoke) smoke ;;
  speed) speed ;;
  all)  # the whole accuracy table, every model its own process; then speed on the quiet GPU
    smoke || exit 1
    gpu_tests & tests=$!
    accuracy "$budget" --jobs 5
    wait $tests
    speed
    ;;
  seeds)  # speed on the quiet GPU, then the recommended recipe with four seeds side by side
    smoke || exit 1
    speed
    gpu_tests & tests=$!
    accuracy "$budget" --models recommended --seeds 0 1 2 3 --jobs 4
    wait $tests
    ;;
  scale)  # a grid search on a Dask cluster of GPU workers, GPU utilisation sampled
    smoke || exit 1
    timeout 560 python3 benchmarks/scale.py --device-grid ${2:+--max-epochs "$2"} 2>&1 \
      | grep -v "distributed\.\(nanny\|scheduler\|core\|worker\|http\)" | tee "$OUT/scale.md"
    ;;
  *) echo "usage: $0 smoke|speed|all|seeds|scale [train budget seconds | max epochs]" >&2; exit 2 ;;
esac
