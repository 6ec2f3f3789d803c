"""Transcoding ladder: named ladders, exact-length renditions, gain tags, HLS/DASH, QA.

Examples
--------
>>> from audiokit.transcode import build_ladder
>>> result = build_ladder("examples/example.flac", "out/track", ladder="spotify-like", hls=True)
>>> [rendition.path for rendition in result.renditions][:3], result.degraded, result.hls_master
(['opus-24.opus', 'opus-96.opus', 'opus-160.opus'], False, 'master.m3u8')
"""

from ..channels import downmix
from .cover import CoverArt, read_cover_art
from .gain import gain_tags, measure_loudness
from .ladder import LADDER_MANIFEST, LadderResult, Rendition, build_ladder
from .ladders import DEFAULT_LADDER, LADDERS, ladder_rungs
from .normalize import normalize_master
from .packaging import Variant
from .qa import RenditionQA
from .rungs import CODECS, Rung, load_rungs, parse_rungs

__all__ = [
    "CODECS",
    "CoverArt",
    "DEFAULT_LADDER",
    "LADDERS",
    "LADDER_MANIFEST",
    "LadderResult",
    "Rendition",
    "RenditionQA",
    "Rung",
    "Variant",
    "build_ladder",
    "downmix",
    "gain_tags",
    "ladder_rungs",
    "load_rungs",
    "measure_loudness",
    "normalize_master",
    "parse_rungs",
    "read_cover_art",
]
