#!/usr/bin/env bash
# Slurm, several nodes: `sbatch packages/lmeraser/scripts/run_sbatch.sh`. srun starts one torchrun per node;
# torchrun starts one process per GPU and rendezvous on the first node. Clusters are sharded over all ranks.
#SBATCH --job-name=lmeraser
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=04:00:00
#SBATCH --output=lmeraser-%j.out
set -euo pipefail
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
MASTER_PORT=${MASTER_PORT:-29500}
DATA=${DATA:-data}            # must be on a shared file system, prepared (downloaded) beforehand
OUT=${OUT:-runs/lmeraser-$SLURM_JOB_ID}
mkdir -p "$OUT"
srun torchrun --nnodes "$SLURM_NNODES" --nproc-per-node "$GPUS_PER_NODE" \
  --rdzv-id "$SLURM_JOB_ID" --rdzv-backend c10d --rdzv-endpoint "$MASTER_ADDR:$MASTER_PORT" \
  -m unlearnkit.lmeraser.cli train --num-gpus $((SLURM_NNODES * GPUS_PER_NODE)) \
  --data cifar100 --data-root "$DATA" --model vit-b-22k \
  --epochs 50 --batch-size 128 --lr 0.5 --distance-threshold "${THRESHOLD:-20}" --seed 0 \
  --out "$OUT/lm.pt"
