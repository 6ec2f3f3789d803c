"""HTML reports of ingested tracks: one self-contained page per track, one index page per output folder.

Examples
--------
>>> from audiokit.report import write_reports
>>> pages = write_reports("out")                    # doctest: +SKIP
>>> pages[-1]                                       # doctest: +SKIP
PosixPath('out/report/index.html')
"""

from .index import INDEX_DIR, add_to_index, index_entry, write_index, write_reports
from .page import REPORT_NAME, render_track_report, write_track_report

__all__ = ["INDEX_DIR", "REPORT_NAME", "add_to_index", "index_entry", "render_track_report", "write_index",
           "write_reports", "write_track_report"]
