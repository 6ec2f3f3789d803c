"""Ingest one track: identity, the stages, and the manifest written last.

A track's outputs are built in a hidden ``.ID.partial-HOST-PID-TOKEN`` folder
next to their final place and renamed into ``OUT/tracks/ID`` only when every core
stage succeeded and ``manifest.json`` is written, so a manifest's presence
means the track is complete, and a crash leaves only a partial folder that
the next run removes and redoes. While it works on a track a process holds
the track's claim (``OUT/tracks/.ID.claim``, see claims.py), so that several
ingest processes on one output folder never build the same track twice.

A track may have a time limit (:func:`track_time_limit_s`), counted from its
claim: the process writes its deadline into the claim, where processes
waiting for the track read it, and tells its executor through
``on_deadline``; the executor stops a process past it (executors.py). The
track is published only while the claim is still this attempt's.

The work comes in two halves so that an executor may run them in different
processes: :func:`start_track` (identity, the core stages) and
:func:`finish_track` (the model stages, the manifest, the rename into place).
:func:`ingest_track` runs both, one after the other.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, overload

from .._files import file_sha256, replace_dir, write_atomically
from .._version import __version__
from ..errors import AudiokitError, DurationLimitError, FormatError, MissingDependencyError, ParameterError
from ..io.probe import cached_probe, probe
from . import claims
from .context import Stage, StageSkipped, TrackContext
from .identity import track_id
from .manifest import MANIFEST_NAME, MANIFEST_VERSION
from .warmup import release_compiler_pages

__all__ = ["PartialTrack", "TrackResult", "TRACKS_DIR", "CLAIM_STAGE", "DEFAULT_TRACK_TIMEOUT", "DURATION_GUARD_STAGE",
           "RUN_GUARD_STAGES",
           "TIME_LIMIT_STAGE", "TRACK_TIMEOUT_MIN_S", "TRACK_TIMEOUT_PER_AUDIO_S", "check_track_timeout",
           "finish_track", "ingest_track", "split_stages", "start_track", "track_time_limit_s"]

#: Subfolder of OUT_DIR holding one folder per track id.
TRACKS_DIR = "tracks"
#: A partial folder made on another host is taken for abandoned when untouched this long (its PID means
#: nothing on this host); no stage of one track runs near that long.
FOREIGN_PARTIAL_MAX_AGE_S = 24 * 3600
#: The ``stage`` of a failure for an input longer than ``max_duration_s``: a guard of the run, not a fact
#: about the track under its settings, so the failure is not remembered (the limit is not part of the id).
DURATION_GUARD_STAGE = "max-duration"
#: The ``stage`` of a failure for a track that took longer than its time limit: how long a track takes
#: depends on the machine and its load as much as on the input, so the failure is not remembered either.
TIME_LIMIT_STAGE = "time-limit"
#: The ``stage`` of a failure for an attempt whose claim another process took over (it took the attempt
#: for abandoned or past its deadline): that process has the track now.
CLAIM_STAGE = "claim"
#: Stages whose failures are guards of the run, not facts about the track under its settings: recorded
#: in the catalog without a track id, so the failure memory does not hold them and the next run retries.
RUN_GUARD_STAGES = (DURATION_GUARD_STAGE, TIME_LIMIT_STAGE, CLAIM_STAGE)
#: The default time limit of a track is the larger of this, s, ...
TRACK_TIMEOUT_MIN_S = 600.0
#: ... and this many seconds per second of its audio (the probed duration). Core ingest runs at tens of
#: times real time here and the model stages at about real time or faster (docs/reliability.md).
TRACK_TIMEOUT_PER_AUDIO_S = 10.0
#: The default limit in words, for messages.
DEFAULT_TRACK_TIMEOUT = f"max({TRACK_TIMEOUT_MIN_S:g} s, {TRACK_TIMEOUT_PER_AUDIO_S:g} x the duration)"


@dataclass(frozen=True)
class TrackResult:
    """What happened to one input."""

    #: the input file
    input_path: str
    #: "ingested", "unchanged" (already complete: nothing done) or "failed"; inside an executor also
    #: "claimed" (another ingest process holds the track: the executor tries it again later, waiting)
    status: str
    #: content-and-settings id (None if the input could not be read)
    track_id: str | None = None
    #: path of the manifest, when the track is complete
    manifest_path: str | None = None
    #: one-line reason, when failed
    error: str | None = None
    #: wall-clock seconds spent on this input
    seconds: float = 0.0
    #: when failed: the stage that failed ("identify" before any stage, "worker" when its process died)
    stage: str | None = None
    #: when failed: True if this is a failure remembered from an earlier run (nothing was redone)
    remembered: bool = False
    #: True when the track shipped with something left out (a rendition failed QA; see the manifest)
    degraded: bool = False
    #: sha256 of the input, when it could be read
    input_sha256: str | None = None

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return asdict(self)


@dataclass
class PartialTrack:
    """A track whose core stages are done, waiting in its partial folder for its model stages.

    :func:`start_track` returns it and :func:`finish_track` completes it, in
    the same process (``ingest_track``) or in another one (a Ray model actor).
    """

    #: the input file
    path: Path
    #: the track's content-and-settings id
    track_id: str
    #: sha256 of the input file
    input_sha256: str
    #: where the track will live: OUT/tracks/ID
    final_dir: Path
    #: what the stages share; ``context.work_dir`` is the partial folder
    context: TrackContext
    #: stage name -> {"status", "seconds", ...}, so far
    stage_reports: dict
    #: seconds spent on the track so far
    seconds: float
    #: the time limit asked for (see :func:`track_time_limit_s`; ``math.inf``: none)
    track_timeout_s: float | None = math.inf
    #: when this process claimed the track, seconds since the epoch (the time limit counts from it)
    claimed_at_s: float = 0.0

    @property
    def token(self) -> str:
        """Names this attempt: the last field of the partial folder's name, and the claim's token."""
        return self.context.work_dir.name.rsplit("-", 1)[1]


#: Called as ``on_deadline(deadline_s, limit_s)`` when a track's deadline (seconds since the epoch) is set or
#: moved, and as ``on_deadline(None, None)`` when the process starts to wait for another process's claim.
OnDeadline = Callable[[float | None, float | None], None]


def ingest_track(path: Path, out_dir: Path, settings: dict, stages: tuple[Stage, ...], *,
                 force: bool = False, known_failures: Mapping[str, dict] | None = None,
                 max_duration_s: float | None = None, wait_for_claim: bool = True,
                 track_timeout_s: float | None = math.inf, on_deadline: OnDeadline | None = None) -> TrackResult:
    """Run ``stages`` on ``path`` and write ``OUT/tracks/ID/manifest.json`` last.

    Never raises for a bad input: the failure is returned in the result. An
    input whose track id is in ``known_failures`` (``{track_id: {"stage",
    "error"}}``, from the catalog) is not redone: its earlier failure is
    returned. See :func:`start_track` for ``max_duration_s``, ``wait_for_claim``,
    ``track_timeout_s`` and ``on_deadline``.
    """
    core, models = split_stages(stages)
    started = start_track(path, out_dir, settings, core, force=force, known_failures=known_failures,
                          max_duration_s=max_duration_s, wait_for_claim=wait_for_claim,
                          track_timeout_s=track_timeout_s, on_deadline=on_deadline)
    return started if isinstance(started, TrackResult) else finish_track(started, models)


def track_time_limit_s(track_timeout_s: float | None, duration_s: float | None = None) -> float:
    """The time limit of one track, s, counted from its claim.

    Parameters
    ----------
    track_timeout_s : float or None
        A fixed limit for every track (``math.inf``: none), or None for the default: the larger of
        :data:`TRACK_TIMEOUT_MIN_S` and :data:`TRACK_TIMEOUT_PER_AUDIO_S` times ``duration_s``.
    duration_s : float, optional
        The track's probed duration; None while it is not known yet (the default is then its minimum).

    Examples
    --------
    >>> track_time_limit_s(None, 3 * 3600.0), track_time_limit_s(None, 30.0), track_time_limit_s(5.0, 30.0)
    (108000.0, 600.0, 5.0)
    """
    if track_timeout_s is not None:
        return float(track_timeout_s)
    return max(TRACK_TIMEOUT_MIN_S, TRACK_TIMEOUT_PER_AUDIO_S * (duration_s or 0.0))


def check_track_timeout(track_timeout_s: float | None) -> None:
    """Raise ParameterError unless ``track_timeout_s`` is None (the default limit) or a positive number (inf: none)."""
    if track_timeout_s is None:
        return
    if isinstance(track_timeout_s, bool) or not isinstance(track_timeout_s, (int, float)) or not track_timeout_s > 0:
        raise ParameterError(f"track_timeout_s is {track_timeout_s!r}; expected a positive number of seconds, "
                             f"math.inf for no limit, or None for the default ({DEFAULT_TRACK_TIMEOUT})")


def split_stages(stages: tuple[Stage, ...]) -> tuple[tuple[Stage, ...], tuple[Stage, ...]]:
    """(core stages, model stages) of ``stages``, each in pipeline order; the core ones run first."""
    return tuple(stage for stage in stages if stage.core), tuple(stage for stage in stages if not stage.core)


def start_track(path: Path, out_dir: Path, settings: dict, stages: tuple[Stage, ...], *,
                force: bool = False, known_failures: Mapping[str, dict] | None = None,
                max_duration_s: float | None = None, wait_for_claim: bool = True,
                track_timeout_s: float | None = math.inf,
                on_deadline: OnDeadline | None = None) -> TrackResult | PartialTrack:
    """Identify the track, claim it, and run ``stages`` (the core ones) in a new partial folder.

    Returns a :class:`TrackResult` when there is nothing more to do (the track
    is already complete, or it failed; never raises for a bad input), else
    the :class:`PartialTrack` for :func:`finish_track`, which releases the claim.

    An input longer than ``max_duration_s`` fails (stage
    :data:`DURATION_GUARD_STAGE`) before its stages run: refused from its
    header where the format declares its length, else when decoding passes the
    limit. A track claimed by another live ingest process is waited for
    (``wait_for_claim``; "unchanged" if that process completes it meanwhile) or
    returned at once with the status "claimed".

    ``track_timeout_s`` is the track's time limit (see :func:`track_time_limit_s`;
    ``math.inf``, the default, none). This function does not enforce it: it
    writes the deadline into the claim (moved once the probe stage knows the
    duration) and reports it to ``on_deadline``, so that the executor can stop
    the process and other processes can take the track over.
    """
    clock = time.perf_counter()
    path = Path(path)
    identity = input_sha256 = None
    token = uuid.uuid4().hex[:8]
    claimed_dir: Path | None = None
    try:
        input_sha256 = file_sha256(path)
        identity = track_id(input_sha256, settings)
        final_dir = out_dir / TRACKS_DIR / identity

        def unchanged() -> TrackResult:
            return TrackResult(str(path), "unchanged", identity, str(final_dir / MANIFEST_NAME),
                               seconds=time.perf_counter() - clock, input_sha256=input_sha256)

        if (final_dir / MANIFEST_NAME).exists() and not force:
            return unchanged()
        earlier = (known_failures or {}).get(identity)
        if earlier is not None:  # same content, same settings: it would fail the same way
            return TrackResult(str(path), "failed", identity, error=earlier["error"], stage=earlier.get("stage"),
                               remembered=True, input_sha256=input_sha256, seconds=time.perf_counter() - clock)
        if max_duration_s is not None:
            try:
                probe(path, max_duration_s=max_duration_s)
            except DurationLimitError as error:
                return _failed(path, identity, error, time.perf_counter() - clock, stage=DURATION_GUARD_STAGE,
                               input_sha256=input_sha256)
            except FormatError:  # damaged, not too long: the probe stage fails it (and it is remembered)
                pass
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        limited = track_timeout_s is None or math.isfinite(track_timeout_s)
        probed = cached_probe(path)  # probed above for max_duration_s; else the probe stage moves the deadline
        limit_s = track_time_limit_s(track_timeout_s, probed.duration_s if probed is not None else None)
        claimed_at_s = time.time()
        waited = claims.take(final_dir, token, wait=False, deadline_s=claimed_at_s + limit_s if limited else None) is None
        if waited:
            if not wait_for_claim:
                return TrackResult(str(path), "claimed", identity, seconds=time.perf_counter() - clock,
                                   input_sha256=input_sha256)
            if on_deadline is not None and limited:
                on_deadline(None, None)  # the wait is not the track's time
            claims.take(final_dir, token, wait=True)
            claimed_at_s = time.time()
            if limited:
                claims.set_deadline(final_dir, token, claimed_at_s + limit_s)
        claimed_dir = final_dir
        if on_deadline is not None and limited:
            on_deadline(claimed_at_s + limit_s, limit_s)
        # Completed by another process before this one claimed it (with force: while this one waited).
        if (final_dir / MANIFEST_NAME).exists() and (waited or not force):
            claims.release(final_dir, token)
            return unchanged()
        _remove_abandoned_partials(final_dir)
        work_dir = final_dir.with_name(_partial_name(identity, token))
        work_dir.mkdir()
        track = PartialTrack(path, identity, input_sha256, final_dir,
                             TrackContext(path=path, work_dir=work_dir, settings=settings, track_id=identity), {}, 0.0,
                             track_timeout_s=track_timeout_s if limited else math.inf, claimed_at_s=claimed_at_s)
    except Exception as error:
        if claimed_dir is not None:
            claims.release(claimed_dir, token)
        return _failed(path, identity, error, time.perf_counter() - clock, stage="identify",
                       input_sha256=input_sha256)
    return _advance(track, stages, clock, finish=False, on_deadline=on_deadline)


def finish_track(track: PartialTrack, stages: tuple[Stage, ...]) -> TrackResult:
    """Run ``stages`` (the model ones) on a started track, write its manifest and move it into place.

    A track started in another process is first taken over: its claim and
    its partial folder are renamed after this process, so that no other run
    takes them for abandoned. Never raises for a bad input.
    """
    clock = time.perf_counter()
    try:
        _claim(track)
    except Exception as error:
        shutil.rmtree(track.context.work_dir, ignore_errors=True)  # this attempt's folder: nobody else's work
        return _failed(track.path, track.track_id, error, track.seconds + time.perf_counter() - clock,
                       stage=CLAIM_STAGE, input_sha256=track.input_sha256)
    return _advance(track, stages, clock, finish=True)


# With ``finish`` the track always ends as a TrackResult; without, it may go on as the PartialTrack.
@overload
def _advance(track: PartialTrack, stages: tuple[Stage, ...], clock: float, *,
             finish: Literal[True], on_deadline: OnDeadline | None = None) -> TrackResult: ...
@overload
def _advance(track: PartialTrack, stages: tuple[Stage, ...], clock: float, *,
             finish: Literal[False], on_deadline: OnDeadline | None = None) -> TrackResult | PartialTrack: ...
def _advance(track: PartialTrack, stages: tuple[Stage, ...], clock: float, *, finish: bool,
             on_deadline: OnDeadline | None = None) -> TrackResult | PartialTrack:
    """Run ``stages``; then, if ``finish``, write the manifest and rename the folder into place.

    Once the probe stage knows the duration, a duration-aware time limit moves the claim's deadline.
    """
    work_dir = track.context.work_dir
    current = "manifest"
    try:
        for stage in stages:
            current = stage.name
            _test_fault(stage.name, track.path)
            track.stage_reports[stage.name] = _run_stage(stage, track.context)
            if stage.name == "probe" and track.track_timeout_s is None:
                _move_deadline(track, track.context.results["probe"]["duration_s"], on_deadline)
        current = "manifest"
        track.seconds += time.perf_counter() - clock
        if not finish:
            return track
        if not claims.held(track.final_dir, track.token):  # e.g. this process hung past its deadline, then woke
            current = CLAIM_STAGE
            raise _claim_lost(track.path)
        write_atomically(work_dir / MANIFEST_NAME, json.dumps(_manifest(track), indent=2, allow_nan=False) + "\n")
        replace_dir(work_dir, track.final_dir)
    except BaseException as error:
        shutil.rmtree(work_dir, ignore_errors=True)
        claims.release(track.final_dir, track.token)
        if not isinstance(error, Exception):  # an interrupt: stop, leaving nothing half-written
            raise
        return _failed(track.path, track.track_id, error, track.seconds + time.perf_counter() - clock,
                       stage=current, input_sha256=track.input_sha256)
    claims.release(track.final_dir, track.token)
    return TrackResult(str(track.path), "ingested", track.track_id, str(track.final_dir / MANIFEST_NAME),
                       seconds=track.seconds, degraded=_degraded(track.context), input_sha256=track.input_sha256)


def _move_deadline(track: PartialTrack, duration_s: float, on_deadline: OnDeadline | None) -> None:
    """Set the track's deadline from its probed duration, in its claim and for its executor."""
    limit_s = track_time_limit_s(track.track_timeout_s, duration_s)
    if claims.set_deadline(track.final_dir, track.token, track.claimed_at_s + limit_s) and on_deadline is not None:
        on_deadline(track.claimed_at_s + limit_s, limit_s)


