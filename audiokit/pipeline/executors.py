"""Executors: where ``ingest_track`` runs. The stages never know which one it is.

Every executor calls the same pure per-track function,
``ingest_track(path, out_dir, settings, stages, force=...)``, which writes
``OUT/tracks/ID/`` atomically and returns a :class:`TrackResult`; the driver
(``batch.ingest``) records each result in the catalog as it arrives.

``local``
    A pool of ``jobs`` worker processes on this machine (:mod:`.child_process`)
    (:class:`_WorkerPool`, a pool of one with ``jobs=1``), or this very
    process when the time limit is switched off (``jobs=1`` and
    ``track_timeout_s=math.inf``): a hang cannot be stopped inside the process
    that runs it. Every Numba kernel is compiled or loaded once before the
    first track (:mod:`.warmup`), so workers (or this process) only load the
    cache, and a corrupt cache is rebuilt first. A track that another ingest
    process holds (its claim, see claims.py) is put off to the end of the
    batch, then waited for. A worker that dies (a signal: a segfault, SIGKILL,
    the OOM killer) fails only the input it held; one that runs past its
    track's time limit (a decoder stuck in a loop, a deadlock) is sent
    SIGTERM, then SIGKILL after :data:`TERMINATE_GRACE_S`, and fails only that
    input. Either way it is replaced and the batch goes on. Workers exit when
    the driver dies.
``ray``
    On a Ray runtime: :mod:`.ray_executor`.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import cast

from ..errors import AudiokitError
from .child_process import ChildProcess
from .stages import Stage
from .track import (
    DEFAULT_TRACK_TIMEOUT,
    TIME_LIMIT_STAGE,
    TrackResult,
    check_track_timeout,
    ingest_track,
    track_time_limit_s,
)

__all__ = ["EXECUTORS", "TERMINATE_GRACE_S", "OnDone", "clean_up_after", "identify", "run_local"]

#: Called as ``on_done(index, result)`` by an executor as each track finishes, in completion order.
OnDone = Callable[[int, TrackResult], None]

#: Seconds a worker past its track's time limit has, after SIGTERM, to remove its partial folder and claim
#: and exit, before it is sent SIGKILL (a process stuck in C code never runs its SIGTERM handler).
TERMINATE_GRACE_S = 5.0


def run_local(paths: Sequence[Path], out_dir: Path, settings: dict, stages: tuple[Stage, ...], on_done: OnDone, *,
              force: bool = False, jobs: int = 1, known_failures: Mapping[str, dict] | None = None,
              on_note: Callable[[str], None] | None = None, max_duration_s: float | None = None,
              track_timeout_s: float | None = None) -> None:
    """Run every track in a pool of ``jobs`` worker processes (``jobs == 1`` with no time limit: in this process).

    ``known_failures`` (``{track_id: failure}``) are not redone and inputs longer than
    ``max_duration_s`` are refused (see :func:`.track.start_track`); ``on_note`` receives one-line
    notes for the user (a repaired kernel cache, a replaced worker).

    ``track_timeout_s`` limits each track's time, counted from its claim: None (the default) allows
    the larger of 600 s and 10 times its probed duration (:func:`.track.track_time_limit_s`); a number
    allows that many seconds to every track; ``math.inf`` sets no limit. A worker past the limit is
    stopped and replaced, and the track fails with stage ``time-limit``. A hang cannot be stopped
    inside the process that runs it, so every limited track runs in a worker process, ``jobs == 1``
    included (a pool of one). Only ``jobs == 1`` with ``math.inf`` runs the tracks here, in this
    process, where nothing stops a hang.
    """
    from .warmup import prepare_kernels, release_compiler_pages, warm_kernels

    check_track_timeout(track_timeout_s)
    if not (jobs == 1 and track_timeout_s is not None and math.isinf(track_timeout_s)):
        arguments = (str(out_dir), settings, stages, force, dict(known_failures or {}), max_duration_s,
                     track_timeout_s)
        _WorkerPool(jobs, arguments, on_note).run(paths, on_done)
        return
    prepared = prepare_kernels(in_this_process=True)
    if prepared.detail and on_note is not None:
        on_note(f"numba kernels: {prepared.detail}")
    if prepared.ready:
        # as a worker does before its first track: load the checked kernels, then give LLVM's pages back,
        # so the first track's decode pass does not hold them
        warm_kernels()
        release_compiler_pages()
    claimed = []
    for index, path in enumerate(paths):
        result = ingest_track(path, out_dir, settings, stages, force=force, known_failures=known_failures,
                              max_duration_s=max_duration_s, wait_for_claim=False, track_timeout_s=track_timeout_s)
        if result.status == "claimed":  # another ingest process has it: come back to it at the end
            claimed.append(index)
        else:
            on_done(index, result)
    for index in claimed:
        on_done(index, ingest_track(paths[index], out_dir, settings, stages, force=force,
                                    known_failures=known_failures, max_duration_s=max_duration_s,
                                    track_timeout_s=track_timeout_s))


class _Worker:
    """One worker process, the pipe to it, and the time limit of the track it holds."""

    def __init__(self, arguments: tuple, *, warm: bool = False) -> None:
        self.process = ChildProcess(_worker_main, (warm, *arguments))
        self.connection = self.process.connection
        #: (input index, path, wait for another process's claim) of the track it holds, or None when idle
        self.task: tuple[int, Path, bool] | None = None
        #: when (time.monotonic()) it is to be sent SIGTERM (SIGKILL once ``terminated``); None: no limit now
        self.stop_at: float | None = None
        #: the time limit of its track, s (for the failure's message)
        self.limit_s = math.inf
        #: whether it was sent SIGTERM for running past its track's time limit
        self.terminated = False

    def wait_warm(self, timeout_s: float) -> str | None:
        """Wait for a worker started with ``warm=True`` to load the kernels: None, or how it failed.

        A worker that failed, or still loads them after ``timeout_s``, is stopped.
        """
        reason = None
        try:
            if not self.connection.poll(timeout_s):
                reason = f"took longer than {timeout_s:g} s"
            else:
                message = self.connection.recv()
                if message == ("warm", None):
                    return None
                reason = message[1]
        except (EOFError, OSError):  # it exited
            pass
        self.process.kill()
        self.process.join()
        self.process.close()
        return reason or _exit_reason(self.process)

    def take(self, task: tuple[int, Path, bool]) -> None:
        """Hold ``task``, sent just now; its clock starts when the worker reports that it began it."""
        self.task, self.stop_at, self.limit_s, self.terminated = task, None, math.inf, False

    def set_deadline(self, deadline_s: float | None, limit_s: float | None) -> None:
        """The track's deadline (seconds since the epoch), or None while it waits for another process's claim."""
        if deadline_s is None or limit_s is None:
            self.stop_at = None
        else:
            self.limit_s = limit_s
            self.stop_at = time.monotonic() + (deadline_s - time.time())

    def enforce_limit(self) -> None:
        """SIGTERM once past the track's deadline; SIGKILL if it is still running TERMINATE_GRACE_S later."""
        if self.stop_at is None or time.monotonic() < self.stop_at or not self.process.is_alive():
            return
        if not self.terminated:
            self.terminated = True
            self.stop_at = time.monotonic() + TERMINATE_GRACE_S
            self.process.terminate()
        else:
            self.stop_at = None
            self.process.kill()
            self.process.join()


