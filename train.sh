#!/usr/bin/env bash
# Train with one option file on all visible GPUs (torchrun), or in one process without GPUs.
#
#   ./train.sh Denoising/Options/GaussianColorDenoising_Restormer.yml [--auto_resume] [--set key=value ...]
#
# Environment:
#   NUM_GPUS       processes per node (default: number of visible GPUs; 0 GPUs -> one CPU process)
#   TORCHRUN_ARGS  extra torchrun arguments, e.g. for two nodes (run on each node, node_rank 0 and 1):
#                  TORCHRUN_ARGS="--nnodes=2 --node_rank=0 --master_addr=10.0.0.1 --master_port=29500"
#   PYTHON         interpreter (default: python)
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OPTIONS.yml [extra arguments for basicsr/train.py]" >&2
  exit 2
fi
CONFIG="$1"
shift
PYTHON="${PYTHON:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ -z "${NUM_GPUS:-}" ]; then
  NUM_GPUS="$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')"
fi

if [ "$NUM_GPUS" -le 1 ] && [ -z "${TORCHRUN_ARGS:-}" ]; then
  # One GPU or none: a plain process (torch.distributed is not used at all).
  exec "$PYTHON" "$HERE/basicsr/train.py" -opt "$CONFIG" --launcher none "$@"
fi

if [ -z "${TORCHRUN_ARGS:-}" ]; then
  TORCHRUN_ARGS="--standalone"
fi
# shellcheck disable=SC2086
exec "$PYTHON" -m torch.distributed.run $TORCHRUN_ARGS --nproc_per_node="$NUM_GPUS" \
  "$HERE/basicsr/train.py" -opt "$CONFIG" --launcher pytorch "$@"
