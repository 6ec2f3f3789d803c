"""The named ladders: ``spotify-like``, ``hls-aac`` and ``podcast``.

A ladder is a named set of rungs (``audiokit ladder --ladder NAME``); a
*preset* is a loudness target (:data:`audiokit.loudness.PRESETS`,
``--normalize NAME``). Opus replaces Vorbis everywhere: ffmpeg's only Vorbis
encoder ignores the bitrate, which makes it useless for a ladder.
"""

from __future__ import annotations

from ..errors import ParameterError
from .rungs import Rung

__all__ = ["DEFAULT_LADDER", "HLS_SEGMENT_AAC_FRAMES", "LADDERS", "QA_MODES", "ladder_rungs"]

#: QA levels of build_ladder (audiokit.transcode.qa): "off" (no decode), "fast" (every check on one decode
#: in the encoder thread), "full" ("fast", offsets across the whole track, and AAC level matching by
#: re-encoding).
QA_MODES = ("off", "fast", "full")

#: HLS/DASH segments hold exactly this many AAC frames (180 x 1024 = 3.84 s at 48 kHz).
HLS_SEGMENT_AAC_FRAMES = 180

#: Ladder name -> its rungs, lowest bitrate first within each codec.
LADDERS: dict[str, tuple[Rung, ...]] = {
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

#: The ladder built when none is named (``build_ladder``, ``audiokit ladder``, ``audiokit ingest``).
DEFAULT_LADDER = "spotify-like"


def ladder_rungs(name: str) -> tuple[Rung, ...]:
    """The rungs of ladder ``name``.

    Raises
    ------
    ParameterError
        If ``name`` is not in :data:`LADDERS`; the message lists the ladders.

    Examples
    --------
    >>> [rung.name for rung in ladder_rungs("hls-aac")]
    ['aac-64', 'aac-96', 'aac-160']
    """
    if name not in LADDERS:
        raise ParameterError(f"ladder is {name!r}; expected one of {', '.join(LADDERS)} (or pass custom rungs)")
    return LADDERS[name]
