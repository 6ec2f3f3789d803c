"""musicnn's input representation: log-compressed 96-band mel spectrogram, 3 s patches.

As in ``musicnn/extractor.py`` (``batch_data``) of musicnn 0.1.0: 16 kHz mono,
512-point STFT with a periodic Hann window, hop 256, centred frames with
reflect padding (librosa 0.7, which musicnn used), power spectrum through 96
Slaney mel filters (0 to 8 kHz), values rounded to float16 (musicnn stores
the mel power as float16 before compressing) and compressed as
``log10(10000 * S + 1)``; frames are cut into non-overlapping patches of 187
frames (3 s), a partial patch at the end is dropped, and a track shorter than
one patch is repeated to fill it (musicnn's training used ``repeat-pad``).

One deliberate difference: musicnn multiplies ``10000 * S`` in float16, which
overflows to ``inf`` when ``S > 6.55`` (a loud low note does that); here the
product is taken in float32 so loud passages stay finite.

:class:`MelFrontEnd` is a streaming stage (``process(block)`` / ``flush()``),
so a 3-hour file is tagged in bounded memory and chunked == whole.
"""

from __future__ import annotations

import numpy as np

from audiokit.errors import ParameterError

__all__ = [
    "SAMPLE_RATE",
    "N_FFT",
    "HOP_LENGTH",
    "N_MELS",
    "PATCH_FRAMES",
    "PATCH_DURATION_S",
    "MelFrontEnd",
    "log_mel",
    "patches",
]

#: model input rate, Hz (musicnn ``configuration.SR``)
SAMPLE_RATE = 16000
#: STFT size in samples (``FFT_SIZE``)
N_FFT = 512
#: STFT hop in samples (``FFT_HOP``)
HOP_LENGTH = 256
#: mel bands (``N_MELS``)
N_MELS = 96
#: frames per 3 s patch: ``librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1``
PATCH_FRAMES = 187
#: the hop between patch starts, seconds (patches do not overlap)
PATCH_DURATION_S = PATCH_FRAMES * HOP_LENGTH / SAMPLE_RATE
#: the log compression constant ``C`` of ``log10(C * S + 1)`` ("logC" in musicnn)
LOG_C = 10000.0

_PAD = N_FFT // 2


def _mel_basis() -> np.ndarray:
    import librosa

    # librosa 0.7's defaults, which musicnn used: Slaney mel scale and area norm, fmax = sr/2
    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, htk=False, norm="slaney", dtype=np.float64)


class MelFrontEnd:
    """Streaming log-mel front end: feed 16 kHz mono blocks, get ``(frames, 96)`` rows.

    Frame ``j`` is centred on sample ``256 j`` (librosa ``center=True``); the
    signal is reflect-padded by 256 samples at both ends, so the whole signal
    of ``n`` samples gives ``1 + n // 256`` frames, in any block sizes.

    Examples
    --------
    >>> import numpy as np
    >>> front = MelFrontEnd()
    >>> x = np.zeros(16000, np.float32)
    >>> rows = np.concatenate([front.process(x[:7000]), front.process(x[7000:]), front.flush()])
    >>> rows.shape
    (63, 96)
    """

    def __init__(self) -> None:
        self._basis = _mel_basis()
        self._window = np.hanning(N_FFT + 1)[:-1]  # periodic Hann, float64
        self._pending = np.zeros(0, np.float32)  # padded-signal samples from the next frame's start
        self._tail = np.zeros(0, np.float32)  # the last 257 input samples, for the end reflection
        self._started = False
        self._num_samples = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Consume mono samples; return the log-mel rows that are complete.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), dtype=float32]
            The next 16 kHz mono samples.

        Returns
        -------
        np.ndarray [shape=(frames, 96), dtype=float32]
        """
        block = np.asarray(block, np.float32).reshape(-1)
        self._num_samples += block.size
        self._tail = np.concatenate([self._tail, block])[-(_PAD + 1) :]
        self._pending = np.concatenate([self._pending, block])
        if not self._started:
            if self._pending.size <= _PAD:
                return np.zeros((0, N_MELS), np.float32)
            self._pending = np.concatenate([self._pending[1 : _PAD + 1][::-1], self._pending])
            self._started = True
        return self._frames()

    def flush(self) -> np.ndarray:
        """Return the last rows, reflect-padding the end; the stage is then spent.

        Raises
        ------
        ParameterError
            If fewer than 512 samples (32 ms) were fed in all.
        """
        if self._num_samples < N_FFT:
            raise ParameterError(
                f"the signal has {self._num_samples} samples at {SAMPLE_RATE} Hz; "
                f"at least {N_FFT} ({N_FFT / SAMPLE_RATE * 1000:.0f} ms) are needed"
            )
        self._pending = np.concatenate([self._pending, self._tail[:-1][::-1]])
        return self._frames()

    def _frames(self) -> np.ndarray:
        # the padded signal has n + 512 samples, so this yields 1 + n // 256 frames in all
        count = 0 if self._pending.size < N_FFT else 1 + (self._pending.size - N_FFT) // HOP_LENGTH
        if count == 0:
            return np.zeros((0, N_MELS), np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(self._pending, N_FFT)[: count * HOP_LENGTH : HOP_LENGTH]
        # float64 so that block boundaries (which change FFT batching and BLAS
        # summation order) cannot flip a float16 rounding: chunked == whole exactly
        spectrum = np.fft.rfft(frames * self._window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        self._pending = self._pending[count * HOP_LENGTH :]
        return log_mel(power @ self._basis.T)


def log_mel(mel_power: np.ndarray) -> np.ndarray:
    """Apply musicnn's compression: round to float16, then ``log10(10000 * S + 1)`` in float32.

    Parameters
    ----------
    mel_power : np.ndarray [shape=(frames, 96)]
        Mel power spectrogram.

    Returns
    -------
    np.ndarray [shape=(frames, 96), dtype=float32]
    """
    rounded = np.asarray(mel_power).astype(np.float16).astype(np.float32)
    return np.log10(LOG_C * rounded + 1.0, dtype=np.float32)


def patches(log_mel_frames: np.ndarray) -> np.ndarray:
    """Cut log-mel rows into non-overlapping 187-frame patches, as musicnn does.

    Parameters
    ----------
    log_mel_frames : np.ndarray [shape=(frames, 96)]

    Returns
    -------
    np.ndarray [shape=(patches, 187, 96), dtype=float32]
        ``frames // 187`` patches (the partial tail is dropped); one patch of
        the rows repeated end to end when there are fewer than 187 rows.
    """
    rows = np.asarray(log_mel_frames, np.float32)
    if rows.shape[0] == 0:
        raise ParameterError("no spectrogram frames to cut into patches")
    if rows.shape[0] < PATCH_FRAMES:
        rows = np.tile(rows, (-(-PATCH_FRAMES // rows.shape[0]), 1))[:PATCH_FRAMES]
    count = rows.shape[0] // PATCH_FRAMES
    return np.ascontiguousarray(rows[: count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, N_MELS))
