"""Mel filter banks on the Slaney (Auditory Toolbox) scale, as librosa computes them.

Malcolm Slaney's Auditory Toolbox mel scale: linear below 1 kHz (200/3 Hz per
mel), logarithmic above (a factor of 6.4 every 27 mels); triangular filters
between neighbouring mel frequencies, each scaled to unit area ("slaney"
normalization). These are ``librosa.filters.mel``'s defaults (``htk=False``,
``norm="slaney"``); computing them here keeps librosa (about 55 MB of
imports) out of processes that only need the filters, such as ladder QA.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["hz_to_mel", "mel_filters", "mel_frequencies", "mel_to_hz"]

#: Hz per mel on the linear part of the scale.
_LINEAR_HZ_PER_MEL = 200.0 / 3.0
#: Where the scale turns logarithmic, Hz, and that point in mels.
_LOG_START_HZ = 1000.0
_LOG_START_MEL = _LOG_START_HZ / _LINEAR_HZ_PER_MEL
#: Natural-log step per mel above _LOG_START_HZ: 6.4 times the frequency every 27 mels.
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies_hz: npt.ArrayLike) -> np.ndarray:
    """Slaney mels of ``frequencies_hz`` (float64, the input's shape).

    Examples
    --------
    >>> [round(float(mel), 6) for mel in hz_to_mel([200.0, 1000.0, 6400.0])]  # 6.4 x 1 kHz: 27 mels up
    [3.0, 15.0, 42.0]
    """
    hz = np.asarray(frequencies_hz, dtype=np.float64)
    linear = hz / _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_START_MEL + np.log(np.maximum(hz, _LOG_START_HZ) / _LOG_START_HZ) / _LOG_STEP
    return np.where(hz >= _LOG_START_HZ, logarithmic, linear)


def mel_to_hz(mels: npt.ArrayLike) -> np.ndarray:
    """Frequencies, Hz, of Slaney ``mels`` (float64, the input's shape); the inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mels, dtype=np.float64)
    linear = _LINEAR_HZ_PER_MEL * mel
    logarithmic = _LOG_START_HZ * np.exp(_LOG_STEP * (np.maximum(mel, _LOG_START_MEL) - _LOG_START_MEL))
    return np.where(mel >= _LOG_START_MEL, logarithmic, linear)


def mel_frequencies(count: int, *, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """``count`` frequencies, Hz, evenly spaced in mels from ``fmin_hz`` to ``fmax_hz`` [shape=(count,)]."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), count))


def mel_filters(sample_rate: int, n_fft: int, num_bands: int, *, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """Triangular Slaney-normalized mel filters over an ``n_fft``-point real FFT.

    Parameters
    ----------
    sample_rate : int
        Hz.
    n_fft : int
        FFT length; the filters cover its ``n_fft // 2 + 1`` bins.
    num_bands : int
    fmin_hz, fmax_hz : float
        Lowest and highest edge of the bank, Hz.

    Returns
    -------
    np.ndarray [shape=(num_bands, n_fft // 2 + 1), dtype=float32]
        ``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=num_bands,
        fmin=fmin_hz, fmax=fmax_hz)``.

    Examples
    --------
    >>> bank = mel_filters(48000, 2048, 64, fmin_hz=20.0, fmax_hz=20000.0)
    >>> bank.shape, bank.dtype, bool((bank >= 0).all())
    ((64, 1025), dtype('float32'), True)
    """
    bin_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    edges_hz = mel_frequencies(num_bands + 2, fmin_hz=fmin_hz, fmax_hz=fmax_hz)
    widths_hz = np.diff(edges_hz)
    distance_hz = np.subtract.outer(edges_hz, bin_hz)  # edge minus bin frequency
    filters = np.zeros((num_bands, bin_hz.size), dtype=np.float32)
    for band in range(num_bands):
        rising = -distance_hz[band] / widths_hz[band]
        falling = distance_hz[band + 2] / widths_hz[band + 1]
        filters[band] = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges_hz[2 : num_bands + 2] - edges_hz[:num_bands]))[:, np.newaxis]  # unit area
    return filters
