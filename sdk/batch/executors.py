"""Batch executors: where a batch job runs, in this process (``local``) or on Ray Data (``ray``).

Every executor turns work items into rows with :class:`~yolopose.batch.predictor.BatchPredictor`,
so their rows are the same; they differ only in who runs it. An executor is a class registered in
:data:`EXECUTORS` (``register_executor`` from outside the package), built as
``cls(config, batch_size=..., actors=..., threads_per_actor=..., address=...)`` (options it does not
use it ignores), with ``name``, ``workers``, ``run(items)`` yielding lists of rows as they are done
(in no fixed order) and ``close()``. ("Engine" is the inference library a worker's
:class:`~yolopose.PoseEstimator` runs, :mod:`yolopose.runtimes`; an executor only decides who runs it.)
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ..core.errors import BackendNotAvailableError, ConfigError
from ..core.registry import Registry
from .predictor import BatchPredictor, PredictorConfig
from .rows import Row
from .sources import WorkItem

__all__ = ["EXECUTORS", "LocalExecutor", "RayExecutor", "get_executor", "list_executors", "pose_dataset", "register_executor"]


class LocalExecutor:
    """The reference executor: one :class:`BatchPredictor` in this process, items in order."""

    name = "local"

    def __init__(self, config: PredictorConfig, batch_size: int = 16, **_: Any) -> None:
        self.config = config
        self.batch_size = max(1, int(batch_size))
        self.workers = 1
        self.predictor: Optional[BatchPredictor] = None

    def run(self, items: Sequence[WorkItem]) -> Iterator[List[Row]]:
        self.predictor = BatchPredictor(self.config)
        try:
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                yield self.predictor.process([i.to_dict() for i in chunk])
        finally:
            self.predictor.estimator.close()

    def close(self) -> None:
        pass


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise BackendNotAvailableError('the Ray executor needs Ray Data: pip install "yolopose[ray]" '
                                       "(or run with --executor local)") from None
    return ray


def init_ray(address: Optional[str] = None, num_cpus: Optional[int] = None) -> bool:
    """Connect to Ray (``address``: ``auto``, ``ray://host:port``) or start a local runtime sized to
    this machine, unless Ray is already initialized. Returns whether this call started it."""
    ray = _ray()
    if ray.is_initialized():
        return False
    kwargs: Dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
    return True


def _quiet_ray_data() -> None:
    """Our progress bar replaces Ray Data's; its per-operator INFO logs go too."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _cluster_cpus() -> int:
    ray = _ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def pose_dataset(
    items: Sequence[WorkItem],
    config: PredictorConfig,
    actors: Optional[int] = None,
    threads_per_actor: int = 1,
    batch_size: int = 16,
) -> Any:
    """A lazy Ray ``Dataset`` of pose rows (:mod:`yolopose.batch.rows`) for ``items``.

    One actor per ``threads_per_actor`` CPUs of the cluster unless ``actors`` is given; each loads
    the model once and runs batches of ``batch_size`` items. Ray must be initialized, or Ray Data
    starts a local runtime itself.
    """
    ray = _ray()
    if not items:
        raise ConfigError("pose_dataset got no inputs")
    threads = max(1, int(threads_per_actor))
    pool = int(actors) if actors else max(1, _cluster_cpus() // threads)
    if pool < 1:
        raise ConfigError(f"actors must be >= 1, got {actors}")
    # enough blocks to keep every actor busy and to stream results back as they are done
    blocks = max(min(len(items), pool), min(math.ceil(len(items) / max(1, batch_size)), 100_000))
    ds = ray.data.from_items([i.to_dict() for i in items], override_num_blocks=blocks)
    cfg = dataclasses.replace(config, threads=config.threads or threads)
    return ds.map_batches(
        _PoseActor,
        fn_constructor_kwargs={"config": cfg.to_dict()},
        batch_size=max(1, int(batch_size)),
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=pool),
        num_cpus=threads,
    )


class _PoseActor:
    """A Ray actor: one estimator, loaded once, for every batch it is given."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.predictor = BatchPredictor(PredictorConfig.from_dict(config))

    def __call__(self, batch: Any) -> Any:
        return self.predictor(batch)


class RayExecutor:
    """Ray Data with an actor pool (see :func:`pose_dataset`); local Ray unless ``address``."""

    name = "ray"

    def __init__(self, config: PredictorConfig, batch_size: int = 16, actors: Optional[int] = None,
                 threads_per_actor: int = 1, address: Optional[str] = None, **_: Any) -> None:
        self.config = config
        self.batch_size = max(1, int(batch_size))
        self.actors = actors
        self.threads = max(1, int(threads_per_actor))
        self.address = address
        self.workers = int(actors) if actors else 0
        self._started = False

    def run(self, items: Sequence[WorkItem]) -> Iterator[List[Row]]:
        self._started = init_ray(self.address)
        _quiet_ray_data()
        if not self.workers:
            self.workers = max(1, _cluster_cpus() // self.threads)
        ds = pose_dataset(items, self.config, self.workers, self.threads, self.batch_size)
        for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield table.to_pylist()

    def close(self) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False


#: executor name -> class, in registration order (the first is the reference)
EXECUTORS: Registry[Any] = Registry("batch executor")


def register_executor(cls: Any, replace: bool = False) -> Any:
    """Add an executor class under ``cls.name`` (usable as a class decorator)."""
    EXECUTORS.register(cls.name, cls, replace=replace)
    return cls


def list_executors() -> List[str]:
    """Registered executor names (the choices of ``yolopose batch --executor``)."""
    return EXECUTORS.names()


def get_executor(name: str, config: PredictorConfig, **options: Any) -> Any:
    """A ready executor ``name`` for ``config`` (:class:`ConfigError` lists the known ones)."""
    return EXECUTORS.get(name)(config, **options)


register_executor(LocalExecutor)
register_executor(RayExecutor)
