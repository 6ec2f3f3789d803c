"""HTML reports of ingested tracks: one self-contained page per track, one index page per output folder.

The ingest stage ``report`` (:mod:`audiokit.pipeline.extra_stages`) writes
them as tracks are ingested; :func:`write_reports` (``audiokit catalog report``)
rewrites them from a catalog, e.g. ``write_reports("out")`` returns the pages
written, ``out/report/index.html`` last. The measurements behind the pictures
are :func:`audiokit.report.measure.measure_track`'s.
"""

from .index import INDEX_DIR, add_to_index, index_entry, write_index, write_reports
from .page import REPORT_NAME, render_track_report, write_track_report

__all__ = ["INDEX_DIR", "REPORT_NAME", "add_to_index", "index_entry", "render_track_report", "write_index",
           "write_reports", "write_track_report"]
