"""Webcam / RTSP / video-file pose tracking with stable ids and an FPS overlay.

    python examples/02_video_tracking.py 0                                  # first camera
    python examples/02_video_tracking.py rtsp://user:pass@192.168.1.20/stream --stride 2
    python examples/02_video_tracking.py walk.mp4 --save tracked.mp4 --model model.onnx

Needs ``pip install "yolopose[video]"`` (OpenCV) for cameras, URLs and video files; a folder of
images works without it. Live sources drop stale frames so the output stays real time.
Press Ctrl-C to stop; the video written so far is kept.
"""
from __future__ import annotations

import argparse
import time

from yolopose import PoseEstimator
from yolopose.tracking import PoseTracker
from yolopose.video import FpsMeter, VideoSource, VideoWriter, draw_fps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="camera index, RTSP/HTTP URL, video file or image folder")
    p.add_argument("--model", default=None, help="model file (default: the bundled model)")
    p.add_argument("--save", default=None, help="write the annotated video here (.mp4/.avi/.mkv)")
    p.add_argument("--stride", type=int, default=1, help="process one frame in STRIDE")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--conf", type=float, default=0.1, help="detector threshold (low: tracks survive occlusion)")
    args = p.parse_args()

    estimator = PoseEstimator(args.model, conf=args.conf)
    tracker = PoseTracker()  # Kalman boxes + OKS/IoU matching + One Euro keypoint smoothing
    meter = FpsMeter()
    writer = None
    seen = set()
    try:
        with VideoSource(args.source, stride=args.stride, max_frames=args.max_frames) as video:
            print(f"reading {video}")
            if args.save:
                writer = VideoWriter(args.save, fps=video.fps / args.stride)
            for frame in video:
                start = time.perf_counter()
                people = tracker.update(estimator.predict(frame.image), timestamp=frame.timestamp,
                                        image_size=frame.image.shape[:2])
                fps = meter.tick()
                seen.update(people.ids.tolist())
                print(f"frame {frame.index:5d}  ids {people.ids.tolist()}  "
                      f"{1000 * (time.perf_counter() - start):.1f} ms  {fps:.1f} FPS")
                if writer is not None:
                    drawn = people.draw(frame.image)  # skeletons, boxes and "#id" labels
                    writer.write(draw_fps(drawn, fps))
    except KeyboardInterrupt:
        print("stopped")
    finally:
        if writer is not None and writer.frames:
            print(f"annotated video: {writer.close()}")
    print(f"{len(seen)} different people seen")


if __name__ == "__main__":
    main()