class _WorkerPool:
    """``size`` worker processes, each running one track at a time.

    Not :class:`concurrent.futures.ProcessPoolExecutor`: one worker that dies
    breaks that pool for good (``BrokenProcessPool``) and fails every pending
    track, and a worker that hangs holds it forever. Here the driver waits on
    each worker's pipe and its process sentinel, with a timeout at the nearest
    track deadline; a worker that exits while it holds a track fails that
    track only (the reason names the signal), one past its track's deadline is
    stopped and fails it with stage ``time-limit``, and either is replaced by
    a fresh process before the failure is reported, so the pool keeps its
    size. A track that another ingest process holds goes back to the end of
    the queue, to be waited for when its turn comes again.

    The Numba kernels are prepared once before the first track: by a
    warm-up child (:func:`.warmup.prepare_kernels`) before several workers
    start, or by the one worker of a pool of one, which needs them anyway;
    when that worker dies loading them, the warm-up child repairs the cache
    and a fresh worker takes its place.
    """

    def __init__(self, size: int, arguments: tuple, on_note: Callable[[str], None] | None) -> None:
        # Fresh interpreters, not fork: the driver may hold PyAV/Numba threads that fork would copy mid-flight.
        self._size = size
        self._arguments = arguments
        self._on_note = on_note

    def run(self, paths: Sequence[Path], on_done: OnDone) -> None:
        queue = [(index, path, False) for index, path in enumerate(paths)][::-1]  # popped from the end: input order
        workers = self._start_workers(min(self._size, len(queue)))
        try:
            for worker in workers:
                self._assign(worker, queue)
            while any(worker.task is not None for worker in workers) or queue:
                for index, worker in enumerate(workers):
                    if worker.task is None and not worker.process.is_alive():  # died between tracks
                        worker.process.close()
                        workers[index] = worker = _Worker(self._arguments)
                    self._assign(worker, queue)
                busy = [worker for worker in workers if worker.task is not None]
                if not busy:  # every worker was just replaced and none took a track yet
                    continue
                stops = [worker.stop_at for worker in busy if worker.stop_at is not None]
                timeout = max(0.0, min(stops) - time.monotonic()) if stops else None
                ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy], timeout))
                for index, worker in enumerate(workers):
                    if worker.task is None:
                        continue
                    done, result = False, None
                    if {worker.connection, worker.process.sentinel} & ready:
                        done, result = self._receive(worker)
                    if not done:
                        worker.enforce_limit()
                        if worker.process.is_alive():
                            continue
                        done, result = self._receive(worker)
                    held, worker.task = worker.task, None
                    if result is not None and result.status == "claimed":
                        queue.insert(0, (held[0], held[1], True))  # last in line; then wait for the claim
                    elif result is not None:
                        on_done(held[0], result)
                    if result is None or worker.terminated or not worker.process.is_alive():
                        failure = None if result is not None else self._failure(worker, held[1])
                        _stop(worker)
                        workers[index] = worker = _Worker(self._arguments)
                        if failure is not None:  # reported once its replacement runs: the pool keeps its size
                            on_done(held[0], failure)
                    self._assign(worker, queue)
        finally:
            for worker in workers:
                _stop(worker)

    def _start_workers(self, count: int) -> list[_Worker]:
        """``count`` workers, started once the kernels are prepared (see the class docstring)."""
        from .warmup import WARMUP_TIMEOUT_S, prepare_kernels

        failure = None
        if count == 1:
            worker = _Worker(self._arguments, warm=True)
            failure = worker.wait_warm(WARMUP_TIMEOUT_S)
            if failure is None:
                return [worker]
        prepared = prepare_kernels()
        if (failure or prepared.detail) and self._on_note is not None:
            told = [f"loading them in the worker failed ({failure})"] if failure else []
            told.append(prepared.detail or "a warm-up in a separate process then succeeded")
            self._on_note("numba kernels: " + "; ".join(told))
        return [_Worker(self._arguments) for _ in range(count)]

    def _assign(self, worker: _Worker, queue: list) -> None:
        if queue and worker.task is None and worker.process.is_alive():
            task = queue.pop()
            try:
                worker.connection.send((task[0], str(task[1]), task[2]))
            except OSError:  # it died between tracks: the track goes back; its sentinel will replace it
                queue.append(task)
                return
            worker.take(task)

    @staticmethod
    def _receive(worker: _Worker) -> tuple[bool, TrackResult | None]:
        """(done, result): read what the worker sent; (True, None) when it exited without a result."""
        try:
            while worker.connection.poll():
                message = worker.connection.recv()
                if message[0] == "deadline":
                    worker.set_deadline(*message[1:])
                else:
                    return True, message[1]
        except (EOFError, OSError):  # its end is closed: it exited, or is exiting
            if worker.process.is_alive():  # woken a moment before it is gone: wait for it
                worker.process.join(timeout=30)
            return True, None
        if worker.process.is_alive():  # only a deadline came
            return False, None
        return True, None

    def _failure(self, worker: _Worker, path: Path) -> TrackResult:
        """The failure of the track a worker held when it exited or was stopped; its partial folder and claim go."""
        worker.process.join(timeout=5)
        out_dir, settings = self._arguments[:2]
        sha, identity = clean_up_after(path, cast(int, worker.process.pid), out_dir, settings)  # started: pid set
        how = _exit_reason(worker.process)
        pid = worker.process.pid
        if worker.terminated:
            return TrackResult(str(path), "failed", identity, input_sha256=sha, stage=TIME_LIMIT_STAGE,
                               error=f"took longer than {worker.limit_s:g} s, the time limit of a track "
                                     f"(track_timeout_s, audiokit ingest --track-timeout; default {DEFAULT_TRACK_TIMEOUT}); "
                                     f"its worker process {pid} was stopped ({how}) and the batch went on. "
                                     "If the machine was only busy, rerun with a higher limit")
        return TrackResult(str(path), "failed", identity, input_sha256=sha, stage="worker",
                           error=f"worker process {pid} died ({how}) while ingesting this input (a crash in a "
                                 "codec or kernel, or out of memory); the batch went on")


