#!/usr/bin/env bash
# The prepared GPU check: every CUDA-only test, then the benchmark table on the GPU, in one run (about
# 8 minutes on an H100/H200). Everything goes to one folder (default: gpu_results/<date>):
#   bash scripts/gpu_check.sh [OUTPUT_DIR]
# CUDA tests: AMP bf16/fp16 training, channels-last, torch.compile (inductor), the CUDA prefetcher,
# the Restorer API on the GPU, NCCL when two GPUs are visible. Table: training step per progressive
# stage (fp32/bf16/fp16 x eager/compiled x checkpointing off/block) and inference at 256/512/1080p/4K,
# each against the official computation, with peak GPU memory and GFLOP/s next to a large matmul's.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu_results/$(date +%Y%m%d_%H%M%S)}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

{ nvidia-smi; "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'; } \
  > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

status=0
timeout 300 "$PYTHON" -m pytest -q -p no:cacheprovider tests/cuda tests/models/test_training_parts.py \
  tests/data/test_prefetcher.py -rs 2>&1 | tee "$OUT/cuda_tests.txt" || status=1

# compile only where it matters most (bf16, stages 1 and 6) to stay within the time budget
timeout 420 "$PYTHON" scripts/benchmark.py table --device cuda --json "$OUT/table.json" \
  --stages 1 2 3 4 5 6 --precisions fp32 bf16 fp16 --compile off --checkpointing off block \
  2>&1 | tee "$OUT/table.txt" || status=1
timeout 300 "$PYTHON" scripts/benchmark.py table --device cuda --json "$OUT/table_compiled.json" \
  --stages 1 6 --precisions bf16 --compile on --checkpointing off --inference 512 1080p \
  2>&1 | tee "$OUT/table_compiled.txt" || status=1
echo "results in $OUT"
exit $status
