"""Loudness of masters and renditions, and the gain tags players normalize with.

Every call into :mod:`audiokit.loudness` from the ladder goes through
:func:`measure_loudness`, so that integration lives in one place. The tag
formulas (ReplayGain 2.0; Opus R128, RFC 7845 §5.2.1) live in
:mod:`audiokit.loudness.gain_tags`; a silent rendition has no gain to apply
and gets no tags.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np

from ..loudness.gain_tags import codec_gain_tags

__all__ = ["gain_tags", "measure_loudness"]


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
    """The gain tags for one rendition (:func:`audiokit.loudness.codec_gain_tags`).

    Parameters
    ----------
    integrated_lufs : float
        Integrated loudness of what was encoded, LUFS; ``-inf`` (silence) gives no tags.
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
    >>> gain_tags(float("-inf"), float("-inf"), codec="flac")
    {}
    """
    if not math.isfinite(integrated_lufs):
        return {}
    return codec_gain_tags(SimpleNamespace(integrated_lufs=integrated_lufs, true_peak_dbtp=true_peak_dbtp), codec=codec)
