"""Optional ingest stages for players and the catalog: waveform peaks, a fingerprint, the HTML report.

:data:`CATALOG_STAGES` holds them, non-core, in the order they run. In the
pipeline, ``peaks`` and ``fingerprint`` belong after the ``ladder`` stage (they
need only the source) and ``report`` runs last, after every stage whose
results it shows (ladder, tags, analysis, transcript, moderation).

Each needs only the input's blocks, so each declares a rider
(:attr:`~.context.Stage.rider`): a streaming builder the decode stage feeds from
its one pass (:class:`audiokit.waveform.PeaksBuilder`,
:class:`audiokit.fingerprint.FingerprintBuilder`,
:class:`audiokit.report.measure.TrackMeasurer`). The stage itself only writes
what its builder made; a stage the pass did not feed streams the input file
into a builder of its own (:meth:`~.context.TrackContext.pass_result`). Either
way memory is bounded by the block size whatever the track's length, and none
relies on ``context.audio``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .context import Stage, TrackContext

if TYPE_CHECKING:
    from ..fingerprint import FingerprintBuilder
    from ..report.measure import TrackMeasurer
    from ..waveform import PeaksBuilder

__all__ = ["CATALOG_STAGES", "PEAKS_BITS", "PEAKS_DIR", "PEAKS_SAMPLES_PER_PIXEL"]

#: Zoom levels of the waveform peaks written per track, frames per pixel: a detailed one (audiowaveform's
#: default of 256 doubled: about 86 pixels a second at 44.1 kHz) and an overview 16 times coarser.
PEAKS_SAMPLES_PER_PIXEL = (512, 8192)
#: Folder of the track holding the peaks, one audiowaveform JSON file per zoom level.
PEAKS_DIR = "waveform"
#: Bits of the waveform peaks written (audiowaveform's ``-b 8``: one byte per value).
PEAKS_BITS = 8


def _peaks_builder(context: TrackContext) -> PeaksBuilder:
    from ..waveform import PeaksBuilder

    info = context.require_info()
    return PeaksBuilder(info.sample_rate, info.num_channels, samples_per_pixel=PEAKS_SAMPLES_PER_PIXEL,
                        bits=PEAKS_BITS)


def _peaks(context: TrackContext) -> dict:
    """Waveform peaks at :data:`PEAKS_SAMPLES_PER_PIXEL`, as peaks.js / audiowaveform JSON in ``waveform/``."""
    from ..waveform import write_peaks

    folder = context.work_dir / PEAKS_DIR
    folder.mkdir(exist_ok=True)
    levels = []
    for level in context.pass_result("peaks", _peaks_builder):
        path = folder / f"peaks-{level.samples_per_pixel}.json"
        write_peaks(path, level)
        levels.append({"samples_per_pixel": level.samples_per_pixel, "length": level.length,
                       "path": str(path.relative_to(context.work_dir))})
    return {"format": "audiowaveform", "version": 2, "bits": PEAKS_BITS, "channels": level.channels,
            "sample_rate": level.sample_rate, "levels": levels}


def _fingerprint_builder(context: TrackContext) -> FingerprintBuilder:
    from ..fingerprint import FingerprintBuilder

    return FingerprintBuilder(context.require_info().sample_rate)


def _fingerprint(context: TrackContext) -> dict:
    """The Chromaprint fingerprint of the input (:meth:`audiokit.fingerprint.Fingerprint.to_dict`)."""
    return context.pass_result("fingerprint", _fingerprint_builder).to_dict()


def _report_measurer(context: TrackContext) -> TrackMeasurer:
    from ..report.measure import TrackMeasurer

    info = context.require_info()
    # The page draws the peaks stage's finest level when that stage runs; else the measurer takes its own.
    return TrackMeasurer(info.sample_rate, info.num_channels, info.num_frames,
                         with_peaks="peaks" not in context.selected_stages, channel_layout=info.channel_layout)


def _report(context: TrackContext) -> dict:
    """``report.html`` in the track folder, and this track's entry of the run's index page."""
    from ..report import REPORT_NAME, add_to_index, write_track_report

    document = {
        "track_id": context.track_id,
        "source": {"file_name": context.path.name, "input_path": str(context.path), **context.results["probe"]},
        **context.manifest_sections(),
    }
    written = write_track_report(document, context.work_dir, source=context.pass_result("report", _report_measurer),
                                 output=context.work_dir / REPORT_NAME)
    add_to_index(context.work_dir.parent.parent, document)  # the work folder is OUT/tracks/.ID.partial-...
    return {"path": REPORT_NAME, "size_bytes": Path(written).stat().st_size}


#: The stages of this module, non-core, in pipeline order: peaks and fingerprint after the ladder, report last.
CATALOG_STAGES = (
    Stage("peaks", _peaks, core=False, rider=_peaks_builder),
    Stage("fingerprint", _fingerprint, core=False, rider=_fingerprint_builder),
    Stage("report", _report, core=False, rider=_report_measurer),
)
