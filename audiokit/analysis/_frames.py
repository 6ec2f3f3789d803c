"""The one spectrogram every analysis shares: mono, 22050 Hz, 2048-point STFT, hop 512."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._arrays import as_samples, check_finite, check_sample_rate
from ..channels import to_mono
from ..errors import ParameterError

__all__ = ["ANALYSIS_RATE", "N_FFT", "HOP_LENGTH", "Frames", "frames_of"]

#: analyses run at this rate (Hz): enough for key, tempo and timbre, half the work of 44.1 kHz
ANALYSIS_RATE = 22050
#: STFT size (93 ms): 10.8 Hz bins, fine enough for chroma above ~100 Hz
N_FFT = 2048
#: STFT hop (23.2 ms, 43.07 frames/s)
HOP_LENGTH = 512


@dataclass(frozen=True, eq=False)
class Frames:
    """A signal's analysis frames; built once by :func:`frames_of`, read by every analysis."""

    #: mono samples at ANALYSIS_RATE, shape (n,)
    mono: np.ndarray
    #: STFT magnitude, shape (1 + N_FFT // 2, frames), float32
    magnitude: np.ndarray
    #: frame RMS of the mono signal, shape (frames,), float32
    rms: np.ndarray
    #: duration of the input, seconds
    duration_s: float

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return ANALYSIS_RATE / HOP_LENGTH

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {"frames": int(self.rms.size), "frame_rate": self.frame_rate, "duration_s": self.duration_s}


def frames_of(samples, sample_rate: int) -> Frames:
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
    import librosa

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
    magnitude = np.abs(librosa.stft(mono, n_fft=N_FFT, hop_length=HOP_LENGTH)).astype(np.float32)
    rms = librosa.feature.rms(y=mono, frame_length=N_FFT, hop_length=HOP_LENGTH)[0].astype(np.float32)
    return Frames(mono=mono, magnitude=magnitude, rms=rms[: magnitude.shape[1]], duration_s=duration_s)
