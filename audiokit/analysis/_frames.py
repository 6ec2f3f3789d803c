"""The one spectrogram every analysis shares: mono, 22050 Hz, 2048-point STFT, hop 512.

:func:`frames_of` folds to mono, resamples once and takes one STFT; tempo
(onset envelope of its mel bands), key (its chroma), the spectral summary and
silence (frame RMS of the same frames) all read it. The STFT is librosa's
(``librosa.stft`` defaults: periodic Hann window, frames centred on
``t * HOP_LENGTH`` with zero padding), computed here in blocks of frames so the
windowed copies stay in cache; :func:`mel_energies` and :func:`chroma_energy`
apply librosa's filter banks to it, visiting only the bins where a filter is
non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.signal

from .._arrays import as_samples, check_finite, check_sample_rate
from ..channels import to_mono
from ..errors import ParameterError
from . import _kernels

__all__ = ["ANALYSIS_RATE", "N_FFT", "HOP_LENGTH", "N_MELS", "Frames", "frames_of", "mel_energies", "chroma_energy"]

#: analyses run at this rate (Hz): enough for key, tempo and timbre, half the work of 44.1 kHz
ANALYSIS_RATE = 22050
#: STFT size (93 ms): 10.8 Hz bins, fine enough for chroma above ~100 Hz
N_FFT = 2048
#: STFT hop (23.2 ms, 43.07 frames/s)
HOP_LENGTH = 512
#: mel bands of the onset envelope (librosa's default)
N_MELS = 128
#: STFT frames windowed and transformed at a time (512 x 2048 float32 = 4 MB)
_STFT_BLOCK_FRAMES = 512


@dataclass(frozen=True, eq=False)
class Frames:
    """A signal's analysis frames; built once by :func:`frames_of`, read by every analysis."""

    #: mono samples at ANALYSIS_RATE, shape (n,), float32
    mono: np.ndarray
    #: STFT magnitude, frames-major: shape (frames, 1 + N_FFT // 2), float32
    magnitude: np.ndarray
    #: frame RMS of the mono signal (the same centred 2048-sample frames, unwindowed), shape (frames,), float32
    rms: np.ndarray
    #: duration of the input, seconds
    duration_s: float

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return ANALYSIS_RATE / HOP_LENGTH

    @property
    def times_s(self) -> np.ndarray:
        """Centre of each frame, seconds, shape (frames,)."""
        return np.arange(self.rms.size) * HOP_LENGTH / ANALYSIS_RATE

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {"frames": int(self.rms.size), "frame_rate": self.frame_rate, "duration_s": self.duration_s}


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return scipy.signal.get_window("hann", N_FFT, fftbins=True).astype(np.float32)


def _support(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 weights and, per filter, the first and one-past-last bin where it is non-zero."""
    nonzero = weights != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), 0)
    stop = np.where(nonzero.any(axis=1), weights.shape[1] - nonzero[:, ::-1].argmax(axis=1), 0)
    return np.ascontiguousarray(weights, np.float32), first.astype(np.int64), stop.astype(np.int64)


@lru_cache(maxsize=1)
def _mel_filters() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import librosa

    return _support(librosa.filters.mel(sr=ANALYSIS_RATE, n_fft=N_FFT, n_mels=N_MELS))


@lru_cache(maxsize=1)
def _chroma_filters() -> np.ndarray:
    import librosa

    return librosa.filters.chroma(sr=ANALYSIS_RATE, n_fft=N_FFT, tuning=0.0).astype(np.float64)


def mel_energies(frames: Frames) -> np.ndarray:
    """Mel-band power, librosa's ``melspectrogram`` of the shared STFT (Slaney mel, 128 bands).

    Returns
    -------
    np.ndarray [shape=(N_MELS, frames), dtype=float32]
    """
    weights, first, stop = _mel_filters()
    out = np.empty((N_MELS, frames.rms.size), np.float32)
    _kernels.band_energies(frames.magnitude, weights, first, stop, out)
    return out


def chroma_energy(frames: Frames) -> np.ndarray:
    """Chroma summed over all frames: librosa's ``chroma_stft(S=power, tuning=0, norm=None).sum(axis=1)``.

    The chroma filter bank is linear, so it is applied once to the power summed over time
    (a 12 x 1025 product instead of one per frame).

    Returns
    -------
    np.ndarray [shape=(12,), dtype=float64]
        C first.
    """
    power = np.empty(frames.magnitude.shape[1])
    _kernels.bin_energies(frames.magnitude, power)
    return _chroma_filters() @ power


def _stft(mono: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(magnitude (frames, bins), RMS (frames,)) of the centred, zero-padded frames of ``mono``."""
    padded = np.pad(mono, N_FFT // 2)
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]
    count = 1 + mono.size // HOP_LENGTH
    magnitude = np.empty((count, N_FFT // 2 + 1), np.float32)
    rms = np.empty(count, np.float32)
    window = _window()
    for start in range(0, count, _STFT_BLOCK_FRAMES):
        block = windows[start : start + _STFT_BLOCK_FRAMES]
        np.abs(scipy.fft.rfft(block * window, axis=1), out=magnitude[start : start + block.shape[0]])
        rms[start : start + block.shape[0]] = np.sqrt(np.einsum("ij,ij->i", block, block) / N_FFT)
    return magnitude, rms


def frames_of(samples: np.ndarray, sample_rate: int) -> Frames:
    """Fold to mono, resample to :data:`ANALYSIS_RATE` and take the STFT.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.

    Returns
    -------
    Frames

    Raises
    ------
    ParameterError
        On a bad array or rate, non-finite samples, or a signal under one STFT frame.
    """
    samples = as_samples(samples)
    sample_rate = check_sample_rate(sample_rate)
    check_finite(samples)
    duration_s = samples.shape[1] / sample_rate
    mono = to_mono(samples)[0]
    if sample_rate != ANALYSIS_RATE:
        from ..io.resample import resample

        mono = resample(mono, sample_rate, ANALYSIS_RATE)[0]
    if mono.size < N_FFT:
        raise ParameterError(
            f"the signal lasts {duration_s:.4f} s; analysis needs at least {N_FFT / ANALYSIS_RATE:.3f} s"
        )
    mono = np.ascontiguousarray(mono, np.float32)
    magnitude, rms = _stft(mono)
    return Frames(mono=mono, magnitude=magnitude, rms=rms, duration_s=duration_s)
