"""The stages of ``audiokit ingest``, one function each, run in order per track.

Every stage takes the :class:`TrackContext` and returns the JSON-ready value
it adds to the manifest under its own key (or None). A stage whose optional
module or extra is missing raises :class:`StageSkipped`; the manifest then
records it as skipped with the reason, never silently drops it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import Audio
from ..io.probe import MediaInfo

__all__ = ["CORE_STAGES", "STAGES", "Stage", "StageSkipped", "TrackContext", "resolve_stages"]


class StageSkipped(Exception):
    """Raised by a stage that cannot run here; the message says why."""


@dataclass
class TrackContext:
    """What the stages of one track share (mutable: each stage fills its part)."""

    #: the input file
    path: Path
    #: folder the track's outputs are written to (renamed into place at the end)
    work_dir: Path
    #: the ingest settings (preset, hls, dash, ...)
    settings: dict
    #: filled by the probe stage
    info: MediaInfo | None = None
    #: filled by the decode stage: the whole track, decoded once
    audio: Audio | None = None
    #: manifest sections written so far, by stage name
    results: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One named step of the ingest pipeline."""

    #: manifest key and --stages name
    name: str
    #: the function that runs it
    run: Callable[[TrackContext], object]
    #: True for the stages every track needs (a failure fails the track)
    core: bool


def _probe(context: TrackContext) -> dict:
    from ..io.probe import probe

    context.info = probe(context.path)
    return context.info.to_dict()


def _decode(context: TrackContext) -> dict:
    from ..io.reader import read

    context.audio = read(context.path)
    return {"num_frames": context.audio.num_frames, "sample_rate": context.audio.sample_rate}


def _loudness(context: TrackContext) -> dict:
    from .. import loudness

    with warnings.catch_warnings():  # undefined values are recorded as null in the manifest
        warnings.simplefilter("ignore", loudness.LoudnessWarning)
        report = loudness.measure(context.audio.samples, context.audio.sample_rate,
                                  channel_layout=context.info.channel_layout)
    document = report.to_dict()
    if hasattr(loudness, "preset_gains"):
        document["normalization"] = loudness.preset_gains(report)
    return document


def _ladder(context: TrackContext) -> dict:
    from .. import transcode

    result = transcode.build_ladder(
        context.audio, context.work_dir / "renditions", preset=context.settings["preset"],
        hls=context.settings["hls"], dash=context.settings["dash"], source_info=context.info,
    )
    return result.to_dict()


#: Every stage, in the order ingest runs them.
STAGES = (
    Stage("probe", _probe, core=True),
    Stage("decode", _decode, core=True),
    Stage("loudness", _loudness, core=True),
    Stage("ladder", _ladder, core=True),
)
CORE_STAGES = tuple(stage.name for stage in STAGES if stage.core)


def resolve_stages(selection: str) -> tuple[Stage, ...]:
    """Stages for ``--stages``: ``core``, ``all`` or a comma-separated list of names.

    The core stages always run: every other stage builds on them.
    """
    from ..errors import ParameterError

    by_name = {stage.name: stage for stage in STAGES}
    if selection == "all":
        return STAGES
    wanted = set(CORE_STAGES)
    if selection != "core":
        names = [name.strip() for name in selection.split(",") if name.strip()]
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ParameterError(
                f"unknown stage(s) {', '.join(unknown)}; choose from core, all, {', '.join(by_name)}")
        wanted.update(names)
    return tuple(stage for stage in STAGES if stage.name in wanted)
