"""Minimal image inference: find people and their keypoints, print them, save a drawing.

    python examples/01_predict_image.py people.jpg [--model model.onnx] [--out drawn.jpg]
"""
import argparse

from yolopose import PoseEstimator

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("image")
parser.add_argument("--model", default=None, help="model file (default: the bundled model)")
parser.add_argument("--out", default="drawn.jpg", help="where to save the drawing")
args = parser.parse_args()

estimator = PoseEstimator(args.model)                   # picks the engine from the file and what is installed
poses = estimator.predict(args.image)                   # path, PIL image or HxWx3 uint8 RGB array
for box, score, keypoints in zip(poses.boxes, poses.scores, poses.keypoints):
    print(f"person {score:.2f} box {[round(float(v)) for v in box]} nose {[round(float(v), 2) for v in keypoints[0]]}")
poses.draw(args.image).save(args.out)                   # skeletons + keypoints coloured by confidence
print(f"{len(poses)} people; drawing saved to {args.out}")
