"""``yolopose track``: pose tracking on a video file, camera, stream URL or image folder."""
from __future__ import annotations

import json
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Optional

import click

from ..core.cli import postprocess_options
from ._options import backend_option
from ..core.ops.select import PostprocessSettings
from ..core.settings import option_of

#: tracking keeps low scores on purpose: they extend existing tracks through occlusions
TRACK_POSTPROCESS = PostprocessSettings(conf=0.1)
CONF_OPTION = option_of(PostprocessSettings, "conf").but(
    help="Detector threshold. Low scores are kept on purpose: they extend existing tracks through occlusions.")

__all__ = ["track"]


@click.command("track")
@click.argument("source", type=str)
@click.option("--model", "-m", type=click.Path(path_type=str), default=None, help="Model file (.onnx, .xml, .tflite) or folder. Default: the bundled model.")
@backend_option()
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, tensorrt (onnxruntime); gpu, npu, auto (OpenVINO).")
@postprocess_options(defaults=TRACK_POSTPROCESS, overrides={"conf": CONF_OPTION})
@click.option("--track-conf", default=0.5, show_default=True, type=click.FloatRange(0, 1), help="Least score to start a new track.")
@click.option("--threads", default=None, type=click.IntRange(1), help="Engine threads (default: the engine's choice).")
@click.option("--save", "save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the annotated video here (.mp4, .avi, .mkv, .mov) with ids and FPS.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per frame to stdout: frame, time, people (id, box, score, keypoints).")
@click.option("--stride", default=1, show_default=True, type=click.IntRange(1), help="Process one frame in STRIDE.")
@click.option("--realtime/--no-realtime", default=None,
              help="Drop frames to keep up with the source. Default: on for cameras and URLs, off for files.")
@click.option("--max-frames", default=None, type=click.IntRange(0), help="Stop after this many frames.")
@click.option("--smooth/--no-smooth", default=True, show_default=True, help="Smooth keypoints (One Euro) and boxes (Kalman).")
@click.option("--memory", default=2.0, show_default=True, type=click.FloatRange(0), help="Seconds a lost person is remembered, to keep their id when they come back.")
@click.option("--fps", "folder_fps", default=30.0, show_default=True, type=click.FloatRange(0, min_open=True), help="Frame rate of an image-folder source.")
def track(
    source: str,
    model: Optional[str],
    backend: str,
    device: str,
    postprocess: PostprocessSettings,
    track_conf: float,
    threads: Optional[int],
    save: Optional[Path],
    as_json: bool,
    stride: int,
    realtime: Optional[bool],
    max_frames: Optional[int],
    smooth: bool,
    memory: float,
    folder_fps: float,
) -> None:
    """Track people and their keypoints in SOURCE: a video file, a camera index (0), an RTSP/HTTP URL,
    or a folder of images. Each person keeps one id while in view and for --memory seconds after.

    A frame that cannot be decoded is skipped with a warning naming it (and a JSON line with an
    "error" key under --json); a file that ends before the frame count its header announces is
    reported and the exit code is 1."""
    from yolopose._demo_notice import DEMO_NOTICE
    from yolopose._progress import progress_bar
    from yolopose.core.errors import YoloPoseError
    from yolopose.estimator import PoseEstimator
    from yolopose.tracking import PoseTracker
    from yolopose.video import FpsMeter, FrameError, VideoSource, VideoWriter, draw_fps, predict_frames

    writer = None
    frames = people = 0
    lost = []  # FrameError markers: undecodable frames, and the end of a file that stops early
    ids = set()
    started = time.perf_counter()
    meter = FpsMeter()
    try:
        est = PoseEstimator(model, backend=backend, device=device, threads=threads, postprocess=postprocess)
        notice_due = model is None  # a video or camera is never one of the bundled sample images
        tracker = PoseTracker(high_conf=max(track_conf, postprocess.conf), low_conf=postprocess.conf, memory=memory, smooth=smooth)
        with VideoSource(source, stride=stride, realtime=realtime, max_frames=max_frames, fps=folder_fps) as src:
            if save is not None:
                writer = VideoWriter(save, fps=src.fps / stride if not src.realtime else src.fps)
            # the next frames are decoded and preprocessed in a pipeline thread while the engine runs
            ahead = 1 if src.is_live and src.realtime else 2
            with progress_bar(src.expected_frames, desc="track", unit="frame") as bar, \
                    closing(predict_frames(est, src, ahead)) as results:
                for frame, poses in results:
                    if isinstance(frame, FrameError):
                        lost.append(frame)
                        click.echo(f"\nwarning: {frame.message}", err=True)
                        if as_json:
                            click.echo(json.dumps({"frame": frame.index, "time": round(frame.timestamp, 4), "people": [],
                                                   "error": frame.message}, separators=(",", ":")))
                        bar.update(frame.missing if frame.kind == "ended" else 1)
                        continue
                    if notice_due:  # said once a frame was read: not for a source that does not open
                        click.echo(DEMO_NOTICE, err=True)
                        notice_due = False
                    result = tracker.update(poses, timestamp=frame.timestamp, image_size=frame.image.shape[:2])
                    fps = meter.tick()
                    frames += 1
                    people += len(result)
                    ids.update(int(i) for i in result.ids)
                    if as_json:
                        line = {"frame": frame.index, "time": round(frame.timestamp, 4), "people": result.to_records()}
                        click.echo(json.dumps(line, separators=(",", ":")))
                    if writer is not None:
                        canvas = result.draw(frame.image)
                        writer.write(draw_fps(canvas, fps, f"{fps:.1f} FPS  {len(result)} people"))
                    bar.update(1)
                    if frames % 10 == 0:
                        bar.describe(f"track {fps:.1f} FPS")
        if writer is not None:
            writer.close()
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
        if writer is not None and writer.frames:
            writer.close()  # keep what was processed
    except YoloPoseError as exc:
        if writer is not None:
            writer.abort()
        raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    summary = f"{frames} frames, {len(ids)} people tracked ({people} detections kept), {frames / elapsed if elapsed > 0 else 0:.1f} FPS overall"
    if writer is not None and writer.frames:
        summary += f"; video written to {save}"
    bad = [f for f in lost if f.kind != "ended"]
    if bad:
        summary += f"; {len(bad)} frame(s) could not be decoded (frame {', '.join(str(f.index) for f in bad[:5])}{' ...' if len(bad) > 5 else ''})"
    click.echo(summary, err=True)
    sys.stderr.flush()
    ended = [f for f in lost if f.kind == "ended"]
    if ended:  # frames the file announced are missing from the output: not a success
        raise click.ClickException(ended[0].message)
