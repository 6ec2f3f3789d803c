"""The named ladders: ``spotify-like``, ``hls-aac`` and ``podcast``.

Opus replaces Vorbis everywhere: ffmpeg's only Vorbis encoder ignores the
bitrate, which makes it useless for a ladder.
"""

from __future__ import annotations

from ..errors import ParameterError
from .rungs import Rung

__all__ = ["PRESETS", "HLS_SEGMENT_AAC_FRAMES", "preset_rungs"]

#: HLS/DASH segments hold exactly this many AAC frames (180 x 1024 = 3.84 s at 48 kHz).
HLS_SEGMENT_AAC_FRAMES = 180

#: Preset name -> its rungs, lowest bitrate first within each codec.
PRESETS: dict[str, tuple[Rung, ...]] = {
    "spotify-like": (
        Rung("opus-24", "opus", bitrate_bps=24_000, num_channels=2),
        Rung("opus-96", "opus", bitrate_bps=96_000, num_channels=2),
        Rung("opus-160", "opus", bitrate_bps=160_000, num_channels=2),
        Rung("opus-320", "opus", bitrate_bps=320_000, num_channels=2),
        Rung("aac-128", "aac", bitrate_bps=128_000, num_channels=2),
        Rung("aac-256", "aac", bitrate_bps=256_000, num_channels=2),
        Rung("flac", "flac"),
    ),
    "hls-aac": (
        Rung("aac-64", "aac", bitrate_bps=64_000, sample_rate=48000, num_channels=2),
        Rung("aac-96", "aac", bitrate_bps=96_000, sample_rate=48000, num_channels=2),
        Rung("aac-160", "aac", bitrate_bps=160_000, sample_rate=48000, num_channels=2),
    ),
    "podcast": (
        Rung("mp3-64-mono", "mp3", bitrate_bps=64_000, num_channels=1),
        Rung("mp3-128", "mp3", bitrate_bps=128_000, num_channels=2),
        Rung("aac-64-mono", "aac", bitrate_bps=64_000, num_channels=1),
        Rung("opus-32-mono", "opus", bitrate_bps=32_000, num_channels=1),
    ),
}


def preset_rungs(name: str) -> tuple[Rung, ...]:
    """The rungs of preset ``name``.

    Raises
    ------
    ParameterError
        If ``name`` is not in :data:`PRESETS`.

    Examples
    --------
    >>> [rung.name for rung in preset_rungs("hls-aac")]
    ['aac-64', 'aac-96', 'aac-160']
    """
    if name not in PRESETS:
        raise ParameterError(f"preset is {name!r}; expected one of {', '.join(PRESETS)} (or pass rungs=)")
    return PRESETS[name]
