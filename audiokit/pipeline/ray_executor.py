"""The ``ray`` executor: tracks on a Ray runtime (a local one, or a cluster given by ``address``).

Needs the optional extra ``audiokit[ray]``. A track's core stages run as a
Ray task; its model stages, if any, in a pool of Ray actors that load the
models once (``start_track`` in the task, ``finish_track`` in the actor). An
actor runs several tracks at once and merges their tagger forward passes
(:mod:`.cross_batching`). A track past its time limit is stopped: its task
cancelled, or its actor killed and replaced. Every worker must see the
inputs and OUT at the same paths (shared storage).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

from ..errors import AudiokitError, MissingDependencyError, ParameterError
from . import claims
from .cross_batching import CONCURRENT_STAGES, BatchingStats, CrossTrackBatching
from .executors import OnDone, clean_up_after, identify
from .stages import Stage
from .track import (
    DEFAULT_TRACK_TIMEOUT,
    TIME_LIMIT_STAGE,
    OnDeadline,
    PartialTrack,
    TrackResult,
    check_track_timeout,
    finish_track,
    ingest_track,
    split_stages,
    start_track,
    track_time_limit_s,
)

if TYPE_CHECKING:
    from ray import ObjectRef
    from ray.util.queue import Queue

__all__ = ["RAY_MAX_RETRIES", "TRACKS_PER_ACTOR", "require_ray", "run_ray"]

#: How often the driver looks for new track deadlines while it waits for results, s.
DEADLINE_POLL_S = 0.5
#: How long a clean-up task waits for a stopped process to be gone before it removes its work, s.
STOPPED_EXIT_WAIT_S = 30.0
#: Tracks a model actor runs at once by default (``tracks_per_actor``).
TRACKS_PER_ACTOR = 2
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
            max_duration_s: float | None = None, track_timeout_s: float | None = None,
            tracks_per_actor: int = TRACKS_PER_ACTOR, on_note: Callable[[str], None] | None = None) -> None:
    """Run the tracks on Ray, at most ``max_in_flight`` at a time, consuming results as they complete.

    The core stages of each track run as one Ray task. When ``stages`` has
    model stages (tags, analysis, speech, transcript, moderation), a pool of
    ``model_actors`` Ray actors, each of which loaded the models once, runs
    them on each started track and writes its manifest. A task that finds
    its track claimed by another ingest process waits for that claim. A
    track whose task or actor was lost for good is reported failed with its
    track id (from the input's sha256) when the input can be read.

    ``track_timeout_s`` limits each track's time as in the local executor
    (:func:`.executors.run_local`): counted from its claim, over both halves
    (waiting for a model actor included). A task past its track's deadline is
    cancelled (its worker process killed); a model actor past it is killed
    and replaced, and the other tracks it held go to the pool again. The
    track fails with stage ``time-limit``, and its partial folder and claim
    are removed on the node where it ran.

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
    track_timeout_s : float, optional
        A track's time limit, s: None (the default) allows the larger of 600 s and 10 times its probed
        duration (:func:`.track.track_time_limit_s`), ``math.inf`` none.
    tracks_per_actor : int
        Tracks a model actor runs at once, in threads: their tags stages run side by side and the
        taggers' forward passes of those tracks are merged into one (:mod:`.cross_batching`); its
        other model stages run one track at a time. 1: one track at a time, nothing merged.
    on_note : callable, optional
        Receives one-line notes for the user: how many tagger forward passes held several tracks.

    Raises
    ------
    ParameterError
        For a bad resource request or time limit, or a model pool that would leave the cluster no CPU
        for the track tasks or ask for more GPUs than it has (the batch would wait forever).
    MissingDependencyError
        If Ray is not installed.
    """
    ray = require_ray()
    _check_positive("num_cpus", num_cpus)
    if isinstance(gpus_per_model, bool) or not isinstance(gpus_per_model, (int, float)) or gpus_per_model < 0:
        raise ParameterError(f"gpus_per_model is {gpus_per_model!r}; expected a number >= 0")
    if model_actors is not None:
        _check_positive("model_actors", model_actors, integer=True)
    _check_positive("tracks_per_actor", tracks_per_actor, integer=True)
    check_track_timeout(track_timeout_s)
    core, models = split_stages(stages)
    known_failures = dict(known_failures or {})
    started_here = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 # a local runtime's workers must import the same audiokit as this driver
                 runtime_env=None if address else {"env_vars": {"PYTHONPATH": _pythonpath()}})
        started_here = True
    pool = limits = None
    try:
        resources = ray.cluster_resources()
        cpus = resources.get("CPU", 1.0)
        pool = _ModelPool(ray, models, cpus=cpus, gpus=resources.get("GPU", 0.0), num_cpus=num_cpus,
                          gpus_per_model=gpus_per_model, size=model_actors, max_restarts=max_retries,
                          tracks_per_actor=tracks_per_actor) if models else None
        limited = track_timeout_s is None or math.isfinite(track_timeout_s)
        limits = _TimeLimits(ray, paths, str(out_dir), settings) if limited else None
        if max_in_flight is None:
            max_in_flight = max(2, 2 * int(cpus / num_cpus))
        task_options = dict(num_cpus=num_cpus, max_retries=max_retries, retry_exceptions=True)
        whole_track = ray.remote(_ray_ingest_track).options(name="audiokit.ingest_track", **task_options)
        first_half = ray.remote(_ray_start_track).options(name="audiokit.start_track", num_returns=2, **task_options)
        reports = limits.reports if limits is not None else None
        pending: dict = {}  # ref -> (input index, the PartialTrack ref a start task returns alongside it)
        next_index = 0
        while next_index < len(paths) or pending:
            while next_index < len(paths) and len(pending) < max_in_flight:
                path = str(paths[next_index])
                arguments = (path, str(out_dir), settings, stages if pool is None else core, force, known_failures,
                             max_duration_s, track_timeout_s, (next_index, reports))
                if pool is None:
                    pending[whole_track.remote(*arguments)] = (next_index, None)
                else:
                    outcome, partial = first_half.remote(*arguments)
                    pending[outcome] = (next_index, partial)
                next_index += 1
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=None if limits is None else limits.wait_s())
            if limits is not None:
                for index, failure in limits.stop_overdue(pending, pool):
                    on_done(index, failure)
            if not ready or ready[0] not in pending:  # nothing done, or what was done was stopped just now
                continue
            ref = ready[0]
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
                pending[pool.submit(partial, (index, reports))] = (index, partial)
            else:
                if limits is not None:
                    limits.forget(index)
                on_done(index, result)
        if pool is not None and on_note is not None:
            stats = pool.batching_stats()
            if stats.forwards:
                on_note(f"model actors: {stats.merged_forwards} of {stats.forwards} tagger forward passes held "
                        f"patches of several tracks (up to {stats.most_tracks} in one)")
    finally:
        if pool is not None:
            pool.stop()
        if limits is not None:
            limits.stop()
        if started_here:
            ray.shutdown()



class _Where(NamedTuple):
    """Where a Ray worker process runs."""

    #: its Ray node
    node_id: str
    #: its process id, on that node
    pid: int


class _TimeLimits:
    """The tracks' deadlines, as their tasks report them, and the stopping of those that pass theirs.

    A track's task sends ``(index, where, deadline_s, limit_s)`` to a Ray queue as it begins (the
    clock runs from then, as the input is read and identified) and whenever :func:`.track.start_track`
    sets or moves the deadline (its claim; the probed duration), ``(index, where, None, None)`` while
    it waits for another process's claim. The driver drains the queue as it waits for results.
    """

    def __init__(self, ray: ModuleType, paths: Sequence[Path], out_dir: str, settings: dict) -> None:
        from ray.util.queue import Queue

        self._ray = ray
        self._paths = paths
        self._out_dir = out_dir
        self._settings = settings
        #: where tasks send their deadlines; a 0-CPU actor, so it never takes a track's slot
        self.reports: Queue = Queue(actor_options={"num_cpus": 0})
        #: input index -> (where its task runs, deadline s since the epoch, limit s) of the tracks that have one
        self._deadlines: dict[int, tuple[_Where, float, float]] = {}
        #: processes stopped here: what they reported before they were stopped no longer counts
        self._stopped: set[_Where] = set()
        self._clean_up = ray.remote(_ray_clean_up)

    def wait_s(self) -> float:
        """How long the driver may wait for a result before it must look at the deadlines again."""
        self._collect()
        nearest = min((deadline for _, deadline, _ in self._deadlines.values()), default=math.inf)
        return max(0.0, min(DEADLINE_POLL_S, nearest - time.time()))

    def forget(self, index: int) -> None:
        """Drop the deadline of a track whose result arrived (its reports were all sent before it returned)."""
        self._collect()
        self._deadlines.pop(index, None)

    def stop_overdue(self, pending: dict, pool: _ModelPool | None) -> list[tuple[int, TrackResult]]:
        """Stop the tracks in ``pending`` past their deadline; their failures, in ``(index, result)`` pairs.

        A task is cancelled. A model actor is killed and replaced; of the tracks it held, the one past its
        deadline fails, and the others go to the pool again, their clocks restarted when an actor begins
        them (one that waited behind the hung track for a stage that runs one track at a time may be past
        its deadline too; it hangs again if it is the culprit). ``pending`` is updated in place.
        """
        self._collect()
        now = time.time()
        overdue = sorted((self._deadlines[index][1], ref) for ref, (index, _) in pending.items()
                         if index in self._deadlines and self._deadlines[index][1] <= now)
        failures = []
        for _, ref in overdue:
            if ref not in pending or self._ray.wait([ref], timeout=0)[0]:  # resubmitted, or it finished just now
                continue
            index = pending.pop(ref)[0]
            actor = pool.actor_of(ref) if pool is not None else None
            where = self._deadlines[index][0]
            self._stopped.add(where)
            if actor is None:
                self._ray.cancel(ref, force=True)
                how = f"its Ray task (worker process {where.pid} on its node) was cancelled"
            else:
                assert pool is not None
                for held in pool.replace(actor):
                    if held in pending:
                        held_index, held_partial = pending.pop(held)
                        self._deadlines.pop(held_index, None)
                        pending[pool.submit(held_partial, (held_index, self.reports))] = (held_index, held_partial)
                how = f"its model actor (process {where.pid} on its node) was killed and replaced"
            failures.append((index, self._failure(index, where, how)))
        return failures

    def stop(self) -> None:
        self.reports.shutdown(force=True)

    def _collect(self) -> None:
        count = self.reports.qsize()
        for index, where, deadline_s, limit_s in self.reports.get_nowait_batch(count) if count else ():
            if _Where(*where) in self._stopped:
                continue
            if deadline_s is None:
                self._deadlines.pop(index, None)
            else:
                self._deadlines[index] = (_Where(*where), deadline_s, limit_s)

    def _failure(self, index: int, stopped: _Where, how: str) -> TrackResult:
        """The track's time-limit failure, once its partial folder and claim are removed where it ran."""
        path = self._paths[index]
        limit_s = self._deadlines.pop(index)[2]
        on_its_node = self._clean_up.options(name="audiokit.clean_up", num_cpus=0, max_retries=0,
                                             scheduling_strategy=_on_node(stopped.node_id))
        try:
            sha, identity = self._ray.get(on_its_node.remote(str(path), self._out_dir, self._settings, stopped.pid))
        except Exception:  # the node is gone: its work went with it; the next run takes the claim over
            sha, identity = identify(Path(path), self._settings)
        return TrackResult(str(path), "failed", identity, input_sha256=sha, stage=TIME_LIMIT_STAGE,
                           error=f"took longer than {limit_s:g} s, the time limit of a track (track_timeout_s, "
                                 f"audiokit ingest --track-timeout; default {DEFAULT_TRACK_TIMEOUT}); {how} and the "
                                 "batch went on. If the machine was only busy, rerun with a higher limit")


