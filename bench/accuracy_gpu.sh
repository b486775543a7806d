#!/usr/bin/env bash
# GPU recipe: train the demo childnet (FBNet-CIFAR space, width 1.0, the fixed architecture of
# bench/accuracy_smoke.py) and MobileNetV2 on CIFAR-10 on one H200 in about 8 minutes, then
# print one JSON line with the top-1 of each.
#
# Data: the CIFAR-10 JPEG ImageFolder tree at $DATA (default data/cifar10-jpeg, git-ignored).
# When it is missing, it is unpacked from data/cifar10-jpeg.tar.gz (copy the tarball there
# beforehand so it travels with the tree: cp ../shared/datasets/cifar10-jpeg.tar.gz data/)
# or from ../shared/datasets/cifar10-jpeg.tar.gz.
#
# Each model gets the project's trainer (hanna-tui train / baseline): SGD Nesterov, warm-up +
# cosine, label smoothing, crop + flip, bf16 autocast, channels_last, pinned memory with
# non-blocking copies, 12 persistent DataLoader workers. Batch 256 at lr 0.2 (the recipe's
# 0.1 per 128). Each training is also bounded by a wall-clock limit: at the limit it gets
# SIGTERM, saves its checkpoint and is marked cancelled, and the line reports the top-1 it
# reached (state "cancelled"). Full-length targets (120 epochs, not this recipe): MobileNetV2
# >= 92%, a searched childnet >= 90%.
#
# Knobs (environment): PYTHON (python3), DATA, RUNS (a temporary folder), CHILD_EPOCHS (20),
# MBV2_EPOCHS (20), LIMIT_S (210 seconds per model), WIDTH (1.0), DEVICE (cuda), EXTRA (more
# train flags). A dry run of the script's logic on a CPU:
#   PYTHON=.venv/bin/python DEVICE=cpu WIDTH=0.25 CHILD_EPOCHS=1 MBV2_EPOCHS=1 \
#     EXTRA="--subset 128 --test-subset 128 --threads 1 --batch-size 32" bench/accuracy_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DATA=${DATA:-data/cifar10-jpeg}
RUNS=${RUNS:-$(mktemp -d /tmp/hanna-gpu-runs.XXXXXX)}
CHILD_EPOCHS=${CHILD_EPOCHS:-20}
MBV2_EPOCHS=${MBV2_EPOCHS:-20}
LIMIT_S=${LIMIT_S:-210}
WIDTH=${WIDTH:-1.0}
DEVICE=${DEVICE:-cuda}
read -r -a EXTRA_ARGS <<< "${EXTRA:-}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HANNA_RUNS="$RUNS"

if [ ! -d "$DATA/train" ]; then
  for tarball in data/cifar10-jpeg.tar.gz ../shared/datasets/cifar10-jpeg.tar.gz; do
    if [ -f "$tarball" ]; then
      mkdir -p "$DATA" && tar -xzf "$tarball" -C "$DATA"
      break
    fi
  done
fi
[ -d "$DATA/train" ] || { echo "accuracy_gpu: no CIFAR-10 tree at $DATA (see the header)" >&2; exit 2; }

if [ "$DEVICE" != cpu ]; then
  "$PYTHON" - <<'PY' >&2
import torch
assert torch.cuda.is_available(), "no CUDA device"
print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}")
PY
fi

COMMON=(--data imagefolder --data-root "$DATA" --device "$DEVICE" --batch-size 256 --lr 0.2 --warmup-epochs 1 --log-interval 50
        "${EXTRA_ARGS[@]}")

# the childnet: a search run holding arch.json, trained in RUN/train/
CHILD_RUN=$("$PYTHON" -c "
import sys; sys.path.insert(0, 'bench')
from accuracy_smoke import make_childnet_run
print(make_childnet_run('$RUNS', float('$WIDTH')).path)")
set +e
timeout -s TERM -k 30 "$LIMIT_S" "$PYTHON" -m hanna_tui train "$CHILD_RUN" --epochs "$CHILD_EPOCHS" "${COMMON[@]}" >&2
timeout -s TERM -k 30 "$LIMIT_S" "$PYTHON" -m hanna_tui baseline mobilenetv2 --name mobilenetv2-gpu --epochs "$MBV2_EPOCHS" "${COMMON[@]}" >&2
set -e

"$PYTHON" - "$CHILD_RUN" "$RUNS" <<'PY'
import json, sys
from pathlib import Path
from hanna_tui.store import Run, list_runs

child = Run(sys.argv[1])
line = {"bench": "accuracy_gpu", "data": "CIFAR-10 JPEG (ImageFolder), full splits"}
def entry(status, extra=None):
    keys = ("state", "top1", "best_top1", "epoch", "total_epochs", "params", "macs", "images_per_s")
    return {**{k: status.get(k) for k in keys}, **(extra or {})}
line["childnet"] = entry(child.train_status(), {"width_mult": child.arch()["width_mult"], **{f"pred_{k}": v for k, v in child.arch()["predicted"].items()}})
mb = [r for r in list_runs(sys.argv[2]) if r.kind == "baseline"]
line["mobilenetv2"] = entry(Run(mb[0].path).status()) if mb else {"state": "missing"}
print(json.dumps(line))
PY
