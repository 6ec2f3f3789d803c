"""The ``ray`` executor: tracks on a Ray runtime (a local one, or a cluster given by ``address``).

Needs the optional extra ``audiokit[ray]``. A track's core stages run as a
Ray task; its model stages, if any, in a pool of Ray actors that load the
models once (``start_track`` in the task, ``finish_track`` in the actor).
Every worker must see the inputs and OUT at the same paths (shared storage).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import AudiokitError, MissingDependencyError, ParameterError
from .executors import OnDone, identify
from .stages import Stage
from .track import PartialTrack, TrackResult, finish_track, ingest_track, split_stages, start_track

if TYPE_CHECKING:
    from ray import ObjectRef

__all__ = ["RAY_MAX_RETRIES", "require_ray", "run_ray"]

#: Ray task retries after a worker process or node dies mid-track (the track restarts from scratch:
#: its partial folder is abandoned and removed by the retry).
RAY_MAX_RETRIES = 3


def require_ray() -> ModuleType:
    """Import :mod:`ray`, or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        import ray
    except ImportError as error:
        raise MissingDependencyError(
            f"--executor ray needs Ray (import failed: {error}); install it with: pip install 'audiokit[ray]'"
        ) from None
    return ray


def run_ray(paths: Sequence[Path], out_dir: Path, settings: dict, stages: tuple[Stage, ...], on_done: OnDone, *,
            force: bool = False, address: str | None = None, num_cpus: float = 1.0, gpus_per_model: float = 0.0,
            model_actors: int | None = None, max_in_flight: int | None = None,
            max_retries: int = RAY_MAX_RETRIES, known_failures: Mapping[str, dict] | None = None,
            max_duration_s: float | None = None) -> None:
    """Run the tracks on Ray, at most ``max_in_flight`` at a time, consuming results as they complete.

    The core stages of each track run as one Ray task. When ``stages`` has
    model stages (tags, analysis, speech, transcript, moderation), a pool of
    ``model_actors`` Ray actors, each of which loaded the models once, runs
    them on each started track and writes its manifest. A task that finds
    its track claimed by another ingest process waits for that claim. A
    track whose task or actor was lost for good is reported failed with its
    track id (from the input's sha256) when the input can be read.

    Parameters
    ----------
    address : str, optional
        ``"auto"`` (a cluster started on this node with ``ray start``), ``"ray://HOST:10001"`` (Ray Client),
        or None: reuse the runtime this process already joined, else start a local one.
    num_cpus : float
        CPUs each track task and each model actor requests; fractions (e.g. 0.5) let them share cores.
    gpus_per_model : float
        GPUs each model actor requests (fractions share a GPU); 0 runs the models on CPUs.
    model_actors : int, optional
        Size of the model actor pool. Default: one per ``gpus_per_model`` of the cluster's GPUs, or,
        without GPUs, half the cluster's ``num_cpus`` slots (at least 1).
    max_in_flight : int, optional
        Tracks submitted but not yet finished (backpressure: the driver holds at most this many
        pending results). Default: twice the cluster's task slots, at least 2.
    max_retries : int
        Retries of a task whose worker died, and restarts of a model actor that died (each restart
        retries its pending tracks); a track still failing after that is reported as failed.

    Raises
    ------
    ParameterError
        For a bad resource request, or a model pool that would leave the cluster no CPU for the
        track tasks or ask for more GPUs than it has (the batch would wait forever).
    MissingDependencyError
        If Ray is not installed.
    """
    ray = require_ray()
    _check_positive("num_cpus", num_cpus)
    if isinstance(gpus_per_model, bool) or not isinstance(gpus_per_model, (int, float)) or gpus_per_model < 0:
        raise ParameterError(f"gpus_per_model is {gpus_per_model!r}; expected a number >= 0")
    if model_actors is not None:
        _check_positive("model_actors", model_actors, integer=True)
    core, models = split_stages(stages)
    known_failures = dict(known_failures or {})
    started_here = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 # a local runtime's workers must import the same audiokit as this driver
                 runtime_env=None if address else {"env_vars": {"PYTHONPATH": _pythonpath()}})
        started_here = True
    pool = None
    try:
        resources = ray.cluster_resources()
        cpus = resources.get("CPU", 1.0)
        pool = _ModelPool(ray, models, cpus=cpus, gpus=resources.get("GPU", 0.0), num_cpus=num_cpus,
                          gpus_per_model=gpus_per_model, size=model_actors, max_restarts=max_retries) if models else None
        if max_in_flight is None:
            max_in_flight = max(2, 2 * int(cpus / num_cpus))
        task_options = dict(num_cpus=num_cpus, max_retries=max_retries, retry_exceptions=True)
        whole_track = ray.remote(_ray_ingest_track).options(name="audiokit.ingest_track", **task_options)
        first_half = ray.remote(_ray_start_track).options(name="audiokit.start_track", num_returns=2, **task_options)
        pending: dict = {}  # ref -> (input index, the PartialTrack ref a start task returns alongside it)
        next_index = 0
        while next_index < len(paths) or pending:
            while next_index < len(paths) and len(pending) < max_in_flight:
                path = str(paths[next_index])
                if pool is None:
                    pending[whole_track.remote(path, str(out_dir), settings, stages, force,
                                               known_failures, max_duration_s)] = (next_index, None)
                else:
                    outcome, partial = first_half.remote(path, str(out_dir), settings, core, force, known_failures,
                                                         max_duration_s)
                    pending[outcome] = (next_index, partial)
                next_index += 1
            [ref], _ = ray.wait(list(pending), num_returns=1)
            index, partial = pending.pop(ref)
            if pool is not None:
                pool.finished(ref)
            try:
                result = ray.get(ref)
            except Exception as error:  # a worker or actor lost past max_retries, a task cancelled, ...
                reason = " ".join(str(error).split())[:500] or type(error).__name__
                sha, identity = identify(Path(paths[index]), settings)
                result = TrackResult(str(paths[index]), "failed", identity, input_sha256=sha, stage="worker",
                                     error=f"ray task failed after {max_retries} retries: {reason}")
            if result is None:  # core stages done: the model stages go to the least busy actor
                assert pool is not None  # only start tasks return None, and they run only with a pool
                pending[pool.submit(partial)] = (index, None)
            else:
                on_done(index, result)
    finally:
        if pool is not None:
            pool.stop()
        if started_here:
            ray.shutdown()


