#!/usr/bin/env bash
# One prepared run of the benchmarks on a lent GPU machine (the workplace's
# device tool). Written by a session without a GPU: not yet run there.
#
# Prepare here, once, from the repository root:
#   echo /.whl/ >> .git/info/exclude; echo /.data/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux2014_x86_64 -d .whl skorch==1.4.0 tabulate
#   mkdir -p .data && cp -r ../shared/data/chest_xray .data/    # 47 MB, never committed
# Then run it with the device tool, carrying .whl and .data, e.g.
#   bash benchmarks/gpu_session.sh speed
#   bash benchmarks/gpu_session.sh accuracy --models original recommended --epochs 30
# Results land in $OUT (speed.md, accuracy.json, accuracy.md).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" SKCXR_DATA="$PWD/.data" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
what="${1:-speed}"
shift || true
case "$what" in
  speed) python3 benchmarks/speed.py --n-images 2000 --rounds 2 "$@" | tee "$OUT/speed.md" ;;
  accuracy) python3 benchmarks/accuracy.py --out "$OUT" "$@" ;;
  *) echo "usage: $0 speed|accuracy [args]" >&2; exit 2 ;;
esac
