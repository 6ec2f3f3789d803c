"""Executors: where ``ingest_track`` runs. The stages never know which one it is.

Every executor calls the same pure per-track function,
``ingest_track(path, out_dir, settings, stages, force=...)``, which writes
``OUT/tracks/ID/`` atomically and returns a :class:`TrackResult`; the driver
(``batch.ingest``) records each result in the catalog as it arrives.

``local``
    In-process (``jobs=1``) or a ``spawn`` process pool on this machine.
``ray``
    One Ray task per track on a Ray runtime (a local one, or a cluster given by
    ``address``); needs the optional extra ``audiokit[ray]``. Every worker must
    see the inputs and OUT at the same paths (shared storage).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ..errors import MissingDependencyError, ParameterError
from .stages import Stage
from .track import TrackResult, ingest_track

__all__ = ["EXECUTORS", "run_local", "run_ray", "require_ray"]

#: Called as ``on_done(index, result)`` by an executor as each track finishes, in completion order.
OnDone = Callable[[int, TrackResult], None]

#: Ray task retries after a worker process or node dies mid-track (the track restarts from scratch:
#: its partial folder is abandoned and removed by the retry).
RAY_MAX_RETRIES = 3


def run_local(paths: Sequence[Path], out_dir: Path, settings: dict, stages: tuple[Stage, ...], on_done: OnDone, *,
              force: bool = False, jobs: int = 1) -> None:
    """Run every track in this process (``jobs == 1``) or in a spawn process pool of ``jobs`` workers."""
    if jobs == 1:
        for index, path in enumerate(paths):
            on_done(index, ingest_track(path, out_dir, settings, stages, force=force))
        return
    # spawn, not fork: the parent may hold PyAV/Numba threads that fork would copy mid-flight.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(ingest_track, path, out_dir, settings, stages, force=force): index
                   for index, path in enumerate(paths)}
        for future in as_completed(futures):
            on_done(futures[future], future.result())


def require_ray():
    """Import :mod:`ray`, or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        import ray
    except ImportError as error:
        raise MissingDependencyError(
            f"--executor ray needs Ray (import failed: {error}); install it with: pip install 'audiokit[ray]'"
        ) from None
    return ray


def run_ray(paths: Sequence[Path], out_dir: Path, settings: dict, stages: tuple[Stage, ...], on_done: OnDone, *,
            force: bool = False, address: str | None = None, num_cpus: float = 1.0,
            max_in_flight: int | None = None, max_retries: int = RAY_MAX_RETRIES) -> None:
    """Run one Ray task per track, at most ``max_in_flight`` at a time, consuming results as they complete.

    Parameters
    ----------
    address : str, optional
        ``"auto"`` (a cluster started on this node with ``ray start``), ``"ray://HOST:10001"`` (Ray Client),
        or None: reuse the runtime this process already joined, else start a local one.
    num_cpus : float
        CPUs each track task requests; fractions (e.g. 0.5) let tasks share cores with other Ray work.
    max_in_flight : int, optional
        Tasks submitted but not yet consumed (backpressure: the driver holds at most this many
        pending results). Default: twice the cluster's task slots, at least 2.
    max_retries : int
        Retries of a task whose worker died (and of one that raised, which ``ingest_track`` only does
        for a bug or an interrupt); a task still failing after that is reported as a failed track.
    """
    ray = require_ray()
    if not (isinstance(num_cpus, (int, float)) and not isinstance(num_cpus, bool) and num_cpus > 0):
        raise ParameterError(f"num_cpus is {num_cpus!r}; expected a positive number")
    started_here = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 # a local runtime's workers must import the same audiokit as this driver
                 runtime_env=None if address else {"env_vars": {"PYTHONPATH": _pythonpath()}})
        started_here = True
    try:
        if max_in_flight is None:
            slots = int(ray.cluster_resources().get("CPU", 1) / num_cpus)
            max_in_flight = max(2, 2 * slots)
        remote = ray.remote(_ray_ingest_track).options(
            num_cpus=num_cpus, max_retries=max_retries, retry_exceptions=True, name="audiokit.ingest_track")
        pending: dict = {}
        next_index = 0
        while next_index < len(paths) or pending:
            while next_index < len(paths) and len(pending) < max_in_flight:
                ref = remote.remote(str(paths[next_index]), str(out_dir), settings, stages, force)
                pending[ref] = next_index
                next_index += 1
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as error:  # worker lost past max_retries, task cancelled, ...
                    reason = " ".join(str(error).split())[:500] or type(error).__name__
                    result = TrackResult(str(paths[index]), "failed",
                                         error=f"ray task failed after {max_retries} retries: {reason}")
                on_done(index, result)
    finally:
        if started_here:
            ray.shutdown()


def _ray_ingest_track(path: str, out_dir: str, settings: dict, stages: tuple[Stage, ...],
                      force: bool) -> TrackResult:
    return ingest_track(Path(path), Path(out_dir), settings, stages, force=force)


def _pythonpath() -> str:
    package_root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return package_root if not existing else f"{package_root}{os.pathsep}{existing}"


#: Executor names accepted by ``ingest(executor=...)`` and ``audiokit ingest --executor``.
EXECUTORS = ("local", "ray")
