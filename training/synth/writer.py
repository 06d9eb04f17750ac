"""Write a synthetic dataset to disk: JPEG images, COCO keypoint JSON, data.yaml and a preview."""
from __future__ import annotations

import io
import json
import multiprocessing as mp
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from yolopose.core.fileio import atomic_path, atomic_write_bytes, atomic_write_text
from yolopose.core.keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON

from .preview import preview_grid
from .scene import render_scene

__all__ = ["write_dataset", "coco_categories", "SPLITS"]

#: split name -> id mixed into every image's seed (train and val never share an image).
SPLITS: Dict[str, int] = {"train": 0, "val": 1}


def coco_categories() -> List[Dict[str, Any]]:
    """The COCO ``categories`` entry for people (1-based skeleton, as COCO writes it)."""
    return [{
        "id": 1, "name": "person", "supercategory": "person",
        "keypoints": list(COCO_KEYPOINT_NAMES),
        "skeleton": [[a + 1, b + 1] for a, b in COCO_SKELETON],
    }]


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image: depends only on (seed, split, index), not on the process."""
    return np.random.default_rng([int(seed), SPLITS[split], int(index)])


def _render_one(job: Tuple[str, int, int, int, str]) -> Tuple[int, str, int, int, List[Dict[str, Any]]]:
    split, index, seed, imgsz, folder = job
    rng = image_rng(seed, split, index)
    image, anns = render_scene(rng, imgsz)
    name = f"{index + 1:06d}.jpg"
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=int(rng.integers(70, 96)))
    atomic_write_bytes(Path(folder) / name, buf.getvalue())
    plain = [{
        "bbox": [round(float(v), 2) for v in a["bbox"]],
        "area": float(a["area"]),
        "keypoints": [round(float(v), 2) for v in np.asarray(a["keypoints"]).ravel()],
        "num_keypoints": int(a["num_keypoints"]),
    } for a in anns]
    return index, name, image.shape[0], image.shape[1], plain


def _coco_json(results: List[Tuple[int, str, int, int, List[Dict[str, Any]]]], split: str, seed: int) -> Dict[str, Any]:
    images, annotations = [], []
    for index, name, h, w, anns in sorted(results):
        image_id = index + 1
        images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        for a in anns:
            kp = a["keypoints"]
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                "bbox": a["bbox"], "area": a["area"],
                "keypoints": [int(v) if i % 3 == 2 else v for i, v in enumerate(kp)],
                "num_keypoints": a["num_keypoints"],
            })
    return {
        "info": {"description": f"yolopose synthetic people ({split}, seed {seed})", "version": "1"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": coco_categories(),
    }


def _data_yaml() -> str:
    flip = ", ".join(str(i) for i in COCO_FLIP_INDEX)
    return (
        "# written by yolopose-train synth; paths are relative to this file's folder\n"
        "path: .\n"
        "train: annotations/person_keypoints_train.json\n"
        "train_images: images/train\n"
        "val: annotations/person_keypoints_val.json\n"
        "val_images: images/val\n"
        "kpt_shape: [17, 3]\n"
        f"flip_idx: [{flip}]\n"
        "names:\n  0: person\n"
    )


def write_dataset(
    out: Path,
    train: int,
    val: int,
    imgsz: int = 320,
    seed: int = 0,
    workers: int = 1,
    preview: int = 16,
    progress: Optional[Callable[[int], None]] = None,
) -> Dict[str, Any]:
    """Render ``train`` + ``val`` images into ``out`` and return a summary dict.

    ``progress(n)`` is called after every ``n`` finished images (e.g. a tqdm ``update``).
    The result depends only on ``seed`` and ``imgsz``, not on ``workers``.
    """
    out = Path(out)
    summary: Dict[str, Any] = {"out": str(out), "splits": {}}
    pool = mp.get_context("spawn").Pool(workers) if workers > 1 else None
    try:
        for split, count in (("train", train), ("val", val)):
            folder = out / "images" / split
            folder.mkdir(parents=True, exist_ok=True)
            jobs = [(split, i, seed, imgsz, str(folder)) for i in range(count)]
            results = []
            mapper = pool.imap_unordered(_render_one, jobs, chunksize=8) if pool else map(_render_one, jobs)
            for res in mapper:
                results.append(res)
                if progress is not None:
                    progress(1)
            coco = _coco_json(results, split, seed)
            path = out / "annotations" / f"person_keypoints_{split}.json"
            atomic_write_text(path, json.dumps(coco, separators=(",", ":")))
            summary["splits"][split] = {"images": len(coco["images"]), "people": len(coco["annotations"]),
                                        "annotations": str(path)}
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    atomic_write_text(out / "data.yaml", _data_yaml())
    if preview > 0:
        samples = [render_scene(image_rng(seed, "train", i), imgsz) for i in range(min(preview, max(train, 1)))]
        grid = preview_grid(samples, cell=imgsz)
        with atomic_path(out / "preview.jpg", suffix=".jpg") as tmp:
            grid.save(tmp, format="JPEG", quality=90)
        summary["preview"] = str(out / "preview.jpg")
    return summary
