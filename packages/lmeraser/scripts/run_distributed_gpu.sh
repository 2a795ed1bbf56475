#!/usr/bin/env bash
# Several GPUs on one node: clusters are sharded across ranks (each cluster trained by exactly one rank,
# results broadcast to all), so the result equals the one-GPU run. One process per GPU via torchrun.
set -euo pipefail
NGPUS=${NGPUS:-$(nvidia-smi -L | wc -l)}
DATA=${DATA:-data}
OUT=${OUT:-runs/lmeraser-cifar100-vitb22k-ddp}
mkdir -p "$OUT"
torchrun --standalone --nproc-per-node "$NGPUS" -m unlearnkit.lmeraser.cli train \
  --num-gpus "$NGPUS" --data cifar100 --data-root "$DATA" --model vit-b-22k \
  --epochs 50 --batch-size 128 --lr 0.5 --distance-threshold "${THRESHOLD:-20}" --seed 0 \
  --out "$OUT/lm.pt" "$@"
if [[ -n "${IDS:-}" ]]; then
  torchrun --standalone --nproc-per-node "$NGPUS" -m unlearnkit.lmeraser.cli erase --checkpoint "$OUT/lm.pt" \
    --num-gpus "$NGPUS" --request "$IDS" --ignore-public --out "$OUT/lm-erased.pt"
fi
