"""Playback gain tags: ReplayGain 2.0 and Opus R128 (RFC 7845 §5.2.1).

The one home of the gain-tag formulas. Tags are computed from anything with
``integrated_lufs`` and ``true_peak_dbtp`` (a :class:`~.meter.LoudnessReport`
for a track, an :class:`~.meter.AlbumReport` for an album); the transcode
ladder tags its renditions with :func:`codec_gain_tags`. This module writes no
file.

- ReplayGain 2.0: gain = -18 LUFS - integrated loudness, "%.2f dB"; peak is
  the linear true peak (never below the sample peak), "%.6f".
- R128: gain relative to -23 LUFS as a Q7.8 fixed-point integer (1/256 dB),
  clamped to the int16 range, written as a decimal string.
"""

from __future__ import annotations

import math
from typing import Protocol

from ..errors import ParameterError

__all__ = ["REPLAYGAIN_REFERENCE_LUFS", "R128_REFERENCE_LUFS", "Levels", "codec_gain_tags", "replaygain_tags", "r128_tags"]

#: ReplayGain 2.0 reference level.
REPLAYGAIN_REFERENCE_LUFS = -18.0
#: EBU R 128 reference level of the Opus R128_*_GAIN tags.
R128_REFERENCE_LUFS = -23.0
#: Q7.8: 256 steps per dB, stored in a signed 16-bit integer.
_Q78_SCALE = 256
_INT16_MIN, _INT16_MAX = -32768, 32767


class Levels(Protocol):
    """What a gain tag is computed from: a loudness report, or any object with these two."""

    @property
    def integrated_lufs(self) -> float:
        """BS.1770 integrated loudness, LUFS (-inf when undefined)."""

    @property
    def true_peak_dbtp(self) -> float:
        """Largest true peak, dBTP."""


def _integrated(report: Levels, role: str) -> float:
    value = report.integrated_lufs
    if math.isinf(value):
        raise ParameterError(
            f"the {role} loudness is undefined (silent or shorter than 400 ms); no gain tag can be computed"
        )
    return value


def replaygain_tags(track: Levels, album: Levels | None = None) -> dict[str, str]:
    """ReplayGain 2.0 tags.

    Parameters
    ----------
    track : LoudnessReport
    album : AlbumReport, optional
        Adds the ``REPLAYGAIN_ALBUM_*`` tags.

    Returns
    -------
    dict[str, str]
        ``REPLAYGAIN_TRACK_GAIN`` ("-3.21 dB"), ``REPLAYGAIN_TRACK_PEAK``
        ("0.912011"), and the album pair when ``album`` is given.
    """
    tags = {
        "REPLAYGAIN_TRACK_GAIN": f"{REPLAYGAIN_REFERENCE_LUFS - _integrated(track, 'track'):.2f} dB",
        "REPLAYGAIN_TRACK_PEAK": f"{10 ** (track.true_peak_dbtp / 20):.6f}",
    }
    if album is not None:
        tags["REPLAYGAIN_ALBUM_GAIN"] = f"{REPLAYGAIN_REFERENCE_LUFS - _integrated(album, 'album'):.2f} dB"
        tags["REPLAYGAIN_ALBUM_PEAK"] = f"{10 ** (album.true_peak_dbtp / 20):.6f}"
    return tags


def _q78(gain_db: float) -> str:
    return str(max(_INT16_MIN, min(_INT16_MAX, round(gain_db * _Q78_SCALE))))


def r128_tags(track: Levels, album: Levels | None = None) -> dict[str, str]:
    """Opus ``R128_TRACK_GAIN`` / ``R128_ALBUM_GAIN`` (Q7.8 relative to -23 LUFS).

    Parameters
    ----------
    track : LoudnessReport
    album : AlbumReport, optional

    Returns
    -------
    dict[str, str]
        E.g. ``{"R128_TRACK_GAIN": "-2304"}`` for a track at -14 LUFS (-9 dB).
    """
    tags = {"R128_TRACK_GAIN": _q78(R128_REFERENCE_LUFS - _integrated(track, "track"))}
    if album is not None:
        tags["R128_ALBUM_GAIN"] = _q78(R128_REFERENCE_LUFS - _integrated(album, "album"))
    return tags


def codec_gain_tags(track: Levels, *, codec: str, album: Levels | None = None) -> dict[str, str]:
    """The gain tags a file of ``codec`` carries: R128 for Opus, ReplayGain 2.0 otherwise.

    RFC 7845 §5.2.1 forbids REPLAYGAIN_* tags in Opus files; every other codec
    audiokit writes (FLAC, MP3, AAC/ALAC in MP4) takes the ReplayGain 2.0 pair.

    Parameters
    ----------
    track : Levels
    codec : str
        "opus", "flac", "mp3", "aac", "alac", ...
    album : Levels, optional

    Returns
    -------
    dict[str, str]

    Raises
    ------
    ParameterError
        If a loudness is undefined (silence, or under 400 ms).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> levels = SimpleNamespace(integrated_lufs=-14.0, true_peak_dbtp=-1.0)
    >>> codec_gain_tags(levels, codec="opus")
    {'R128_TRACK_GAIN': '-2304'}
    >>> codec_gain_tags(levels, codec="flac")
    {'REPLAYGAIN_TRACK_GAIN': '-4.00 dB', 'REPLAYGAIN_TRACK_PEAK': '0.891251'}
    """
    return r128_tags(track, album) if codec == "opus" else replaygain_tags(track, album)
