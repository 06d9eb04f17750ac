"""The authors' published YOLO-Pose checkpoints and the accuracy they report for them.

Figures are COCO val2017 keypoint AP / AP50 (%) and GMACs as printed in the README of
TexasInstruments edgeai-yolov5, branch ``yolo-pose`` (the paper, arXiv 2204.06806, Table 1, has
the same s6/m6/l6 numbers). They are the authors' claims, carried into the metadata so a user
knows what the checkpoint should reach; yolopose has not measured them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

__all__ = ["PaperEntry", "PAPER_CHECKPOINTS", "paper_entry", "published_sizes", "guess_imgsz"]

_BASE_URL = "http://software-dl.ti.com/jacinto7/esd/modelzoo/gplv3/08_02_00_11/edgeai-yolov5/pretrained_models/checkpoints/keypoint/coco/edgeai-yolov5"


@dataclass(frozen=True)
class PaperEntry:
    """One published checkpoint: its README name, the registry base it matches, its variant and
    input size, and the reported COCO val2017 keypoint AP, AP50 and GMACs."""

    name: str
    base: str
    variant: str  # "standard" or "ti_lite"
    imgsz: int
    ap: float
    ap50: float
    gmacs: float
    url: str

    def as_dict(self) -> Dict[str, object]:
        d = asdict(self)
        d["reported_by"] = "the authors (edgeai-yolov5 README, yolo-pose branch); not measured by yolopose"
        return d


PAPER_CHECKPOINTS: Tuple[PaperEntry, ...] = (
    PaperEntry("Yolov5s6_pose_640", "yolov5s6-pose", "standard", 640, 57.5, 84.3, 10.2,
               f"{_BASE_URL}/other/best_models/yolov5s6_640_60p7_85p3_kpts_head_6x_dwconv_3x3_lr_0p01/weights/last.pt"),
    PaperEntry("Yolov5s6_pose_960", "yolov5s6-pose", "standard", 960, 63.7, 87.6, 22.8,
               f"{_BASE_URL}/other/best_models/yolov5s6_960_64p8_87p4_kpts_head_6x_dwconv_3x3_lr_0p01/weights/last.pt"),
    PaperEntry("Yolov5m6_pose_960", "yolov5m6-pose", "standard", 960, 67.4, 89.1, 66.3,
               f"{_BASE_URL}/other/best_models/yolov5m6_960_67p8_89p3_kpts_head_6x_dwconv_3x3_lr_0p01/weights/last.pt"),
    PaperEntry("Yolov5l6_pose_960", "yolov5l6-pose", "standard", 960, 69.4, 90.2, 145.6,
               f"{_BASE_URL}/other/best_models/yolov5l6_960_69p6_90p1_kpts_head_6x_dwconv_3x3_lr_0p01/weights/last.pt"),
    PaperEntry("Yolov5s6_pose_640_ti_lite", "yolov5s6-pose", "ti_lite", 640, 54.9, 82.2, 8.6,
               f"{_BASE_URL}/yolov5s6_640_ti_lite_54p9_82p2/weights/last.pt"),
    PaperEntry("Yolov5s6_pose_960_ti_lite", "yolov5s6-pose", "ti_lite", 960, 59.7, 85.6, 19.3,
               f"{_BASE_URL}/yolov5s6_960_ti_lite_59p7_85p6/weights/last.pt"),
    PaperEntry("Yolov5s6_pose_1280_ti_lite", "yolov5s6-pose", "ti_lite", 1280, 60.9, 85.9, 34.4,
               f"{_BASE_URL}/yolov5s6_1280_ti_lite_60p9_85p9/weights/last.pt"),
    PaperEntry("Yolov5m6_pose_640_ti_lite", "yolov5m6-pose", "ti_lite", 640, 60.5, 86.8, 26.1,
               f"{_BASE_URL}/yolov5m6_640_ti_lite_60p5_86p8/weights/best.pt"),
    PaperEntry("Yolov5m6_pose_960_ti_lite", "yolov5m6-pose", "ti_lite", 960, 65.9, 88.6, 58.7,
               f"{_BASE_URL}/yolov5m6_960_ti_lite_65p9_88p6/weights/last.pt"),
)


def paper_entry(base: Optional[str], variant: str, imgsz: Optional[int]) -> Optional[PaperEntry]:
    """The published checkpoint with this registry base, variant and input size, if any."""
    for entry in PAPER_CHECKPOINTS:
        if entry.base == base and entry.variant == variant and entry.imgsz == imgsz:
            return entry
    return None


def published_sizes(base: Optional[str], variant: str) -> List[int]:
    """The input sizes the authors published checkpoints of this registry base and variant at."""
    return sorted({e.imgsz for e in PAPER_CHECKPOINTS if e.base == base and e.variant == variant})


def guess_imgsz(path: Path) -> Optional[int]:
    """The input size named in a checkpoint's file or folder name (``..._640...``, ``yolov5s6_960_...``)."""
    sizes: List[int] = []
    for part in (path.name, *(p.name for p in path.parents)):
        sizes += [int(s) for s in re.findall(r"(?<![0-9])(384|512|640|768|960|1280)(?![0-9])", part)]
        if sizes:
            return sizes[0]
    return None
