"""Ingest one track: identity, the stages, and the manifest written last.

A track's outputs are built in a hidden ``.ID.partial-PID-XXXX`` folder next
to their final place and renamed into ``OUT/tracks/ID`` only when every core
stage succeeded and ``manifest.json`` is written, so a manifest's presence
means the track is complete, and a crash leaves only a partial folder that
the next run removes and redoes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .._files import file_sha256, replace_dir, write_atomically
from .._version import __version__
from ..errors import AudiokitError, MissingDependencyError
from .identity import track_id
from .manifest import MANIFEST_NAME, MANIFEST_VERSION
from .stages import Stage, StageSkipped, TrackContext

__all__ = ["TrackResult", "ingest_track", "TRACKS_DIR"]

#: Subfolder of OUT_DIR holding one folder per track id.
TRACKS_DIR = "tracks"


@dataclass(frozen=True)
class TrackResult:
    """What happened to one input."""

    #: the input file
    input_path: str
    #: "ingested", "unchanged" (already complete: nothing done) or "failed"
    status: str
    #: content-and-settings id (None if the input could not be read)
    track_id: str | None = None
    #: path of the manifest, when the track is complete
    manifest_path: str | None = None
    #: one-line reason, when failed
    error: str | None = None
    #: wall-clock seconds spent on this input
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def ingest_track(path: Path, out_dir: Path, settings: dict, stages: tuple[Stage, ...], *,
                 force: bool = False) -> TrackResult:
    """Run ``stages`` on ``path`` and write ``OUT/tracks/ID/manifest.json`` last.

    Never raises for a bad input: the failure is returned in the result.
    """
    started = time.perf_counter()
    path = Path(path)
    identity = None
    try:
        input_sha256 = file_sha256(path)
        identity = track_id(input_sha256, settings)
        final_dir = out_dir / TRACKS_DIR / identity
        if (final_dir / MANIFEST_NAME).exists() and not force:
            return TrackResult(str(path), "unchanged", identity, str(final_dir / MANIFEST_NAME),
                               seconds=time.perf_counter() - started)
        manifest_path = _build(path, final_dir, identity, input_sha256, settings, stages)
    except (AudiokitError, OSError) as error:
        return TrackResult(str(path), "failed", identity, error=_one_line(error),
                           seconds=time.perf_counter() - started)
    except Exception as error:  # a bug must not stop the batch; keep its traceback for the report
        detail = traceback.format_exception_only(type(error), error)[-1].strip()
        return TrackResult(str(path), "failed", identity, error=f"internal error: {detail}",
                           seconds=time.perf_counter() - started)
    return TrackResult(str(path), "ingested", identity, str(manifest_path), seconds=time.perf_counter() - started)


def _build(path: Path, final_dir: Path, identity: str, input_sha256: str, settings: dict,
           stages: tuple[Stage, ...]) -> Path:
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_partials(final_dir)
    work_dir = final_dir.with_name(f".{identity}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    work_dir.mkdir()
    try:
        context = TrackContext(path=path, work_dir=work_dir, settings=settings)
        stage_reports = {}
        for stage in stages:
            stage_reports[stage.name] = _run_stage(stage, context)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "audiokit_version": __version__,
            "track_id": identity,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "settings": settings,
            "source": {"file_name": path.name, "input_path": str(path), "sha256": input_sha256,
                       "size_bytes": path.stat().st_size, **context.results["probe"]},
            **{name: value for name, value in context.results.items() if name not in ("probe", "decode")},
            "stages": stage_reports,
        }
        write_atomically(work_dir / MANIFEST_NAME, json.dumps(manifest, indent=2, allow_nan=False) + "\n")
        replace_dir(work_dir, final_dir)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return final_dir / MANIFEST_NAME


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
    report = {"status": status, "seconds": round(time.perf_counter() - started, 4)}
    if reason:
        report["reason"] = reason
    return report


def _remove_abandoned_partials(final_dir: Path) -> None:
    """Delete partial folders of this track left by processes that no longer run."""
    for partial in final_dir.parent.glob(f".{final_dir.name}.partial-*"):
        pid = partial.name.split("-")[1]
        if not (pid.isdigit() and _process_alive(int(pid))):
            shutil.rmtree(partial, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
