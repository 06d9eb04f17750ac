#!/usr/bin/env bash
# Build the model bundled with the package (yolopose/assets) from nothing but this repository:
#   1. synthetic data + training (examples/train_default.sh),
#   2. quantization-aware fine-tuning (int8 recipe 'mixed': the head and its input layers in float),
#   3. export: int8 TFLite from the QAT checkpoint, fp32 ONNX from the trained one,
#   4. copy both (and a few held-out sample images with their ground truth) into sdk/assets,
#   5. measure them through the SDK: COCO keypoint AP (`yolopose eval`) on the validation split and on
#      the validation splits of unseen seeds (EVAL_SEEDS), and latency (`yolopose bench`).
#
#   bash examples/build_default_model.sh [RUN_DIR]       # default RUN_DIR: runs/default
#
# The model is trained on synthetic figures, NOT on COCO; its metadata says so.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
RUN_DIR=${1:-runs/default}
DATA=${DATA:-$RUN_DIR/synth}
SEED=${SEED:-0}                  # seed of the training set (train_default.sh)
EVAL_SEEDS=${EVAL_SEEDS:-"21 22"} # held-out sets: rendered with seeds the model never saw
EVAL_IMAGES=${EVAL_IMAGES:-300}
QAT_EPOCHS=${QAT_EPOCHS:-1}      # under the default int8 recipe (mixed: head in float) one epoch keeps the fp32 AP (docs/int8.md)
QAT_STEPS=${QAT_STEPS:-150}      # optimizer steps per QAT epoch (one pass over the 2,400 images at batch 16)
QAT_LR=${QAT_LR:-0.001}
HYP=${HYP:-'{"obj": 6.25, "mosaic": 0.3, "scale": 0.3}'}
ASSETS="$REPO/sdk/assets"
RESULTS="$REPO/docs/results"
TRAINED_ON="yolopose synthetic figures (yolopose-train synth, seed $SEED), NOT COCO: not expected to work on photographs"

# 1. train (both stages; skipped when the final checkpoint is already there)
if [ ! -f "$RUN_DIR/val_metrics.json" ]; then
  DATA="$DATA" SEED="$SEED" bash "$HERE/train_default.sh" "$RUN_DIR"
fi
WEIGHTS="$RUN_DIR/finetune/best.pt"
[ -f "$WEIGHTS" ] || WEIGHTS="$RUN_DIR/train/best.pt"

# 2. QAT fine-tune
yolopose-train qat --weights "$WEIGHTS" --data "$DATA" --epochs "$QAT_EPOCHS" --max-steps "$QAT_STEPS" --lr "$QAT_LR" \
  --hyp "$HYP" --out "$RUN_DIR/qat/qat.pt"

# 3. export (each artifact is verified against torch by the exporter)
yolopose-export "$RUN_DIR/qat/qat.pt" --format tflite --int8 --qat --calib "$DATA" --out "$RUN_DIR/export" \
  --trained-on "$TRAINED_ON"
yolopose-export "$WEIGHTS" --format onnx --out "$RUN_DIR/export" --trained-on "$TRAINED_ON"

# 4. bundle
cp "$(ls "$RUN_DIR"/export/*int8-qat*.tflite | head -n 1)" "$ASSETS/default_int8.tflite"
cp "$(ls "$RUN_DIR"/export/*fp32.onnx | head -n 1)" "$ASSETS/default_fp32.onnx"
python "$REPO/benchmarks/default_model.py" samples --data "$DATA" --out "$ASSETS/samples" --count 3 --max-people 3 --min-height 90

# 5. measure through the SDK
mkdir -p "$RESULTS"
VAL_JSON="$DATA/annotations/person_keypoints_val.json"
for model in default_int8.tflite default_fp32.onnx; do
  yolopose eval "$ASSETS/$model" --data "$VAL_JSON" --images "$DATA/images/val" \
    --metrics "$RUN_DIR/eval_${model%%.*}.json" --no-progress
done
for seed in $EVAL_SEEDS; do
  HELD="$RUN_DIR/heldout$seed"
  [ -f "$HELD/data.yaml" ] || yolopose-train synth --out "$HELD" --train 0 --val "$EVAL_IMAGES" --imgsz 256 --seed "$seed" --preview 0
  for model in default_int8.tflite default_fp32.onnx; do
    yolopose eval "$ASSETS/$model" --data "$HELD/annotations/person_keypoints_val.json" --images "$HELD/images/val" \
      --metrics "$RUN_DIR/eval_${model%%.*}_seed$seed.json" --no-progress
  done
done
yolopose bench "$ASSETS/default_fp32.onnx" "$ASSETS/default_int8.tflite" --threads 2 --runs 100 \
  --json "$RUN_DIR/bench_default.json" --plot "$RESULTS/default_model_bench.png" --no-progress
yolopose predict "$ASSETS/samples/" --save-dir "$RUN_DIR/quickstart"
python "$REPO/benchmarks/default_model.py" report --run "$RUN_DIR" --out "$RESULTS/default_model.md" --seeds "$EVAL_SEEDS"