def _degraded(context: TrackContext) -> bool:
    return bool((context.results.get("ladder") or {}).get("degraded"))


#: Test hook: ``AUDIOKIT_TEST_FAULT=STAGE:ACTION:FILE_NAME`` makes the process about to run STAGE on an
#: input named FILE_NAME kill itself with signal ACTION (KILL, SEGV, ...), as a crashing codec or the OOM
#: killer would, or hang there: ACTION ``HANG`` sleeps for an hour; ``STUCK`` also ignores SIGTERM first, as
#: a decoder looping in C code never returns to the Python signal handler. Unset in production; tests set it.
TEST_FAULT_ENV = "AUDIOKIT_TEST_FAULT"


def _test_fault(stage: str, path: Path) -> None:
    spec = os.environ.get(TEST_FAULT_ENV)
    if not spec:
        return
    wanted_stage, action, file_name = spec.split(":", 2)
    if wanted_stage != stage or path.name != file_name:
        return
    import signal

    if action == "STUCK":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if action in ("HANG", "STUCK"):
        time.sleep(3600)
    else:
        os.kill(os.getpid(), getattr(signal, f"SIG{action}"))


def _manifest(track: PartialTrack) -> dict:
    context = track.context
    return {
        "manifest_version": MANIFEST_VERSION,
        "audiokit_version": __version__,
        "track_id": track.track_id,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": context.settings,
        "source": {"file_name": track.path.name, "input_path": str(track.path), "sha256": track.input_sha256,
                   "size_bytes": track.path.stat().st_size, **context.results["probe"]},
        **context.manifest_sections(),
        "degraded": _degraded(context),
        "stages": track.stage_reports,
    }


