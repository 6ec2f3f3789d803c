"""Spectral summary (centroid, bandwidth, rolloff) and silence detection.

Both read the shared 2048/512 STFT frames at 22050 Hz. The per-frame
centroid, bandwidth and rolloff come from the front end (one Numba kernel,
:func:`._kernels.spectral_shape`, per batch of frames); the summary keeps the non-silent frames. Silence is energy
only: a frame is silent when its RMS is below ``threshold_dbfs``, and a run
of silent frames counts once it lasts ``min_silence_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ._frames import ANALYSIS_RATE, HOP_LENGTH, N_FFT, Frames, frames_of

__all__ = ["SpectralSummary", "SilenceResult", "spectral_summary", "silence", "silent_frames"]



@dataclass(frozen=True)
class SpectralSummary:
    """Timbre in three numbers (medians over the non-silent frames) and their spread."""

    #: median spectral centroid, Hz
    centroid_hz: float
    #: median spectral bandwidth (magnitude-weighted standard deviation around the centroid), Hz
    bandwidth_hz: float
    #: median 85% rolloff frequency, Hz
    rolloff_hz: float
    #: interquartile range of the centroid, Hz
    centroid_iqr_hz: float

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {"centroid_hz": self.centroid_hz, "bandwidth_hz": self.bandwidth_hz,
                "rolloff_hz": self.rolloff_hz, "centroid_iqr_hz": self.centroid_iqr_hz}


@dataclass(frozen=True)
class SilenceResult:
    """Where a signal is silent."""

    #: (start_s, end_s) of each silent run of at least min_silence_ms
    regions: tuple[tuple[float, float], ...]
    #: total silent time over duration, in [0, 1]
    ratio: float

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {"regions": [list(region) for region in self.regions], "ratio": self.ratio}


def silent_frames(frames: Frames, *, threshold_dbfs: float = -60.0) -> np.ndarray:
    """Boolean mask, shape (frames,): RMS below ``threshold_dbfs`` (full-scale sine RMS = -3 dBFS)."""
    return 20 * np.log10(np.maximum(frames.rms, 1e-10)) < threshold_dbfs


def summary_from_frames(frames: Frames, *, threshold_dbfs: float = -60.0) -> SpectralSummary:
    """:func:`spectral_summary` on frames already computed by :func:`._frames.frames_of`."""
    columns = np.flatnonzero(~silent_frames(frames, threshold_dbfs=threshold_dbfs))
    if columns.size == 0:
        return SpectralSummary(0.0, 0.0, 0.0, 0.0)
    centroid, bandwidth, rolloff = (frames.centroid_hz[columns], frames.bandwidth_hz[columns],
                                    frames.rolloff_hz[columns])
    q1, median, q3 = np.percentile(centroid, [25, 50, 75])
    return SpectralSummary(centroid_hz=round(float(median), 2), bandwidth_hz=round(float(np.median(bandwidth)), 2),
                           rolloff_hz=round(float(np.median(rolloff)), 2), centroid_iqr_hz=round(float(q3 - q1), 2))


def silence_from_frames(frames: Frames, *, threshold_dbfs: float = -60.0, min_silence_ms: float = 500.0) -> SilenceResult:
    """:func:`silence` on frames already computed by :func:`._frames.frames_of`."""
    if min_silence_ms < 0:
        raise ParameterError(f"min_silence_ms is {min_silence_ms}; expected >= 0")
    mask = silent_frames(frames, threshold_dbfs=threshold_dbfs)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    regions = []
    for first, stop in zip(edges[::2], edges[1::2]):
        # frame j's window spans j * hop +- N_FFT / 2: a run is silent from its first window's start to its last's end
        start_s = max(0.0, (first * HOP_LENGTH - N_FFT / 2) / ANALYSIS_RATE)
        end_s = min(frames.duration_s, ((stop - 1) * HOP_LENGTH + N_FFT / 2) / ANALYSIS_RATE)
        if (end_s - start_s) * 1000 >= min_silence_ms:
            regions.append((round(float(start_s), 3), round(float(end_s), 3)))
    silent_s = sum(end - start for start, end in regions)
    return SilenceResult(regions=tuple(regions), ratio=round(float(silent_s / frames.duration_s), 4))


def spectral_summary(samples: np.ndarray, sample_rate: int, *, threshold_dbfs: float = -60.0) -> SpectralSummary:
    """Median spectral centroid, bandwidth and 85% rolloff of the non-silent frames.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz. The analysis runs at 22050 Hz, so values stop at 11025 Hz.
    threshold_dbfs : float
        Frames quieter than this are left out.

    Returns
    -------
    SpectralSummary
        All zeros when every frame is silent.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(44100) / 44100
    >>> round(spectral_summary(np.sin(2 * np.pi * 1000 * t), 44100).centroid_hz, -1)
    1000.0
    """
    return summary_from_frames(frames_of(samples, sample_rate), threshold_dbfs=threshold_dbfs)


def silence(samples: np.ndarray, sample_rate: int, *, threshold_dbfs: float = -60.0,
            min_silence_ms: float = 500.0) -> SilenceResult:
    """Find the silent stretches of a signal.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    threshold_dbfs : float
        Frame RMS below this is silent.
    min_silence_ms : float
        Shorter silent runs are ignored (pauses between words, drum gaps).

    Returns
    -------
    SilenceResult
        Region edges are accurate to about one hop (23 ms).
    """
    return silence_from_frames(frames_of(samples, sample_rate), threshold_dbfs=threshold_dbfs,
                               min_silence_ms=min_silence_ms)
