"""Numba kernels of the analysis front end; private, called through :mod:`._frames`.

Kernels trust their input: the wrappers check shapes and dtypes and allocate
the outputs. Spectra are frames-major, ``(frames, bins)``, so every loop over
one frame reads contiguous memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["add_bin_energies", "band_energies", "spectral_shape"]


@njit(cache=True, nogil=True)
def band_energies(magnitude: np.ndarray, weights: np.ndarray, first_bins: np.ndarray, stop_bins: np.ndarray,
                  out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Filter-bank energies of the power spectrum: out[band, t] = sum_k weights[band, k] * magnitude[t, k]^2.

    Only the bins ``first_bins[band] <= k < stop_bins[band]`` where a mel
    filter is non-zero are visited (a mel filter covers a few bins), so the
    cost is the filters' support, not bands x bins; the power is squared on
    the fly instead of stored.
    """
    frames = magnitude.shape[0]
    for t in range(frames):
        row = magnitude[t]
        for band in range(weights.shape[0]):
            total = 0.0
            for k in range(first_bins[band], stop_bins[band]):
                total += weights[band, k] * row[k] * row[k]
            out[band, t] = total


@njit(cache=True, nogil=True)
def add_bin_energies(magnitude: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Power per bin summed over the frames, added to ``out``: out[k] += sum_t magnitude[t, k]^2, in float64.

    Fed the frames of a stream batch after batch, the sum is the one over all frames, in the same order.
    """
    for t in range(magnitude.shape[0]):
        row = magnitude[t]
        for k in range(row.shape[0]):
            out[k] += row[k] * row[k]


@njit(cache=True, nogil=True)
def spectral_shape(magnitude: np.ndarray, frequencies: np.ndarray, rolloff_fraction: float, centroid: np.ndarray,
                   bandwidth: np.ndarray, rolloff: np.ndarray) -> None:  # pragma: no cover
    """Per-frame spectral centroid, bandwidth and rolloff of a magnitude spectrogram.

    centroid = sum_k f_k m_k / sum_k m_k; bandwidth = sqrt(sum_k (f_k - centroid)^2 m_k / sum_k m_k)
    (librosa's ``spectral_bandwidth`` with p = 2, on the magnitude not normalized per frame);
    rolloff = the lowest f_k whose cumulative magnitude reaches ``rolloff_fraction`` of the
    frame's total (librosa's ``spectral_rolloff``). Sums in float64.
    """
    bins = magnitude.shape[1]
    for t in range(magnitude.shape[0]):
        row = magnitude[t]
        raw_total = 0.0
        weighted = 0.0
        for k in range(bins):
            raw_total += row[k]
            weighted += frequencies[k] * row[k]
        total = max(raw_total, 1e-12)
        centre = weighted / total
        spread = 0.0
        for k in range(bins):
            spread += (frequencies[k] - centre) ** 2 * row[k]
        centroid[t] = centre
        bandwidth[t] = np.sqrt(spread / total)
        threshold = rolloff_fraction * raw_total
        cumulative = 0.0
        rolloff[t] = frequencies[bins - 1]
        for k in range(bins):
            cumulative += row[k]
            if cumulative >= threshold:
                rolloff[t] = frequencies[k]
                break
