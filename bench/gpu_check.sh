#!/usr/bin/env bash
# The one prepared GPU check (issue 14), for a lent GPU machine: one call of at most ~9.5 minutes.
#
#   1. speed: bench/gpu_speed.py at width 1.0, batch 256 on CIFAR-10: the tensor-cache loader vs
#      the ImageFolder DataLoader, seconds per mixture and sampled search epoch (and a 90-epoch
#      search, extrapolated), seconds per childnet training epoch          -> $OUT/speed.json
#   2. the childnet under HANNA's latency (2.71 s predicted on rpi3b-hanna), trained to the end
#      (120 epochs) with the project's recipe, wall-clock bounded          -> $OUT/childnet.json
#   3. MobileNetV2, the same recipe and bound                              -> $OUT/mobilenetv2.json
# Each part writes its JSON line as soon as it ends, so a run cut short still returns the parts
# it finished; the log of each part is $OUT/<part>.log and $OUT/summary.json gathers them.
#
# Data: the CIFAR-10 JPEG tree at $DATA (default data/cifar10-jpeg, git-ignored); when missing it
# is unpacked from data/cifar10-jpeg.tar.gz (copy ../shared/datasets/cifar10-jpeg.tar.gz there
# and carry it: the device tool copies only the tree and the paths named in carry).
#
#   run(command="bash bench/gpu_check.sh", carry=["data/cifar10-jpeg.tar.gz"], timeout_s=590)
#
# Knobs (environment): PYTHON (python3), DATA, OUT (default: a temporary folder), DEVICE (cuda),
# EPOCHS (120), SPEED_LIMIT_S (150), CHILD_LIMIT_S (240), MBV2_LIMIT_S (150), QUICK (1: the tiny
# CPU rehearsal that tests/test_bench_gpu_check.py runs).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DATA=${DATA:-data/cifar10-jpeg}
OUT=${OUT:-$(mktemp -d /tmp/hanna-gpu-check.XXXXXX)}
DEVICE=${DEVICE:-cuda}
EPOCHS=${EPOCHS:-120}
SPEED_LIMIT_S=${SPEED_LIMIT_S:-150}
CHILD_LIMIT_S=${CHILD_LIMIT_S:-240}
MBV2_LIMIT_S=${MBV2_LIMIT_S:-150}
QUICK=${QUICK:-0}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"

if [ ! -d "$DATA/train" ]; then
  for tarball in data/cifar10-jpeg.tar.gz ../shared/datasets/cifar10-jpeg.tar.gz; do
    if [ -f "$tarball" ]; then
      mkdir -p "$DATA" && tar -xzf "$tarball" -C "$DATA"
      break
    fi
  done
fi
[ -d "$DATA/train" ] || { echo "gpu_check: no CIFAR-10 tree at $DATA (see the header)" >&2; exit 2; }

"$PYTHON" - "$DEVICE" <<'PY' > "$OUT/environment.json"
import json, sys
import torch
info = {"torch": torch.__version__, "device": sys.argv[1], "cuda": torch.cuda.is_available()}
if sys.argv[1] == "cuda":
    assert torch.cuda.is_available(), "gpu_check: DEVICE=cuda but torch sees no CUDA device"
    info |= {"name": torch.cuda.get_device_name(0), "bf16": torch.cuda.is_bf16_supported()}
print(json.dumps(info))
PY

QUICK_ARGS=()
[ "$QUICK" = 1 ] && QUICK_ARGS=(--quick --threads 1)
BENCH=("$PYTHON" bench/gpu_speed.py --data-root "$DATA" --device "$DEVICE" --runs "$OUT/runs" "${QUICK_ARGS[@]}")

# part NAME LIMIT ARGS...: one gpu_speed run bounded by LIMIT seconds; its JSON line to $OUT/NAME.json
part() {
  local name=$1 limit=$2
  shift 2
  local started=$SECONDS code=0
  timeout -s TERM -k 20 "$limit" "${BENCH[@]}" "$@" > "$OUT/$name.json.tmp" 2> "$OUT/$name.log" || code=$?
  if [ "$code" = 0 ] && [ -s "$OUT/$name.json.tmp" ]; then
    mv "$OUT/$name.json.tmp" "$OUT/$name.json"
  else
    rm -f "$OUT/$name.json.tmp"
    printf '{"bench": "gpu_check", "part": "%s", "exit": %s, "seconds": %s}\n' "$name" "$code" "$((SECONDS - started))" > "$OUT/$name.json"
  fi
  echo "gpu_check: $name exit $code after $((SECONDS - started)) s" >&2
}

part speed "$SPEED_LIMIT_S" --width 1.0 --batch 256
# the trainings stop themselves at their limit (cancelled, top-1 of the epoch reached); the outer
# timeout is a backstop 60 s later
part childnet "$((CHILD_LIMIT_S + 60))" --skip loader,search,train --full --models childnet --epochs "$EPOCHS" --limit-s "$CHILD_LIMIT_S"
part mobilenetv2 "$((MBV2_LIMIT_S + 60))" --skip loader,search,train --full --models mobilenetv2 --epochs "$EPOCHS" --limit-s "$MBV2_LIMIT_S"

"$PYTHON" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = {"bench": "gpu_check", "environment": json.loads((out / "environment.json").read_text())}
for name in ("speed", "childnet", "mobilenetv2"):
    summary[name] = json.loads((out / f"{name}.json").read_text())
(out / "summary.json").write_text(json.dumps(summary) + "\n")
print(json.dumps(summary))
PY
