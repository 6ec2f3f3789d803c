"""The ingest pipeline: per-track stages, manifests, the catalog and the batch executor.

Examples
--------
>>> from audiokit.pipeline import IngestOptions, ingest
>>> summary = ingest(["uploads/"], "out", IngestOptions(hls=True), jobs=2)  # doctest: +SKIP
>>> summary.counts                                                          # doctest: +SKIP
{'ingested': 12, 'failed': 1}
"""

from .batch import BatchSummary, IngestOptions, ingest
from .catalog import CATALOG_NAME, Catalog
from .manifest import MANIFEST_NAME, MANIFEST_VERSION, read_manifest
from .track import TrackResult

__all__ = [
    "BatchSummary",
    "CATALOG_NAME",
    "Catalog",
    "IngestOptions",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "TrackResult",
    "ingest",
    "read_manifest",
]
