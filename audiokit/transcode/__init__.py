"""Transcoding ladder: named ladders, exact-length renditions, gain tags, HLS/DASH, QA.

Examples
--------
>>> from audiokit.transcode import build_ladder
>>> result = build_ladder("examples/example.flac", "out/track", ladder="spotify-like", hls=True)
>>> [rendition.path for rendition in result.renditions][:3], result.degraded, result.hls_master
(['opus-24.opus', 'opus-96.opus', 'opus-160.opus'], False, 'master.m3u8')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..channels import downmix
    from .cover import CoverArt, read_cover_art
    from .gain import gain_tags, measure_loudness
    from .ladder import LADDER_MANIFEST, LadderResult, Rendition, build_ladder
    from .ladders import DEFAULT_LADDER, LADDERS, ladder_rungs
    from .normalize import normalize_master
    from .packaging import Variant
    from .qa import RenditionQA
    from .rungs import CODECS, Rung, load_rungs, parse_rungs

# Names resolved on first access (PEP 562): the ingest driver reads the named ladders
# (transcode.ladders) without loading the encoders, QA and Numba kernels its workers use.
_HOMES = {
    "downmix": "..channels",
    "CoverArt": ".cover", "read_cover_art": ".cover",
    "gain_tags": ".gain", "measure_loudness": ".gain",
    "LADDER_MANIFEST": ".ladder", "LadderResult": ".ladder", "Rendition": ".ladder", "build_ladder": ".ladder",
    "DEFAULT_LADDER": ".ladders", "LADDERS": ".ladders", "ladder_rungs": ".ladders",
    "normalize_master": ".normalize",
    "Variant": ".packaging",
    "RenditionQA": ".qa",
    "CODECS": ".rungs", "Rung": ".rungs", "load_rungs": ".rungs", "parse_rungs": ".rungs",
}


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


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