def _failed(path: Path, identity: str | None, error: Exception, seconds: float, *, stage: str | None,
            input_sha256: str | None) -> TrackResult:
    if isinstance(error, (AudiokitError, OSError)):
        reason = _one_line(error)
    else:  # a bug must not stop the batch; keep its type and message for the report
        reason = "internal error: " + traceback.format_exception_only(type(error), error)[-1].strip()
    return TrackResult(str(path), "failed", identity, error=reason, seconds=seconds, stage=stage,
                       input_sha256=input_sha256)


def _run_stage(stage: Stage, context: TrackContext) -> dict:
    """Run one stage; core failures propagate, optional ones are recorded."""
    started = time.perf_counter()
    try:
        context.results[stage.name] = stage.run(context)
        status, reason = "ok", None
    except (StageSkipped, MissingDependencyError) as skipped:  # e.g. the ml extra is not installed
        if stage.core:
            raise AudiokitError(f"core stage {stage.name} cannot run: {skipped}") from None
        status, reason = "skipped", _one_line(skipped)
    except AudiokitError as error:
        if stage.core:
            raise
        status, reason = "failed", _one_line(error)
    finally:
        release_compiler_pages()  # whatever LLVM the stage's first use of a kernel made resident
    report = {"status": status, "seconds": round(time.perf_counter() - started, 4)}
    if reason:
        report["reason"] = reason
    return report