def identify(path: Path, settings: dict) -> tuple[str | None, str | None]:
    """(sha256, track id) of an input, or (None, None) when it cannot be read."""
    from .._files import file_sha256
    from .identity import track_id

    try:
        sha = file_sha256(path)
    except (OSError, AudiokitError):
        return None, None
    return sha, track_id(sha, settings)


def _exit_reason(process: ChildProcess) -> str:
    """How a process ended: "killed by SIGKILL", "exit status 1", ..."""
    code = process.exitcode
    try:
        return f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
    except ValueError:
        return f"exit status {code}"


def clean_up_after(path: Path, pid: int, out_dir: str, settings: dict) -> tuple[str | None, str | None]:
    """Remove what the exited process ``pid`` was building from ``path`` (its partial folder, its claim).

    Returns ``(sha256, track id)`` of the input, None for what could not be read.
    """
    import shutil
    import socket

    from .claims import release_dead
    from .track import TRACKS_DIR

    sha, identity = identify(path, settings)
    if identity is not None:  # what the dead process was building (track._partial_name) and its claim
        tracks = Path(out_dir) / TRACKS_DIR
        for partial in tracks.glob(f".{identity}.partial-{socket.gethostname()}-{pid}-*"):
            shutil.rmtree(partial, ignore_errors=True)
        release_dead(tracks / identity, pid)
    return sha, identity