class _ModelWorker:
    """A Ray actor that loads the model stages' weights once, then finishes track after track."""

    def __init__(self, stages: tuple[Stage, ...], tracks: int) -> None:
        for stage in stages:
            if stage.load is not None:
                try:
                    stage.load()
                except AudiokitError:  # e.g. the ml extra is missing: each track's stage report says so
                    pass
        self.batching = None
        if tracks > 1:  # tracks in threads: the taggers' forward passes merged, the other stages one at a time
            self.batching = CrossTrackBatching(waiting=_ActorClock.stopped)
            if any(stage.name in CONCURRENT_STAGES for stage in stages):
                self.batching.install_taggers()
            stages = self.batching.stages(stages)
        self.stages = stages

    def finish(self, track: PartialTrack, reports: _Reports) -> TrackResult:
        with _ActorClock(track, reports):
            return finish_track(track, self.stages)

    def batching_stats(self) -> BatchingStats:
        return self.batching.stats() if self.batching is not None else BatchingStats()


class _ModelPool:
    """``size`` :class:`_ModelWorker` actors; each track goes to the one with the fewest pending tracks."""

    def __init__(self, ray: ModuleType, stages: tuple[Stage, ...], *, cpus: float, gpus: float, num_cpus: float,
                 gpus_per_model: float, size: int | None, max_restarts: int, tracks_per_actor: int) -> None:
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
        self._ray = ray
        self._stages = stages
        self._actor = ray.remote(_ModelWorker).options(num_cpus=num_cpus, num_gpus=gpus_per_model,
                                                       max_restarts=max_restarts, max_task_retries=max_restarts,
                                                       max_concurrency=tracks_per_actor)
        self._tracks_per_actor = tracks_per_actor
        self._actors = [self._actor.remote(stages, tracks_per_actor) for _ in range(size)]
        self._actor_of: dict = {}  # pending finish ref -> actor index

    def submit(self, partial_ref: ObjectRef, reports: _Reports) -> ObjectRef:
        """Send a started track (an ObjectRef: its audio goes actor-side without visiting the driver)."""
        pending = [0] * len(self._actors)
        for index in self._actor_of.values():
            pending[index] += 1
        index = pending.index(min(pending))
        ref = self._actors[index].finish.remote(partial_ref, reports)
        self._actor_of[ref] = index
        return ref

    def finished(self, ref: ObjectRef) -> None:
        """Note that ``ref`` completed (a no-op for refs that are not finish calls)."""
        self._actor_of.pop(ref, None)

    def actor_of(self, ref: ObjectRef) -> int | None:
        """The index of the actor running finish call ``ref``; None for refs that are not finish calls."""
        return self._actor_of.get(ref)

    def replace(self, actor: int) -> list[ObjectRef]:
        """Kill actor ``actor`` (not restarted) and start a fresh one in its place; the finish calls it held."""
        self._ray.kill(self._actors[actor], no_restart=True)
        self._actors[actor] = self._actor.remote(self._stages, self._tracks_per_actor)
        held = [ref for ref, index in self._actor_of.items() if index == actor]
        for ref in held:
            del self._actor_of[ref]
        return held

    def batching_stats(self) -> BatchingStats:
        """The merging done by the actors now in the pool (not those replaced), summed."""
        try:
            per_actor = self._ray.get([actor.batching_stats.remote() for actor in self._actors], timeout=60)
        except Exception:  # an actor died or is restarting: its counts went with it
            return BatchingStats()
        return sum(per_actor, BatchingStats())

    def stop(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)


