"""Loudness of masters and renditions, and the gain tags players normalize with.

Every call into :mod:`audiokit.loudness` from the ladder goes through
:func:`measure_loudness`, so that integration lives in one place.

Tags (gain metadata, not baked gain):

- ReplayGain 2.0 (MP3 ID3v2 TXXX, FLAC Vorbis comments, M4A iTunes freeform
  atoms): ``REPLAYGAIN_TRACK_GAIN = -18 LUFS - integrated`` as ``"-4.12 dB"``,
  ``REPLAYGAIN_TRACK_PEAK`` the linear true peak as ``"0.912011"``.
- Opus (RFC 7845 section 5.2.1): ``R128_TRACK_GAIN``, a Q7.8 integer relative
  to -23 LUFS; RFC 7845 forbids REPLAYGAIN_* tags in Opus files.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["REPLAYGAIN_REFERENCE_LUFS", "R128_REFERENCE_LUFS", "gain_tags", "measure_loudness"]

#: ReplayGain 2.0 reference level, LUFS.
REPLAYGAIN_REFERENCE_LUFS = -18.0
#: EBU R128 reference level for R128_TRACK_GAIN, LUFS (RFC 7845).
R128_REFERENCE_LUFS = -23.0
#: R128_TRACK_GAIN is Q7.8 fixed point in a signed 16-bit range.
_Q78_SCALE = 256
_INT16_RANGE = (-32768, 32767)


def measure_loudness(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Integrated loudness and true peak of a programme.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
        In the default layout for its channel count.
    sample_rate : int
        Hz.

    Returns
    -------
    integrated_lufs : float
        BS.1770 gated loudness, LUFS; ``-inf`` for silence or under 400 ms.
    true_peak_dbtp : float
        Largest true peak over all channels, dBTP.
    """
    from ..loudness import LoudnessWarning, measure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoudnessWarning)
        report = measure(samples, sample_rate)
    return report.integrated_lufs, report.true_peak_dbtp


def gain_tags(integrated_lufs: float, true_peak_dbtp: float, *, codec: str) -> dict[str, str]:
    """The gain tags for one rendition.

    Parameters
    ----------
    integrated_lufs : float
        Integrated loudness of what was encoded, LUFS; ``-inf`` gives no tags.
    true_peak_dbtp : float
        Its true peak, dBTP.
    codec : str
        "opus" gets ``R128_TRACK_GAIN``; every other codec the ReplayGain 2.0 pair.

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> gain_tags(-14.0, -1.0, codec="opus")
    {'R128_TRACK_GAIN': '-2304'}
    >>> gain_tags(-14.0, -1.0, codec="flac")
    {'REPLAYGAIN_TRACK_GAIN': '-4.00 dB', 'REPLAYGAIN_TRACK_PEAK': '0.891251'}
    """
    if not math.isfinite(integrated_lufs):
        return {}
    if codec == "opus":
        q78 = round((R128_REFERENCE_LUFS - integrated_lufs) * _Q78_SCALE)
        return {"R128_TRACK_GAIN": str(min(max(q78, _INT16_RANGE[0]), _INT16_RANGE[1]))}
    peak = 10.0 ** (true_peak_dbtp / 20.0) if math.isfinite(true_peak_dbtp) else 0.0
    return {
        "REPLAYGAIN_TRACK_GAIN": f"{REPLAYGAIN_REFERENCE_LUFS - integrated_lufs:.2f} dB",
        "REPLAYGAIN_TRACK_PEAK": f"{peak:.6f}",
    }
