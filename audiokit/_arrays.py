"""Validation of sample arrays at the public edge.

Inside audiokit every signal is a C-contiguous float32 array of shape
``(channels, frames)``. These helpers turn what users pass in into that form
once, at the boundary, or raise a :class:`~audiokit.errors.ParameterError` that
says what was wrong and how to fix it. They never guess the layout from the
shape: a ``(frames, channels)`` array is rejected, not transposed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .errors import ParameterError

__all__ = ["BLOCK_FRAMES", "MAX_CHANNELS", "MAX_SAMPLE_RATE", "as_samples", "from_interleaved", "check_finite", "check_sample_rate"]

#: More rows than this means the array is almost certainly (frames, channels).
#: 64 covers every layout up to 22.2 and third-order ambisonics (16) with room.
MAX_CHANNELS = 64
#: Highest sample rate audiokit accepts, Hz: 768 kHz is the highest rate in use
#: (DXD x2, PCM 768k DACs). Anything above is a corrupt header or a unit mistake.
MAX_SAMPLE_RATE = 768_000
#: Frames per block when a long signal is streamed or processed in pieces: it
#: bounds temporary memory (1 MiB per channel of float32) whatever the duration.
BLOCK_FRAMES = 1 << 16

_INT_SCALE = {
    np.dtype(np.int8): 2.0**7,
    np.dtype(np.int16): 2.0**15,
    np.dtype(np.int32): 2.0**31,
    np.dtype(np.int64): 2.0**63,
}


def _to_float32(array: np.ndarray, name: str) -> np.ndarray:
    """Convert float or integer PCM to float32 in [-1, 1)."""
    if array.dtype == np.float32:
        return array
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    if array.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return ((array.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if array.dtype in _INT_SCALE:
        return (array.astype(np.float64) / _INT_SCALE[array.dtype]).astype(np.float32)
    raise ParameterError(
        f"{name} has dtype {array.dtype}; expected float32/float64 or integer PCM "
        "(int8, uint8, int16, int32, int64)"
    )


def as_samples(samples: npt.ArrayLike, *, name: str = "samples") -> np.ndarray:
    """Return ``samples`` as a C-contiguous float32 ``(channels, frames)`` array.

    Parameters
    ----------
    samples : np.ndarray [shape=(frames,) or (channels, frames)]
        Float or integer PCM. A 1-D array is mono. Integer PCM is scaled to
        [-1, 1) (int16 by 2**15, int32 by 2**31, uint8 centred on 128).
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    np.ndarray [shape=(channels, frames), dtype=float32]

    Raises
    ------
    ParameterError
        If the array is not 1-D or 2-D, has an unsupported dtype, or looks
        like ``(frames, channels)`` (more than :data:`MAX_CHANNELS` rows).
    """
    if not isinstance(samples, np.ndarray):
        if isinstance(samples, (list, tuple)):
            samples = np.asarray(samples)
        else:
            raise ParameterError(
                f"{name} is a {type(samples).__name__}; expected a numpy array "
                "of shape (channels, frames)"
            )
    if samples.ndim == 1:
        samples = samples[np.newaxis, :]
    elif samples.ndim != 2:
        raise ParameterError(
            f"{name} has {samples.ndim} dimensions (shape {samples.shape}); "
            "expected (frames,) for mono or (channels, frames)"
        )
    rows, cols = samples.shape
    if rows == 0:
        raise ParameterError(f"{name} has shape {samples.shape}: no channels")
    if rows > MAX_CHANNELS:
        hint = ""
        if cols <= MAX_CHANNELS:
            hint = (
                ". If it came from soundfile or pyloudnorm, pass it through "
                "audiokit.io.from_interleaved()"
            )
        raise ParameterError(
            f"{name} has shape {samples.shape}; expected (channels, frames) with at "
            f"most {MAX_CHANNELS} channels{hint}"
        )
    return np.ascontiguousarray(_to_float32(samples, name))


def from_interleaved(data: npt.ArrayLike, *, name: str = "data") -> np.ndarray:
    """Convert ``(frames, channels)`` data (soundfile, pyloudnorm) to audiokit's layout.

    Parameters
    ----------
    data : np.ndarray [shape=(frames,) or (frames, channels)]

    Returns
    -------
    np.ndarray [shape=(channels, frames), dtype=float32]

    Examples
    --------
    >>> import numpy as np
    >>> from_interleaved(np.zeros((48000, 2))).shape
    (2, 48000)
    """
    data = np.asarray(data)
    if data.ndim == 1:
        return as_samples(data, name=name)
    if data.ndim != 2:
        raise ParameterError(
            f"{name} has shape {data.shape}; expected (frames,) or (frames, channels)"
        )
    return as_samples(data.T, name=name)


def check_finite(samples: np.ndarray, *, name: str = "samples") -> None:
    """Raise :class:`ParameterError` naming the first NaN or infinite sample."""
    if np.isfinite(samples).all():
        return
    channel, frame = np.argwhere(~np.isfinite(samples))[0]
    value = samples[channel, frame]
    raise ParameterError(
        f"{name}[{channel}, {frame}] is {value}; every sample must be finite. "
        "Replace NaN/Inf (e.g. np.nan_to_num) before processing"
    )


def check_sample_rate(sample_rate: float | np.integer | np.floating, *, name: str = "sample_rate") -> int:
    """Return ``sample_rate`` as an int, or raise unless it is an integer in 1..:data:`MAX_SAMPLE_RATE` Hz."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        if isinstance(sample_rate, (float, np.floating)) and float(sample_rate).is_integer():
            sample_rate = int(sample_rate)
        else:
            raise ParameterError(
                f"{name} is {sample_rate!r}; expected a positive integer number of Hz"
            )
    if sample_rate <= 0:
        raise ParameterError(f"{name} is {sample_rate}; expected a positive number of Hz")
    if sample_rate > MAX_SAMPLE_RATE:
        raise ParameterError(f"{name} is {sample_rate}; expected at most {MAX_SAMPLE_RATE} Hz (is it in Hz?)")
    return int(sample_rate)
