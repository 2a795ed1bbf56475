#!/usr/bin/env bash
# One GPU: train LMEraser on CIFAR-100 with the ViT-B/16 (ImageNet-22k) backbone, then erase a request.
# Backbone weights: either timm's hub (needs network once) or a local file checked against its md5:
#   --checkpoint models/checkpoints/vit_base_p16_224_in22k.pth   (md5 b3563fde27a47c2017e78044a0a72748 known)
set -euo pipefail
DATA=${DATA:-data}
OUT=${OUT:-runs/lmeraser-cifar100-vitb22k}
mkdir -p "$OUT"
lmeraser train --data cifar100 --data-root "$DATA" --model vit-b-22k \
  --epochs 50 --batch-size 128 --lr 0.5 --distance-threshold "${THRESHOLD:-20}" --prompt-size 30 \
  --seed 0 --device cuda --out "$OUT/lm.pt" "$@"
# erase: an index file (one training-set id per line) or a forget request written by `unlearnkit request ...`
if [[ -n "${IDS:-}" ]]; then
  lmeraser erase --checkpoint "$OUT/lm.pt" --request "$IDS" --ignore-public --device cuda --out "$OUT/lm-erased.pt"
fi
