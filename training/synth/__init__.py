"""Synthetic multi-person pose data: articulated figures on cluttered backgrounds, COCO-annotated.

Python API (numpy + Pillow only):

* ``render_scene(rng, imgsz)`` -> ``(image, annotations)``: one random scene.
* ``sample_scene(rng, imgsz)`` -> :class:`Scene`; ``render(scene, rng)``: the same in two steps,
  so a caller can edit the scene (e.g. move ``scene.persons`` frame by frame for video sequences).
* :class:`PersonState` (position, height, :class:`Pose`, :class:`Appearance`, view ``yaw``,
  ``roll``, ``depth``), ``sample_person(rng, x, y, height)``, ``render_figure(image, person)``.
* :class:`Pose` joint angles with :data:`POSE_LIMITS`; ``sample_pose(rng)``,
  ``walking_pose(phase)`` and ``Pose.interpolate`` for smooth motion.
* ``write_dataset(out, train, val, imgsz, seed, workers)``: the dataset behind ``yolopose-train synth``.

A video sketch::

    rng = np.random.default_rng(0)
    scene = sample_scene(rng, 320, num_people=2)
    for t in range(30):
        people = tuple(replace(p, x=p.x + 3 * t, pose=walking_pose(0.4 * t)) for p in scene.persons)
        frame, annotations = render(replace(scene, persons=people), rng)
"""
from __future__ import annotations

from .appearance import Appearance, sample_appearance
from .background import Background, Shape
from .figure import FigureRender, PersonState, render_figure, sample_person
from .pose import POSE_LIMITS, Pose, sample_pose, walking_pose
from .scene import Effects, Scene, render, render_scene, sample_people, sample_scene
from .writer import write_dataset

__all__ = [
    "Appearance", "Background", "Effects", "FigureRender", "POSE_LIMITS", "PersonState", "Pose", "Scene",
    "Shape", "render", "render_figure", "render_scene", "sample_appearance", "sample_people", "sample_person",
    "sample_pose", "sample_scene", "walking_pose", "write_dataset",
]
