"""Loudness of masters and renditions, and the gain tags players normalize with.

Every call into :mod:`audiokit.loudness` from the ladder goes through
:class:`ProgrammeLoudness` (blocks) or :func:`measure_loudness` (a whole
array, the same meter run to the end), so that integration lives in one place. The tag
formulas (ReplayGain 2.0; Opus R128, RFC 7845 §5.2.1) live in
:mod:`audiokit.loudness.gain_tags`; a silent rendition has no gain to apply
and gets no tags.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from .._arrays import BLOCK_FRAMES, as_samples
from ..loudness.gain_tags import codec_gain_tags

__all__ = ["ProgrammeLoudness", "gain_tags", "measure_loudness"]


class ProgrammeLoudness:
    """Integrated loudness and true peak of a programme fed block by block.

    A BS.1770 :class:`~audiokit.loudness.LoudnessMeter` without its 10 ms
    series (``series=False``): results do not depend on how the programme is
    split, and equal :func:`measure_loudness`'s and those of a full meter. Its
    memory grows by one energy per 100 ms only (8 bytes each: about 0.29 MB
    per hour), so the meters of the renditions QA decodes side by side stay
    small on long tracks.

    Parameters
    ----------
    sample_rate : int
        Hz.
    num_channels : int
        In the default layout for the count.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000 * 3) / 48000
    >>> tone = np.tile(0.1 * np.sin(2 * np.pi * 1000 * t), (2, 1)).astype(np.float32)
    >>> programme = ProgrammeLoudness(48000, 2)
    >>> for start in range(0, tone.shape[1], 5000):
    ...     programme.process(tone[:, start:start + 5000])
    >>> [round(value, 2) for value in programme.flush()]
    [-19.99, -19.99]
    """

    def __init__(self, sample_rate: int, num_channels: int) -> None:
        from ..loudness import LoudnessMeter

        self._meter = LoudnessMeter(sample_rate, num_channels, series=False)

    def process(self, block: np.ndarray) -> None:
        """Add the next block.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames)]
            Finite; any number of frames.
        """
        self._meter.process(block)

    def flush(self) -> tuple[float, float]:
        """(integrated LUFS, true peak dBTP) of everything processed, as :func:`measure_loudness` returns them."""
        report = self._meter.report(warn=False)
        return report.integrated_lufs, report.true_peak_dbtp


def measure_loudness(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Integrated loudness and true peak of a programme (:class:`ProgrammeLoudness` run to the end).

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
    samples = as_samples(samples)
    programme = ProgrammeLoudness(sample_rate, samples.shape[0])
    for start in range(0, samples.shape[1], BLOCK_FRAMES):
        programme.process(samples[:, start:start + BLOCK_FRAMES])
    return programme.flush()


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