def _stop(worker: _Worker) -> None:
    try:
        if worker.process.is_alive():
            worker.connection.send(None)  # finish and exit
    except OSError:
        pass
    worker.process.join(timeout=1 if worker.task is None else 0)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join()
    worker.process.close()


def _worker_main(connection: Connection, warm: bool, out_dir: str, settings: dict, stages: tuple[Stage, ...],
                 force: bool, known_failures: dict, max_duration_s: float | None,
                 track_timeout_s: float | None) -> None:
    """A worker (in a :class:`.child_process.ChildProcess`): run the tracks the driver sends until it sends None.

    With ``warm`` it first compiles or loads every kernel (:func:`.warmup.warm_kernels`) and sends
    ``("warm", None)``, or ``("warm", reason)`` and exits when that raised; after the warm-up it gives back
    the compiler's resident pages (:func:`.warmup.release_compiler_pages`), as each stage does after it ran. It sends ``("deadline",
    deadline_s, limit_s)`` as it begins a track and as the track's deadline is set or moved (None, None
    while it waits for another process's claim), then ``("result", TrackResult)``. SIGTERM (its track ran
    past its deadline) exits through SystemExit, so the track removes its partial folder and claim on the
    way out.
    """
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if warm:
        from .warmup import release_compiler_pages, warm_kernels

        try:
            warm_kernels(first_try=True)
        except Exception as error:  # a corrupt cache raises about as often as it crashes: the driver repairs it
            connection.send(("warm", f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"))
            return
        release_compiler_pages()
        connection.send(("warm", None))

    def report(deadline_s: float | None, limit_s: float | None) -> None:
        connection.send(("deadline", deadline_s, limit_s))

    limited = track_timeout_s is None or math.isfinite(track_timeout_s)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, path, wait = message
        if limited:  # the clock runs from now (reading and identifying the input), and again from the claim
            report(time.time() + track_time_limit_s(track_timeout_s), track_time_limit_s(track_timeout_s))
        result = ingest_track(Path(path), Path(out_dir), settings, stages, force=force, known_failures=known_failures,
                              max_duration_s=max_duration_s, wait_for_claim=wait, track_timeout_s=track_timeout_s,
                              on_deadline=report)
        connection.send(("result", result))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # the shell's convention for "terminated by signal N"


#: Executor names accepted by ``ingest(executor=...)`` and ``audiokit ingest --executor``.
EXECUTORS = ("local", "ray")
