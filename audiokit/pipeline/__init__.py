"""The ingest pipeline: per-track stages, manifests, the catalog and the batch executor.

Examples
--------
>>> from audiokit.pipeline import IngestOptions, ingest
>>> summary = ingest(["examples/example.flac"], "out", IngestOptions(ladder="hls-aac", hls=True), jobs=1)
>>> summary.counts
{'ingested': 1}
>>> ingest(["examples/example.flac"], "out", IngestOptions(ladder="hls-aac", hls=True), jobs=1).counts
{'unchanged': 1}
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
