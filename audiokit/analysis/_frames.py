"""The one front end every analysis shares: mono, 22050 Hz, 2048-point STFT, hop 512, streamed.

:class:`FrameAnalyzer` takes a signal in blocks of any size (``process(block)``
... ``flush()``): it folds each block to mono (:func:`audiokit.channels.to_mono`),
resamples it with the streaming :class:`audiokit.io.resample.Resampler` and cuts
STFT frames across block edges (it keeps the last ``N_FFT - HOP_LENGTH``
samples). The STFT is librosa's (``librosa.stft`` defaults: periodic Hann
window, frames centred on ``t * HOP_LENGTH`` with ``N_FFT // 2`` zeros of
padding at both ends). Nothing of the spectrum is kept, only per-frame
features, so memory is set by the block size, not by the duration:

- frame RMS (silence, the energy segmentation);
- spectral centroid, bandwidth and rolloff (the spectral summary);
- the power per bin summed over all frames (chroma, for the key);
- the onset envelope (tempo and beats): librosa's ``onset_strength`` of
  ``power_to_db(melspectrogram)``. ``power_to_db`` clips every value to 80 dB
  under the loudest one of the whole signal (``top_db``), which is known only
  at the end, so the log-mel frames (128 float32, 512 bytes per 23 ms frame,
  80 MB per hour) wait in an unnamed temporary file, not in memory, and are
  read back in blocks by :meth:`FrameAnalyzer.flush`.

:func:`frames_of` is the stream run once over a whole array, so the
per-function API (``tempo(samples, rate)``, ...) and :func:`~.analyze.analyze`
on a file give the same frames.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

import numpy as np
import scipy.fft
import scipy.signal

from .._arrays import BLOCK_FRAMES, as_samples, check_finite, check_sample_rate
from ..channels import to_mono
from ..errors import ParameterError
from . import _kernels

__all__ = ["ANALYSIS_RATE", "N_FFT", "HOP_LENGTH", "N_MELS", "FrameAnalyzer", "Frames", "frames_of",
           "chroma_energy"]

#: analyses run at this rate (Hz): enough for key, tempo and timbre, half the work of 44.1 kHz
ANALYSIS_RATE = 22050
#: STFT size (93 ms): 10.8 Hz bins, fine enough for chroma above ~100 Hz
N_FFT = 2048
#: STFT hop (23.2 ms, 43.07 frames/s)
HOP_LENGTH = 512
#: mel bands of the onset envelope (librosa's default)
N_MELS = 128
#: STFT frames windowed and transformed at a time (512 x 2048 float32 = 4 MB); also the number of
#: frames that wait for their samples before a batch runs, so tiny blocks do not cost one FFT call each
_STFT_BLOCK_FRAMES = 512
#: ``librosa.power_to_db`` defaults: floor of the power and the range kept under the loudest value, dB
_AMIN, _TOP_DB = 1e-10, 80.0
#: ``librosa.onset.onset_strength`` with ``center=True``: the envelope is delayed by lag (1) + n_fft // (2 hop)
_ONSET_DELAY = 1 + N_FFT // (2 * HOP_LENGTH)
#: log-mel frames read back at a time when the onset envelope is computed (4096 x 512 bytes = 2 MB)
_ONSET_BLOCK_FRAMES = 4096
#: centre frequency of each STFT bin, Hz
FREQUENCIES = np.fft.rfftfreq(N_FFT, 1 / ANALYSIS_RATE)
#: rolloff: the frequency below which this fraction of the spectral magnitude lies
ROLLOFF_FRACTION = 0.85


@dataclass(frozen=True, eq=False)
class Frames:
    """A signal's per-frame analysis features; built once by :class:`FrameAnalyzer`, read by every analysis."""

    #: frame RMS of the mono signal (the centred 2048-sample frames, unwindowed), shape (frames,), float32
    rms: np.ndarray
    #: onset strength (librosa's ``onset_strength`` of the log-mel frames), shape (frames,), float32
    onset: np.ndarray
    #: spectral centroid of each frame, Hz, shape (frames,), float64
    centroid_hz: np.ndarray
    #: spectral bandwidth of each frame (magnitude-weighted standard deviation around the centroid), Hz,
    #: shape (frames,), float64
    bandwidth_hz: np.ndarray
    #: frequency under which ROLLOFF_FRACTION of each frame's magnitude lies, Hz, shape (frames,), float64
    rolloff_hz: np.ndarray
    #: power per STFT bin summed over all frames, shape (1 + N_FFT // 2,), float64
    bin_power: np.ndarray
    #: duration of the input, seconds
    duration_s: float
    #: mono signal at ``mono_rate`` for a segmenter that needs the signal itself, shape (n,), float32;
    #: empty unless asked for (``FrameAnalyzer(mono_rate=...)``)
    mono: np.ndarray
    #: rate of ``mono``, Hz (0 when it is empty)
    mono_rate: int = 0

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


