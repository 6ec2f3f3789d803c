"""The stages of ``audiokit ingest``, one function each, run in order per track.

Every stage takes the :class:`TrackContext` and returns the JSON-ready value
it adds to the manifest under its own key (or None). A stage whose optional
module or extra is missing raises :class:`StageSkipped`; the manifest then
records it as skipped with the reason, never silently drops it.

The core stages decode the track once, in blocks, and never hold it whole:
``decode`` is the one streaming pass (:func:`audiokit.transcode.build_ladder`:
each block goes to the source's loudness meter and every rendition's encoder,
and to the builders of the selected stages that declare a rider: peaks,
fingerprint, report), and ``loudness``, ``ladder`` and those stages write what
that pass measured and made. The model stages (:mod:`.model_stages`) that need
the whole signal get it from :meth:`TrackContext.require_audio`, which decodes
it on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import AudiokitError, ParameterError
from .context import PassBuilder, Stage, StageSkipped, TrackContext
from .extra_stages import CATALOG_STAGES
from .model_stages import MODEL_STAGES

__all__ = ["CORE_STAGES", "STAGES", "Stage", "StageSkipped", "TrackContext", "resolve_stages"]


def _probe(context: TrackContext) -> dict:
    from ..io.probe import probe

    context.info = probe(context.path)
    return context.info.to_dict()


class _Rider:
    """Feeds one selected stage's builder during the decode stage's pass and keeps what its ``flush()`` returns."""

    def __init__(self, builder: PassBuilder) -> None:
        self._builder = builder
        self.result: Any = None

    def process(self, block: np.ndarray) -> None:
        self._builder.process(block)

    def flush(self) -> None:
        self.result = self._builder.flush()


def _riders(context: TrackContext) -> dict[str, _Rider]:
    """A rider for each selected stage that declares one, by stage name.

    A stage whose builder cannot be made here (an optional dependency is
    missing) rides without one: when it runs, it reports that itself.
    """
    riders = {}
    for stage in STAGES:
        if stage.rider is not None and stage.name in context.selected_stages:
            try:
                riders[stage.name] = _Rider(stage.rider(context))
            except AudiokitError:
                continue
    return riders


def _decode(context: TrackContext) -> dict:
    """The one streaming pass: the file decoded in blocks, fanned out to the loudness meter, the encoders and riders.

    The riders are the builders of the selected stages that need only the
    input's blocks (peaks, fingerprint, report); what they made waits in
    :attr:`TrackContext.fed` for those stages.
    """
    from .. import transcode

    context.require_info()
    riders = _riders(context)
    context.ladder = transcode.build_ladder(
        context.path, context.work_dir / "renditions", ladder=context.settings["preset"],
        hls=context.settings["hls"], dash=context.settings["dash"], qa=context.settings.get("qa", "fast"),
        consumers=list(riders.values()),
    )
    context.fed.update((name, rider.result) for name, rider in riders.items())
    return {"num_frames": context.ladder.source_num_frames, "sample_rate": context.ladder.source_sample_rate}


def _loudness(context: TrackContext) -> dict:
    """The source's BS.1770 report (probed channel layout), measured in the decode stage's pass."""
    from .. import loudness

    report = context.require_ladder().source_loudness
    if report is None:
        raise AudiokitError(f"{context.path}: the streaming pass measured no loudness")
    document = report.to_dict()
    document["normalization"] = loudness.preset_gains(report)
    return document


def _ladder(context: TrackContext) -> dict:
    """The renditions the decode stage's pass encoded, checked and packaged."""
    document = context.require_ladder().to_dict()
    # The ladder was built inside the track's partial folder; record where it lives in the final one.
    document["out_dir"] = "renditions"
    return document


#: Every stage, in the order ingest runs them.
STAGES = (
    Stage("probe", _probe, core=True),
    Stage("decode", _decode, core=True),
    Stage("loudness", _loudness, core=True),
    Stage("ladder", _ladder, core=True),
    *(stage for stage in CATALOG_STAGES if stage.name != "report"),
    *MODEL_STAGES,
    *(stage for stage in CATALOG_STAGES if stage.name == "report"),  # last: it shows every other stage's results
)
CORE_STAGES = tuple(stage.name for stage in STAGES if stage.core)


def resolve_stages(selection: str) -> tuple[Stage, ...]:
    """Stages for ``--stages``: ``core``, ``all`` or a comma-separated list of names.

    The core stages always run: every other stage builds on them. ``core`` may
    also open a list (``core,peaks,fingerprint``).

    Examples
    --------
    >>> [stage.name for stage in resolve_stages("core,peaks")]
    ['probe', 'decode', 'loudness', 'ladder', 'peaks']
    """
    by_name = {stage.name: stage for stage in STAGES}
    if selection == "all":
        return STAGES
    wanted = set(CORE_STAGES)
    if selection != "core":
        names = [name.strip() for name in selection.split(",") if name.strip() and name.strip() != "core"]
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ParameterError(
                f"unknown stage(s) {', '.join(unknown)}; choose from core, all, {', '.join(by_name)}")
        wanted.update(names)
    return tuple(stage for stage in STAGES if stage.name in wanted)
