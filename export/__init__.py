"""Export of trained YOLO-Pose models to ONNX, OpenVINO IR and TFLite (needs torch)."""