def chroma_energy(frames: Frames) -> np.ndarray:
    """Chroma summed over all frames: librosa's ``chroma_stft(S=power, tuning=0, norm=None).sum(axis=1)``.

    The chroma filter bank is linear, so it is applied once to the power summed over time
    (a 12 x 1025 product instead of one per frame).

    Returns
    -------
    np.ndarray [shape=(12,), dtype=float64]
        C first.
    """
    return _chroma_filters() @ frames.bin_power


class FrameAnalyzer:
    """The analysis front end as a stream: ``process(block)`` ... ``flush()`` gives the :class:`Frames`.

    Parameters
    ----------
    sample_rate : int
        Rate of the blocks, Hz.
    num_channels : int
        Rows of every block.
    mono_rate : int, optional
        Also keep the mono signal resampled to this rate (from the 22050 Hz
        mono, as a segmenter resampling it would), for a segmenter that needs
        the signal: the one part whose memory grows with the duration
        (4 bytes per sample: 690 MB for 3 hours at 16 kHz).
    expected_frames : int, optional
        The input's length in frames, when known: the kept mono is then
        allocated once instead of joined from pieces at the end.

    Examples
    --------
    >>> import numpy as np
    >>> analyzer = FrameAnalyzer(44100, 2)
    >>> for start in range(0, 44100, 10000):
    ...     analyzer.process(np.zeros((2, min(10000, 44100 - start)), np.float32))
    >>> frames = analyzer.flush()
    >>> frames.rms.shape, frames.duration_s
    ((44,), 1.0)
    """

    def __init__(self, sample_rate: int, num_channels: int, *, mono_rate: int | None = None,
                 expected_frames: int | None = None) -> None:
        from ..io.resample import Resampler, output_length

        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(num_channels, bool) or not isinstance(num_channels, (int, np.integer)) or num_channels < 1:
            raise ParameterError(f"num_channels is {num_channels!r}; expected a positive integer (rows of every block)")
        self.num_channels = int(num_channels)
        self._resampler = Resampler(self.sample_rate, ANALYSIS_RATE, num_channels=1)
        self._frames_in = 0  # input frames seen
        self._mono_count = 0  # samples at ANALYSIS_RATE produced
        # samples at ANALYSIS_RATE not yet consumed by a frame, the centre padding first
        self._pieces: list[np.ndarray] = [np.zeros(N_FFT // 2, np.float32)]
        self._pending = N_FFT // 2
        self._rms: list[np.ndarray] = []
        self._shape: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._bin_power = np.zeros(N_FFT // 2 + 1)
        self._log_mel: IO[bytes] | None = None  # the log-mel frames, waiting for the loudest value
        self._log_mel_max = -np.inf
        self._mono_rate = check_sample_rate(mono_rate, name="mono_rate") if mono_rate is not None else 0
        self._mono_resampler = Resampler(ANALYSIS_RATE, self._mono_rate, 1) if self._mono_rate else None
        self._mono_pieces: list[np.ndarray] = []
        self._mono: np.ndarray | None = None
        self._mono_filled = 0
        if self._mono_rate and expected_frames is not None:
            at_analysis_rate = output_length(int(expected_frames), self.sample_rate, ANALYSIS_RATE)
            self._mono = np.empty(output_length(at_analysis_rate, ANALYSIS_RATE, self._mono_rate), np.float32)

    def process(self, block: np.ndarray) -> None:
        """Take the next block of the signal.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames) or (frames,)]
            Any length, including 0.

        Raises
        ------
        ParameterError
            On a block with another channel count or a non-finite sample.
        """
        block = as_samples(block, name="block")
        if block.shape[0] != self.num_channels:
            raise ParameterError(f"block has {block.shape[0]} channels; this FrameAnalyzer was created with "
                                 f"num_channels={self.num_channels}")
        check_finite(block, name=f"samples (block from frame {self._frames_in})")
        self._frames_in += block.shape[1]
        self._take(self._resampler.process(to_mono(block))[0], final=False)

    def flush(self) -> Frames:
        """End the signal and return its frames.

        Returns
        -------
        Frames

        Raises
        ------
        ParameterError
            When the signal is shorter than one STFT frame (93 ms).
        """
        self._take(self._resampler.flush()[0], final=True)
        duration_s = self._frames_in / self.sample_rate
        if self._mono_count < N_FFT:
            raise ParameterError(
                f"the signal lasts {duration_s:.4f} s; analysis needs at least {N_FFT / ANALYSIS_RATE:.3f} s"
            )
        centroid, bandwidth, rolloff = (np.concatenate(parts) for parts in zip(*self._shape))
        mono = np.zeros(0, np.float32)
        if self._mono_resampler is not None:
            self._keep_mono(self._mono_resampler.flush()[0])
            mono = self._mono[: self._mono_filled] if self._mono is not None else np.concatenate(self._mono_pieces)
        return Frames(rms=np.concatenate(self._rms), onset=self._onset_envelope(), centroid_hz=centroid,
                      bandwidth_hz=bandwidth, rolloff_hz=rolloff, bin_power=self._bin_power,
                      duration_s=duration_s, mono=mono, mono_rate=self._mono_rate)

    def _take(self, mono: np.ndarray, *, final: bool) -> None:
        """Queue resampled samples and analyse every batch of frames they complete."""
        if mono.size:
            self._pieces.append(mono)
            self._pending += mono.size
            self._mono_count += mono.size
            if self._mono_resampler is not None:
                self._keep_mono(self._mono_resampler.process(mono[np.newaxis])[0])
        if final:  # the centre padding at the end
            self._pieces.append(np.zeros(N_FFT // 2, np.float32))
            self._pending += N_FFT // 2
        ready = (self._pending - N_FFT) // HOP_LENGTH + 1 if self._pending >= N_FFT else 0
        if final:  # librosa's frame count, 1 + n // hop, is what the end padding completes
            ready = min(ready, 1 + self._mono_count // HOP_LENGTH - sum(part.size for part in self._rms))
        elif ready < _STFT_BLOCK_FRAMES:
            return
        if ready <= 0:
            return
        buffer = np.concatenate(self._pieces)
        windows = np.lib.stride_tricks.sliding_window_view(buffer, N_FFT)[::HOP_LENGTH][:ready]
        for start in range(0, ready, _STFT_BLOCK_FRAMES):
            self._analyse(windows[start : start + _STFT_BLOCK_FRAMES])
        consumed = ready * HOP_LENGTH
        self._pieces = [buffer[consumed:].copy()]
        self._pending = self._pieces[0].size

    def _analyse(self, windows: np.ndarray) -> None:
        """Features of a batch of frames, shape (count, N_FFT)."""
        count = windows.shape[0]
        magnitude = np.abs(scipy.fft.rfft(windows * _window(), axis=1)).astype(np.float32, copy=False)
        self._rms.append(np.sqrt(np.einsum("ij,ij->i", windows, windows) / N_FFT).astype(np.float32, copy=False))
        centroid, bandwidth, rolloff = (np.empty(count) for _ in range(3))
        _kernels.spectral_shape(magnitude, FREQUENCIES, ROLLOFF_FRACTION, centroid, bandwidth, rolloff)
        self._shape.append((centroid, bandwidth, rolloff))
        _kernels.add_bin_energies(magnitude, self._bin_power)
        weights, first, stop = _mel_filters()
        mel = np.empty((N_MELS, count), np.float32)
        _kernels.band_energies(magnitude, weights, first, stop, mel)
        log_mel = 10.0 * np.log10(np.maximum(_AMIN, mel))  # librosa.power_to_db before its top_db clip
        self._log_mel_max = max(self._log_mel_max, float(log_mel.max()))
        if self._log_mel is None:
            self._log_mel = tempfile.TemporaryFile(prefix="audiokit-log-mel-")
        self._log_mel.write(np.ascontiguousarray(log_mel.T).tobytes())

    def _keep_mono(self, samples: np.ndarray) -> None:
        if self._mono is not None and self._mono_filled + samples.size > self._mono.size:
            # longer than expected_frames said: keep pieces from here on
            self._mono_pieces, self._mono = [self._mono[: self._mono_filled]], None
        if self._mono is None:
            self._mono_pieces.append(samples)
            return
        self._mono[self._mono_filled : self._mono_filled + samples.size] = samples
        self._mono_filled += samples.size

    def _onset_envelope(self) -> np.ndarray:
        """The onset envelope: librosa's ``onset_strength(S=power_to_db(mel))`` of the log-mel frames on disk.

        ``power_to_db`` keeps every value within ``top_db`` of the loudest; the envelope at frame t is the
        mean over bands of the positive rise from frame t - 3 to t - 2 (lag 1, centred), 0 before.
        """
        count = sum(part.size for part in self._rms)
        envelope = np.zeros(count, np.float32)
        assert self._log_mel is not None  # flush() saw at least one frame
        floor = np.float32(self._log_mel_max) - np.float32(_TOP_DB)
        self._log_mel.seek(0)
        previous: np.ndarray | None = None
        position = _ONSET_DELAY  # envelope index of the next rise
        row_bytes = N_MELS * np.dtype(np.float32).itemsize
        while position < count:
            raw = self._log_mel.read(_ONSET_BLOCK_FRAMES * row_bytes)
            if not raw:
                break
            rows = np.maximum(np.frombuffer(raw, np.float32).reshape(-1, N_MELS), floor)
            bands = np.ascontiguousarray(rows.T if previous is None else np.concatenate([previous, rows]).T)
            rises = np.maximum(0.0, bands[:, 1:] - bands[:, :-1]).mean(axis=0)
            used = rises[: count - position]
            envelope[position : position + used.size] = used
            position += used.size
            previous = rows[-1:]
        self._log_mel.close()
        self._log_mel = None
        return envelope


def frames_of(samples: np.ndarray, sample_rate: int, *, mono_rate: int | None = None) -> Frames:
    """Fold to mono, resample to :data:`ANALYSIS_RATE` and take the frame features: :class:`FrameAnalyzer` run once.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    mono_rate : int, optional
        Keep the mono signal at this rate too (see :class:`FrameAnalyzer`).

    Returns
    -------
    Frames

    Raises
    ------
    ParameterError
        On a bad array or rate, non-finite samples, or a signal under one STFT frame.
    """
    samples = as_samples(samples)
    analyzer = FrameAnalyzer(sample_rate, samples.shape[0], mono_rate=mono_rate, expected_frames=samples.shape[1])
    for start in range(0, samples.shape[1], BLOCK_FRAMES):
        analyzer.process(samples[:, start : start + BLOCK_FRAMES])
    return analyzer.flush()