#: What a track's task gets to report its deadlines: (its input index, the queue), or None without a limit.
_Reports = tuple[int, "Queue | None"]


def _reporter(reports: _Reports, track_timeout_s: float | None) -> OnDeadline | None:
    """Report the track's first deadline now (the clock runs from its start) and return its ``on_deadline``."""
    index, queue = reports
    if queue is None:
        return None
    here = _here()

    def report(deadline_s: float | None, limit_s: float | None) -> None:
        queue.put((index, here, deadline_s, limit_s))

    limit_s = track_time_limit_s(track_timeout_s)
    report(time.time() + limit_s, limit_s)
    return report


def _ray_ingest_track(path: str, out_dir: str, settings: dict, stages: tuple[Stage, ...], force: bool,
                      known_failures: dict, max_duration_s: float | None, track_timeout_s: float | None,
                      reports: _Reports) -> TrackResult:
    on_deadline = _reporter(reports, track_timeout_s)
    return ingest_track(Path(path), Path(out_dir), settings, stages, force=force, known_failures=known_failures,
                        max_duration_s=max_duration_s, track_timeout_s=track_timeout_s, on_deadline=on_deadline)


def _ray_start_track(path: str, out_dir: str, settings: dict, stages: tuple[Stage, ...], force: bool,
                     known_failures: dict, max_duration_s: float | None, track_timeout_s: float | None,
                     reports: _Reports) -> tuple[TrackResult | None, PartialTrack | None]:
    """(the result, None) when the track is done or failed; (None, the started track) otherwise."""
    on_deadline = _reporter(reports, track_timeout_s)
    started = start_track(Path(path), Path(out_dir), settings, stages, force=force, known_failures=known_failures,
                          max_duration_s=max_duration_s, track_timeout_s=track_timeout_s, on_deadline=on_deadline)
    if isinstance(started, TrackResult):
        return started, None
    if on_deadline is not None:  # waiting for a model actor is not the track's time: its clock stops
        claims.set_deadline(started.final_dir, started.token, None)
        on_deadline(None, None)
    return None, started


