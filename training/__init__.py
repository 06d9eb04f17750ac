"""Training, quantization-aware fine-tuning and validation of YOLO-Pose models (needs torch)."""