class _ModelWorker:
    """A Ray actor that loads the model stages' weights once, then finishes track after track."""

    def __init__(self, stages: tuple[Stage, ...]) -> None:
        self.stages = stages
        for stage in stages:
            if stage.load is not None:
                try:
                    stage.load()
                except AudiokitError:  # e.g. the ml extra is missing: each track's stage report says so
                    pass

    def finish(self, track: PartialTrack) -> TrackResult:
        return finish_track(track, self.stages)


class _ModelPool:
    """``size`` :class:`_ModelWorker` actors; each track goes to the one with the fewest pending tracks."""

    def __init__(self, ray: ModuleType, stages: tuple[Stage, ...], *, cpus: float, gpus: float, num_cpus: float,
                 gpus_per_model: float, size: int | None, max_restarts: int) -> None:
        if size is None:
            size = int(gpus // gpus_per_model) if gpus_per_model > 0 else max(1, int(cpus / num_cpus) // 2)
        if gpus_per_model > 0 and (size < 1 or size * gpus_per_model > gpus):
            raise ParameterError(f"the Ray cluster has {gpus:g} GPUs, too few for {max(size, 1)} model actors of "
                                 f"{gpus_per_model:g} GPUs; use fewer model actors, or 0 GPUs to run the models on CPUs")
        if size * num_cpus + num_cpus > cpus:
            raise ParameterError(
                f"{size} model actors of {num_cpus:g} CPUs would leave no room for a {num_cpus:g}-CPU track task "
                f"on this {cpus:g}-CPU Ray cluster, and the batch would wait forever; use fewer model actors "
                "or a smaller CPU request (--ray-cpus 0.5)")
        actor = ray.remote(_ModelWorker).options(num_cpus=num_cpus, num_gpus=gpus_per_model,
                                                 max_restarts=max_restarts, max_task_retries=max_restarts)
        self._ray = ray
        self._actors = [actor.remote(stages) for _ in range(size)]
        self._actor_of: dict = {}  # pending finish ref -> actor index

    def submit(self, partial_ref: ObjectRef) -> ObjectRef:
        """Send a started track (an ObjectRef: its audio goes actor-side without visiting the driver)."""
        pending = [0] * len(self._actors)
        for index in self._actor_of.values():
            pending[index] += 1
        index = pending.index(min(pending))
        ref = self._actors[index].finish.remote(partial_ref)
        self._actor_of[ref] = index
        return ref

    def finished(self, ref: ObjectRef) -> None:
        """Note that ``ref`` completed (a no-op for refs that are not finish calls)."""
        self._actor_of.pop(ref, None)

    def stop(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)


def _ray_ingest_track(path: str, out_dir: str, settings: dict, stages: tuple[Stage, ...],
                      force: bool, known_failures: dict, max_duration_s: float | None) -> TrackResult:
    return ingest_track(Path(path), Path(out_dir), settings, stages, force=force, known_failures=known_failures,
                        max_duration_s=max_duration_s)


def _ray_start_track(path: str, out_dir: str, settings: dict, stages: tuple[Stage, ...], force: bool,
                     known_failures: dict, max_duration_s: float | None) -> tuple[TrackResult | None, PartialTrack | None]:
    """(the result, None) when the track is done or failed; (None, the started track) otherwise."""
    started = start_track(Path(path), Path(out_dir), settings, stages, force=force, known_failures=known_failures,
                          max_duration_s=max_duration_s)
    return (started, None) if isinstance(started, TrackResult) else (None, started)


def _check_positive(name: str, value: object, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        raise ParameterError(f"{name} is {value!r}; expected a positive {'integer' if integer else 'number'}")


def _pythonpath() -> str:
    package_root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return package_root if not existing else f"{package_root}{os.pathsep}{existing}"


