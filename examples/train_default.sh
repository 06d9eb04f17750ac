#!/usr/bin/env bash
# Proof that the pipeline learns: generate the synthetic dataset, train the default edge model
# on it, validate (COCO keypoint OKS AP with pycocotools) and write the results table + plot.
#
# Stage 1 trains from scratch (RUN_DIR/train) with the recipe that benchmarks/train_synthetic.py
# race measures against the peer; an optional stage 2 (FT_EPOCHS > 0) fine-tunes its best
# checkpoint with a fresh cosine schedule (RUN_DIR/finetune). The final weights are
# RUN_DIR/finetune/best.pt, or RUN_DIR/train/best.pt without stage 2.
#
#   bash examples/train_default.sh [RUN_DIR]           # default RUN_DIR: runs/default
#
# Every setting can be overridden from the environment, e.g. EPOCHS=60 IMGSZ=320 bash ...
# The defaults are those of the run reported in docs/results/train_default.md.
# On a GPU add DEVICE=0; for several GPUs use torchrun (see `yolopose-train train --help`).
set -euo pipefail

RUN_DIR=${1:-runs/default}
MODEL=${MODEL:-yolov5n-pose-dense} # SiLU + Focus, keypoint branch of two 3x3 convs: learns keypoints
                                  # faster than the depthwise branch (docs/training.md)
IMGSZ=${IMGSZ:-256}
TRAIN_IMAGES=${TRAIN_IMAGES:-2400}
VAL_IMAGES=${VAL_IMAGES:-200}
EPOCHS=${EPOCHS:-60}
CLOSE_MOSAIC=${CLOSE_MOSAIC:-10}  # the last epochs without mosaic
BATCH=${BATCH:-16}
NBS=${NBS:-16}                    # nominal batch = batch: one optimizer step per batch
OPTIMIZER=${OPTIMIZER:-adamw}     # AdamW converges faster than SGD on a short CPU run from scratch
                                  # (biases warm down from lr 0.1 during warmup, as with SGD)
LR0=${LR0:-0.002}
LRF=${LRF:-0.01}                  # final lr = LR0 * LRF (cosine; 0.01 anneals a short run further than 0.2)
WARMUP_EPOCHS=${WARMUP_EPOCHS:-1}
VAL_INTERVAL=${VAL_INTERVAL:-5}
WORKERS=${WORKERS:-2}
DEVICE=${DEVICE:-}
SEED=${SEED:-0}
# loss/augmentation overrides (JSON): objectness weight 6.25, i.e. YOLOv5's (imgsz/640)^2 scaling
# undone at 256 px (1.0 after scaling), lighter mosaic and scale jitter for a short schedule. The
# keypoint-confidence weight is the authors' code's (0.5 scaled like cls: 0.00625), by default.
HYP=${HYP:-'{"obj": 6.25, "mosaic": 0.5, "scale": 0.3}'}
DATA=${DATA:-$RUN_DIR/synth}
# stage 2
FT_EPOCHS=${FT_EPOCHS:-0}
FT_LR0=${FT_LR0:-0.0015}
FT_SEED=${FT_SEED:-1}
FT_HYP=${FT_HYP:-'{"obj": 6.25, "mosaic": 0.3, "scale": 0.3}'}

mkdir -p "$RUN_DIR"
if [ ! -f "$DATA/data.yaml" ]; then
  yolopose-train synth --out "$DATA" --train "$TRAIN_IMAGES" --val "$VAL_IMAGES" --imgsz "$IMGSZ" --seed "$SEED" --workers "$WORKERS"
fi

START=$(date +%s)
if [ ! -f "$RUN_DIR/train/best.pt" ]; then
  yolopose-train train --data "$DATA" --model "$MODEL" --imgsz "$IMGSZ" --epochs "$EPOCHS" --batch "$BATCH" \
    --optimizer "$OPTIMIZER" --lr0 "$LR0" --lrf "$LRF" --warmup-epochs "$WARMUP_EPOCHS" --val-interval "$VAL_INTERVAL" --workers "$WORKERS" \
    --nbs "$NBS" --seed "$SEED" --hyp "$HYP" --close-mosaic "$CLOSE_MOSAIC" --out "$RUN_DIR/train" ${DEVICE:+--device "$DEVICE"}
fi
FINAL="$RUN_DIR/train/best.pt"
if [ "$FT_EPOCHS" -gt 0 ]; then
  yolopose-train train --data "$DATA" --weights "$RUN_DIR/train/best.pt" --imgsz "$IMGSZ" --epochs "$FT_EPOCHS" --batch "$BATCH" \
    --optimizer "$OPTIMIZER" --lr0 "$FT_LR0" --warmup-epochs "$WARMUP_EPOCHS" --val-interval "$VAL_INTERVAL" --workers "$WORKERS" \
    --nbs "$NBS" --seed "$FT_SEED" --hyp "$FT_HYP" --out "$RUN_DIR/finetune" ${DEVICE:+--device "$DEVICE"}
  FINAL="$RUN_DIR/finetune/best.pt"
fi
END=$(date +%s)

yolopose-train val --data "$DATA" --weights "$FINAL" --workers "$WORKERS" \
  ${DEVICE:+--device "$DEVICE"} --metrics-json "$RUN_DIR/val_metrics.json"

python "$(dirname "$0")/../benchmarks/train_synthetic.py" report --run "$RUN_DIR"
