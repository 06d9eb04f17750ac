"""How much can one split tell? A paired bootstrap over images of AP(other) / AP(base).

    yolopose eval fp32.onnx --data val.json --images val/ --json fp32.json
    yolopose eval int8.tflite --data val.json --images val/ --json int8.json
    python benchmarks/ap_ratio.py --data val.json --base fp32.json --other int8.json [--resamples 100]

Both result sets are scored on the same resampled images (drawn with replacement; each copy becomes
a new image), so what the two models share (which images are hard) cancels out, and the interval
says which ratios this split can tell apart, e.g. whether an int8 model is "within 1% of fp32" on
it. Prints AP of both, their ratio, its 95% interval and standard deviation; ``--json`` writes them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from yolopose.core import evaluation
from yolopose.core.errors import ConfigError, DatasetError, YoloPoseError
from yolopose.core.fileio import atomic_write_text

Results = List[Dict[str, Any]]


def read_results(path: Path) -> Results:
    """A COCO results file (a JSON list, as ``yolopose eval --json`` writes it)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: results file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, list):
        raise DatasetError(f"{path}: COCO results must be a JSON list of detections")
    return data


def paired_ratio(gt: Any, base: Results, other: Results, resamples: int = 100, seed: int = 0, metric: str = "AP",
                 backend: str = "auto", names: Tuple[str, str] = ("base", "other")) -> Dict[str, Any]:
    """``metric(other) / metric(base)`` on the whole split and its paired-bootstrap spread.
    ``gt``: a COCO keypoint JSON path or dict; ``names`` label the result sets in errors.

    Each result set is matched against the ground truth once, image by image
    (:func:`yolopose.core.evaluation.evaluate_per_image`); a resample only re-accumulates the drawn
    images, the same ones for both sets (:func:`bootstrap_ratio`)."""
    gt = evaluation.load_ground_truth(gt)
    iou_types = ("bbox",) if metric.startswith("box_") else ("keypoints",)
    evals = []
    for name, results in zip(names, (base, other)):
        try:
            evals.append(evaluation.evaluate_per_image(gt, results, iou_types, backend=backend))
        except ConfigError as exc:
            raise DatasetError(f"{name}: {exc}") from None
    return bootstrap_ratio(evals[0], evals[1], resamples, seed, metric)


def bootstrap_ratio(base: "evaluation.ImageEvaluation", other: "evaluation.ImageEvaluation", resamples: int = 100,
                    seed: int = 0, metric: str = "AP") -> Dict[str, Any]:
    """:func:`paired_ratio` of two result sets already matched image by image (one evaluation of
    a set serves every comparison it takes part in)."""
    full = [ev.metrics()[metric] for ev in (base, other)]
    if full[0] <= 0:
        raise DatasetError(f"the base model's {metric} is {full[0]}: no ratio to take")
    n = len(base.image_ids)
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(resamples):
        drawn = rng.integers(0, n, n)
        b_ap = base.metrics(drawn)[metric]
        if b_ap > 0:
            ratios.append(other.metrics(drawn)[metric] / b_ap)
    r = np.asarray(ratios)
    return {"metric": metric, "images": n, "resamples": len(r), "base": full[0], "other": full[1],
            "ratio": full[1] / full[0], "low": float(np.percentile(r, 2.5)), "high": float(np.percentile(r, 97.5)),
            "sd": float(r.std())}


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--data", required=True, type=Path, help="COCO keypoint ground truth (JSON)")
    parser.add_argument("--base", required=True, type=Path, help="results of the reference model (e.g. fp32)")
    parser.add_argument("--other", required=True, type=Path, help="results of the model to compare (e.g. int8)")
    parser.add_argument("--resamples", type=int, default=100, help="bootstrap resamples (default 100)")
    parser.add_argument("--metric", default="AP", help="metric to compare: AP, AP50, box_AP, ... (default AP)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(list(argv) or None)
    if args.resamples < 10:
        parser.error("--resamples must be at least 10")
    try:
        base, other = read_results(args.base), read_results(args.other)
        out = paired_ratio(args.data, base, other, args.resamples, args.seed, args.metric,
                           names=(str(args.base), str(args.other)))
    except YoloPoseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError:
        print(f"error: unknown metric {args.metric!r}; e.g. AP, AP50, AP75, box_AP", file=sys.stderr)
        return 2
    print(f"{args.other.name} / {args.base.name} on {out['images']} images of {args.data}: {out['metric']} "
          f"{out['other']:.4f} / {out['base']:.4f} = {out['ratio']:.1%}; paired bootstrap ({out['resamples']} resamples): "
          f"95% interval [{out['low']:.1%}, {out['high']:.1%}], sd {out['sd']:.1%}")
    if args.json:
        atomic_write_text(args.json, json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