def _partial_name(identity: str, token: str) -> str:
    """``.ID.partial-HOST-PID-TOKEN``: the host and PID of the process working in it, and a token naming the attempt."""
    return f".{identity}.partial-{socket.gethostname()}-{os.getpid()}-{token}"


def _claim(track: PartialTrack) -> None:
    """Make this process the holder of the track's claim and partial folder (it may have been started by another)."""
    work_dir = track.context.work_dir
    token = track.token
    if not claims.hand_over(track.final_dir, token):
        raise _claim_lost(track.path)
    mine = work_dir.with_name(_partial_name(track.track_id, token))
    if work_dir == mine:
        return
    # A retried call finds the folder under the name an earlier, dead attempt gave it.
    candidates = sorted(work_dir.parent.glob(f".{track.track_id}.partial-*-{token}"))
    if not candidates:
        raise AudiokitError(f"the partial folder {work_dir} of {track.path} is gone (removed as abandoned "
                            "while it waited for its model stages?); rerun the batch to redo the track")
    candidates[0].rename(mine)
    track.context.work_dir = mine


def _claim_lost(path: Path) -> AudiokitError:
    return AudiokitError(f"the claim on {path} was taken over by another ingest process, which took this attempt "
                         "for abandoned (past its deadline, untouched too long, or waiting for its model stages); "
                         "this attempt was discarded so that the track is built once; rerun the batch to redo the "
                         "track if that process failed it")


def _remove_abandoned_partials(final_dir: Path) -> None:
    """Delete partial folders of this track whose process is gone.

    A folder made on this host is abandoned when its process no longer runs.
    One made on another host (shared storage) is judged by age alone, since its
    PID means nothing here: untouched for FOREIGN_PARTIAL_MAX_AGE_S.
    """
    prefix = f".{final_dir.name}.partial-"
    for partial in final_dir.parent.glob(prefix + "*"):
        fields = partial.name[len(prefix):].rsplit("-", 2)  # HOST (may hold dashes), PID, TOKEN
        if len(fields) == 3 and fields[0] == socket.gethostname():
            abandoned = not (fields[1].isdigit() and claims.process_alive(int(fields[1])))
        else:
            try:
                abandoned = time.time() - partial.stat().st_mtime > FOREIGN_PARTIAL_MAX_AGE_S
            except FileNotFoundError:  # removed meanwhile by another run
                continue
        if abandoned:
            shutil.rmtree(partial, ignore_errors=True)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
