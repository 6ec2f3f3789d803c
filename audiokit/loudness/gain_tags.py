"""Playback gain tags: ReplayGain 2.0 and Opus R128 (RFC 7845 §5.2.1).

Both are computed from a :class:`~.meter.LoudnessReport` (track) and an
:class:`~.meter.AlbumReport` (album) for the transcode ladder to write; this
module writes no file.

- ReplayGain 2.0: gain = -18 LUFS - integrated loudness, "%.2f dB"; peak is
  the linear true peak (never below the sample peak), "%.6f".
- R128: gain relative to -23 LUFS as a Q7.8 fixed-point integer (1/256 dB),
  clamped to the int16 range, written as a decimal string.
"""

from __future__ import annotations

import math

from ..errors import ParameterError

__all__ = ["REPLAYGAIN_REFERENCE_LUFS", "R128_REFERENCE_LUFS", "replaygain_tags", "r128_tags"]

#: ReplayGain 2.0 reference level.
REPLAYGAIN_REFERENCE_LUFS = -18.0
#: EBU R 128 reference level of the Opus R128_*_GAIN tags.
R128_REFERENCE_LUFS = -23.0
#: Q7.8: 256 steps per dB, stored in a signed 16-bit integer.
_Q78_SCALE = 256
_INT16_MIN, _INT16_MAX = -32768, 32767


def _integrated(report, role: str) -> float:
    value = report.integrated_lufs
    if math.isinf(value):
        raise ParameterError(
            f"the {role} loudness is undefined (silent or shorter than 400 ms); no gain tag can be computed"
        )
    return value


def replaygain_tags(track, album=None) -> dict[str, str]:
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


def r128_tags(track, album=None) -> dict[str, str]:
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
