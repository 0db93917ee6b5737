#!/usr/bin/env bash
# Train with one option file on all visible GPUs (torchrun), or in one process without GPUs.
#
#   ./train.sh Denoising/Options/GaussianColorDenoising_Restormer.yml [--auto_resume] [--set key=value ...]
#
# Environment:
#   NUM_GPUS       processes per node (default: number of visible GPUs; 0 GPUs -> one CPU process)
#   TORCHRUN_ARGS  extra torchrun arguments, e.g. for two nodes (run on each node, node_rank 0 and 1):
#                  TORCHRUN_ARGS="--nnodes=2 --node_rank=0 --master_addr=10.0.0.1 --master_port=29500"
#   PYTHON         interpreter (default: python, else python3)
#
# Runs from the repository root (the option files' relative paths are relative to it), whatever the
# current folder.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OPTIONS.yml [extra arguments for basicsr/train.py]" >&2
  exit 2
fi
if [ ! -f "$1" ]; then
  echo "option file not found: $1" >&2
  exit 2
fi
CONFIG="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
if [ -z "${PYTHON:-}" ]; then
  if command -v python >/dev/null 2>&1; then PYTHON=python; else PYTHON=python3; fi
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

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
