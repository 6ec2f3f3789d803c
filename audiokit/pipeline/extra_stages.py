"""Optional ingest stages for players and the catalog: waveform peaks, a fingerprint, the HTML report.

:data:`CATALOG_STAGES` holds them, non-core, in the order they run. In the
pipeline, ``peaks`` and ``fingerprint`` belong after the ``ladder`` stage (they
need only the source) and ``report`` runs last, after every stage whose
results it shows (ladder, tags, analysis, transcript, moderation).

Each streams the input file itself (``context.path``) block by block through
:func:`audiokit.io.source.open_source`, so its memory is bounded by the block
size whatever the track's length, and none relies on ``context.audio``.
"""

from __future__ import annotations

from pathlib import Path

from .context import Stage, TrackContext

__all__ = ["CATALOG_STAGES", "PEAKS_DIR", "PEAKS_SAMPLES_PER_PIXEL"]

#: Zoom levels of the waveform peaks written per track, frames per pixel: a detailed one (audiowaveform's
#: default of 256 doubled: about 86 pixels a second at 44.1 kHz) and an overview 16 times coarser.
PEAKS_SAMPLES_PER_PIXEL = (512, 8192)
#: Folder of the track holding the peaks, one audiowaveform JSON file per zoom level.
PEAKS_DIR = "waveform"


def _peaks(context: TrackContext) -> dict:
    """Waveform peaks at :data:`PEAKS_SAMPLES_PER_PIXEL`, as peaks.js / audiowaveform JSON in ``waveform/``."""
    from ..waveform import waveform_peaks, write_peaks

    folder = context.work_dir / PEAKS_DIR
    folder.mkdir(exist_ok=True)
    levels = []
    for level in waveform_peaks(context.path, samples_per_pixel=PEAKS_SAMPLES_PER_PIXEL, bits=8):
        path = folder / f"peaks-{level.samples_per_pixel}.json"
        write_peaks(path, level)
        levels.append({"samples_per_pixel": level.samples_per_pixel, "length": level.length,
                       "path": str(path.relative_to(context.work_dir))})
    return {"format": "audiowaveform", "version": 2, "bits": 8, "channels": level.channels,
            "sample_rate": level.sample_rate, "levels": levels}


def _fingerprint(context: TrackContext) -> dict:
    """The Chromaprint fingerprint of the input (:meth:`audiokit.fingerprint.Fingerprint.to_dict`)."""
    from ..fingerprint import fingerprint

    return fingerprint(context.path).to_dict()


def _report(context: TrackContext) -> dict:
    """``report.html`` in the track folder, and this track's entry of the run's index page."""
    from ..report import REPORT_NAME, add_to_index, write_track_report

    document = {
        "track_id": context.track_id,
        "source": {"file_name": context.path.name, "input_path": str(context.path), **context.results["probe"]},
        **context.manifest_sections(),
    }
    written = write_track_report(document, context.work_dir, source=context.path,
                                 output=context.work_dir / REPORT_NAME)
    add_to_index(context.work_dir.parent.parent, document)  # the work folder is OUT/tracks/.ID.partial-...
    return {"path": REPORT_NAME, "size_bytes": Path(written).stat().st_size}


#: The stages of this module, non-core, in pipeline order: peaks and fingerprint after the ladder, report last.
CATALOG_STAGES = (
    Stage("peaks", _peaks, core=False),
    Stage("fingerprint", _fingerprint, core=False),
    Stage("report", _report, core=False),
)
