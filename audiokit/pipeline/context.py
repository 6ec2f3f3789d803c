"""What the ingest stages share: :class:`TrackContext`, :class:`Stage` and :class:`StageSkipped`.

A module of its own so that the stage modules (:mod:`.stages`, :mod:`.extra_stages`)
and the track runner (:mod:`.track`) import one definition.

A stage that only needs the input's blocks declares a :attr:`Stage.rider`: a
``process(block)`` / ``flush()`` builder that the decode stage feeds from its
one streaming pass when the stage is selected. The stage then finishes what
the pass fed (:meth:`TrackContext.pass_result`), or, when no pass fed it,
streams the file into a builder of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .._arrays import BLOCK_FRAMES
from ..audio import Audio
from ..errors import AudiokitError
from ..io.probe import MediaInfo

if TYPE_CHECKING:
    from ..transcode import LadderResult

__all__ = ["PassBuilder", "Stage", "StageSkipped", "TrackContext"]


class StageSkipped(Exception):
    """Raised by a stage that cannot run here; the message says why."""


class PassBuilder(Protocol):
    """What a stage's rider builds: fed every ``(channels, frames)`` block of the input, then flushed once."""

    def process(self, block: np.ndarray) -> None: ...  # noqa: D102 - the protocol's two calls

    def flush(self) -> Any: ...  # noqa: D102 - returns the stage's result (peaks, a fingerprint, ...)


@dataclass
class TrackContext:
    """What the stages of one track share (mutable: each stage fills its part)."""

    #: the input file
    path: Path
    #: folder the track's outputs are written to (renamed into place at the end)
    work_dir: Path
    #: the ingest settings (preset, hls, dash, ...)
    settings: dict
    #: the track's content-and-settings id (:func:`audiokit.pipeline.identity.track_id`)
    track_id: str = ""
    #: filled by the probe stage
    info: MediaInfo | None = None
    #: filled by the decode stage: what its streaming pass measured and made
    ladder: LadderResult | None = None
    #: the whole track, decoded by :meth:`require_audio` on first use (the model stages)
    audio: Audio | None = None
    #: manifest sections written so far, by stage name
    results: dict = field(default_factory=dict)
    #: filled by the tags stage: TagResult by model name
    tag_results: dict = field(default_factory=dict)
    #: filled by the decode stage: what each selected stage's rider made of the pass (its builder's
    #: ``flush()``), by stage name, until the stage takes it (:meth:`pass_result`)
    fed: dict = field(default_factory=dict)

    @property
    def selected_stages(self) -> frozenset[str]:
        """Names of the stages this track runs: the ``stages`` of its settings, as ingest resolved them."""
        return frozenset(self.settings.get("stages", ()))

    def pass_result(self, stage: str, build: Callable[[TrackContext], PassBuilder]) -> Any:
        """What the decode stage's pass fed ``stage``'s builder; without one, the file streamed into ``build(self)``.

        The pass fed nothing when ``stage`` was not among :attr:`selected_stages` as
        the decode stage ran (a stage run on its own, a track started by an older
        run): the input is then decoded again here, in blocks.

        Raises
        ------
        FormatError
            If the file cannot be decoded.
        """
        if stage in self.fed:
            return self.fed.pop(stage)
        from ..io.source import open_source

        builder = build(self)
        with open_source(self.path) as reader:
            for block in reader.blocks(BLOCK_FRAMES):
                builder.process(block)
        return builder.flush()
    #: values several stages derive from the track and compute once, by name (never written to the
    #: manifest): the model stages keep the 16 kHz mono signal and its voice-activity scores here
    shared: dict = field(default_factory=dict)

    def manifest_sections(self) -> dict:
        """The stage results that are manifest sections of their own.

        ``probe`` goes under the manifest's ``source``; ``decode`` (the streaming pass) has no section.
        """
        return {name: value for name, value in self.results.items() if name not in ("probe", "decode")}

    def require_info(self) -> MediaInfo:
        """:attr:`info`, for the stages that run after the probe stage.

        Raises
        ------
        AudiokitError
            If the probe stage has not run.
        """
        if self.info is None:
            raise AudiokitError(f"{self.path}: no media info; the probe stage must run first")
        return self.info

    def require_ladder(self) -> LadderResult:
        """:attr:`ladder`, for the stages that run after the decode stage.

        Raises
        ------
        AudiokitError
            If the decode stage has not run.
        """
        if self.ladder is None:
            raise AudiokitError(f"{self.path}: no streaming pass result; the decode stage must run first")
        return self.ladder

    def require_audio(self) -> Audio:
        """The whole track, decoded on the first call (the core stages never need it whole).

        Raises
        ------
        FormatError
            If the file cannot be decoded.
        """
        if self.audio is None:
            from ..io.source import as_audio

            self.audio = as_audio(self.path)
        return self.audio


@dataclass(frozen=True)
class Stage:
    """One named step of the ingest pipeline."""

    #: manifest key and --stages name
    name: str
    #: the function that runs it
    run: Callable[[TrackContext], object]
    #: True for the stages every track needs (a failure fails the track); the others use models
    core: bool
    #: loads the stage's model into this process's caches, so that a worker that runs many tracks
    #: (a Ray model actor) pays for it once, before its first track
    load: Callable[[], None] | None = None
    #: makes the stage's builder for the decode stage's pass, when the stage needs only the input's
    #: blocks; the stage then takes its result from :meth:`TrackContext.pass_result`
    rider: Callable[[TrackContext], PassBuilder] | None = None