class _ActorClock:
    """The time limit of a track in a model actor, so that only a hung track runs out of it.

    The clock runs from when the actor begins the track, with what the limit leaves after the core half,
    and stops while the track waits for a stage that runs one track at a time
    (:class:`.cross_batching.CrossTrackBatching`). Each deadline is written into the track's claim (for other ingest processes) and sent to the driver.
    """

    _running = threading.local()  # .clock: the clock of the track this thread runs

    def __init__(self, track: PartialTrack, reports: _Reports) -> None:
        self._track = track
        self._index, self._queue = reports
        self._limit_s = track_time_limit_s(track.track_timeout_s, track.context.results["probe"]["duration_s"])
        self._spent_s = track.seconds
        self._since = 0.0

    def __enter__(self) -> _ActorClock:
        _ActorClock._running.clock = self
        self._start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        _ActorClock._running.clock = None

    @classmethod
    @contextmanager
    def stopped(cls) -> Iterator[None]:
        """Stop the clock of this thread's track (if it has one) for the ``with`` block."""
        clock = getattr(cls._running, "clock", None)
        if clock is None:
            yield
            return
        clock._spent_s += time.monotonic() - clock._since
        clock._report(None, None)
        try:
            yield
        finally:
            clock._start()

    def _start(self) -> None:
        self._since = time.monotonic()
        self._report(time.time() + max(0.0, self._limit_s - self._spent_s), self._limit_s)

    def _report(self, deadline_s: float | None, limit_s: float | None) -> None:
        if self._queue is not None:
            claims.set_deadline(self._track.final_dir, self._track.token, deadline_s)
            self._queue.put((self._index, _here(), deadline_s, limit_s))


def _ray_clean_up(path: str, out_dir: str, settings: dict, pid: int) -> tuple[str | None, str | None]:
    """On the node where process ``pid`` was stopped: remove its partial folder and claim of the track.

    Returns the input's (sha256, track id).
    """
    from .claims import process_alive

    gone_by = time.monotonic() + STOPPED_EXIT_WAIT_S
    while process_alive(pid) and time.monotonic() < gone_by:  # killed: its files are safe to remove once it is gone
        time.sleep(0.05)
    return clean_up_after(Path(path), pid, out_dir, settings)


def _here() -> tuple[str, int]:
    import ray

    return ray.get_runtime_context().get_node_id(), os.getpid()


def _on_node(node_id: str) -> object:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id, soft=False)


def _check_positive(name: str, value: object, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        raise ParameterError(f"{name} is {value!r}; expected a positive {'integer' if integer else 'number'}")


def _pythonpath() -> str:
    package_root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return package_root if not existing else f"{package_root}{os.pathsep}{existing}"


