"""audiokit's one high-quality resampler: polyphase windowed sinc, streaming.

Every rate change in audiokit goes through :class:`Resampler` (streaming) or
:func:`resample` (whole signal, built on it, so chunked == whole bit for bit).

Design (see docs/resampling.md for the measured response):

- The ratio ``out_rate / in_rate`` is reduced to ``up / down`` by their gcd.
  Output frame ``j`` is the band-limited input evaluated at input time
  ``j * in_rate / out_rate``: zero delay, the kernel is centred on that instant.
- The kernel is a Kaiser-windowed sinc whose cutoff sits between
  :data:`PASSBAND_EDGE` and :data:`STOPBAND_EDGE` of the lower Nyquist
  frequency, long enough for :data:`STOPBAND_ATTENUATION_DB`.
- It is tabulated as ``up`` exact phases when that table is small (every pair
  of common rates), otherwise at :data:`INTERPOLATED_PHASES` phases per sample
  of the lower rate with linear interpolation between neighbouring phases
  (e.g. 44100 -> 7999, where ``up`` is 7999).
- The stream starts from zero history and :meth:`Resampler.flush` drains the
  tail, so ``n`` input frames give exactly ``ceil(n * out_rate / in_rate)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._arrays import as_samples, check_sample_rate
from ..errors import ParameterError

__all__ = ["Resampler", "resample", "output_length"]

#: Passband edge as a fraction of the lower Nyquist frequency (soxr "HQ": 0.913).
PASSBAND_EDGE = 0.91
#: Stopband edge as a fraction of the lower Nyquist frequency: nothing aliases.
STOPBAND_EDGE = 1.0
#: Design stopband attenuation, which sets the Kaiser beta and the kernel length.
STOPBAND_ATTENUATION_DB = 120.0
#: Largest exact phase table, in coefficients, before switching to interpolation.
MAX_EXACT_TABLE_SIZE = 1 << 20
#: Phases per sample of the lower rate when phases are interpolated.
INTERPOLATED_PHASES = 1024
#: The tap count is a multiple of this so the kernel's dot product vectorises
#: without a scalar tail (4x faster, measured).
TAP_MULTIPLE = 16


@dataclass(frozen=True)
class _PolyphaseFilter:
    """A Kaiser-windowed sinc tabulated by phase for one rate ratio."""

    up: int  # out_rate / gcd
    down: int  # in_rate / gcd
    num_phases: int  # P, table rows per input frame (== up when exact)
    half_taps: int  # K: output j reads x[q - K + 1 .. q + K]
    phases: np.ndarray  # float32 [shape=(P + 1, 2 * K)]: h(p / P - (i - K + 1))
    phase_rows: np.ndarray  # int64 [shape=(up,)]: p_r = floor(r * P / up)
    phase_weights: np.ndarray  # float32 [shape=(up,)]: a_r = frac(r * P / up)

    @property
    def exact(self) -> bool:
        """True when every output frame uses one tabulated phase (no interpolation)."""
        return self.num_phases == self.up


def _design_filter(in_rate: int, out_rate: int) -> _PolyphaseFilter:
    """Design the kernel ``h(t)``, ``t`` in input frames, and tabulate its phases."""
    divisor = math.gcd(in_rate, out_rate)
    up, down = out_rate // divisor, in_rate // divisor
    # Designed in samples of the lower rate (Kaiser 1974: beta and length) ...
    transition = np.pi * (STOPBAND_EDGE - PASSBAND_EDGE)  # rad/sample
    beta = 0.1102 * (STOPBAND_ATTENUATION_DB - 8.7)
    length = (STOPBAND_ATTENUATION_DB - 7.95) / (2.285 * transition)
    # ... then stretched to input frames (by in/out when decimating).
    stretch = max(1.0, down / up)
    half_width = 0.5 * length * stretch
    cutoff = 0.25 * (PASSBAND_EDGE + STOPBAND_EDGE) / stretch  # cycles per input frame
    # Smallest K covering |t| <= half_width for every phase, rounded up so that
    # 2K is a multiple of TAP_MULTIPLE (the extra taps are zeros).
    half_taps = -(-(math.floor(half_width) + 1) // (TAP_MULTIPLE // 2)) * (TAP_MULTIPLE // 2)

    if up * 2 * half_taps <= MAX_EXACT_TABLE_SIZE:
        num_phases = up
    else:
        num_phases = max(1, round(INTERPOLATED_PHASES / stretch))

    # prototype[m] = h(m / P - K), m = 0 .. 2KP
    t = np.arange(-half_taps * num_phases, half_taps * num_phases + 1) / num_phases
    inside = np.abs(t) <= half_width
    window = np.zeros_like(t)
    window[inside] = np.i0(beta * np.sqrt(1.0 - (t[inside] / half_width) ** 2)) / np.i0(beta)
    prototype = 2.0 * cutoff * np.sinc(2.0 * cutoff * t) * window

    # phases[p, i] = h(p / P - (i - K + 1)) = prototype[p + (2K - 1 - i) * P]
    rows = np.arange(num_phases + 1)[:, np.newaxis]
    columns = (2 * half_taps - 1 - np.arange(2 * half_taps))[np.newaxis, :]
    phases = prototype[rows + columns * num_phases].astype(np.float32)
    # Output phase r (t = q + r / up) falls between rows p_r and p_r + 1.
    phase_rows, remainders = np.divmod(np.arange(up, dtype=np.int64) * num_phases, up)
    phase_weights = (remainders / up).astype(np.float32)
    return _PolyphaseFilter(up, down, num_phases, half_taps, phases, phase_rows, phase_weights)


def output_length(num_frames: int, in_rate: int, out_rate: int) -> int:
    """Number of frames :func:`resample` returns for ``num_frames`` input frames.

    Parameters
    ----------
    num_frames : int
        Input length, ``>= 0``.
    in_rate, out_rate : int
        Sample rates in Hz.

    Returns
    -------
    int
        ``ceil(num_frames * out_rate / in_rate)``: one output frame for every
        output instant strictly before the end of the input.

    Examples
    --------
    >>> output_length(44100, 44100, 48000)
    48000
    >>> output_length(1, 48000, 44100)
    1
    """
    in_rate = check_sample_rate(in_rate, name="in_rate")
    out_rate = check_sample_rate(out_rate, name="out_rate")
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 0:
        raise ParameterError(f"num_frames is {num_frames!r}; expected an integer >= 0")
    return -(-int(num_frames) * out_rate // in_rate)


class Resampler:
    """Streaming sample-rate converter: ``process(block)`` ... ``flush()``.

    Parameters
    ----------
    in_rate : int
        Input sample rate in Hz.
    out_rate : int
        Output sample rate in Hz.
    num_channels : int
        Rows of every block passed to :meth:`process`.

    Notes
    -----
    Output frame ``j`` is the input at time ``j * in_rate / out_rate`` (no
    delay). Blocks of any size give exactly the samples :func:`resample` gives
    for their concatenation. State is the filter history: about
    ``2 * 88 * max(1, in_rate / out_rate)`` frames per channel.

    Examples
    --------
    >>> import numpy as np
    >>> resampler = Resampler(44100, 48000, num_channels=2)
    >>> blocks = [resampler.process(np.zeros((2, 4410), np.float32)) for _ in range(10)]
    >>> sum(block.shape[1] for block in blocks) + resampler.flush().shape[1]
    48000
    """

    def __init__(self, in_rate: int, out_rate: int, num_channels: int):
        self._in_rate = check_sample_rate(in_rate, name="in_rate")
        self._out_rate = check_sample_rate(out_rate, name="out_rate")
        if (
            isinstance(num_channels, bool)
            or not isinstance(num_channels, (int, np.integer))
            or num_channels < 1
        ):
            raise ParameterError(
                f"num_channels is {num_channels!r}; expected a positive integer "
                "(the number of rows of every block)"
            )
        self._num_channels = int(num_channels)
        self._flushed = False
        self._filter: _PolyphaseFilter | None = None  # None: the rates are equal, blocks pass through
        if self._in_rate == self._out_rate:
            return
        self._filter = spec = _design_filter(self._in_rate, self._out_rate)
        half_taps = spec.half_taps
        # Zero history: the first output's window starts K - 1 frames before x[0].
        self._history = np.zeros((self._num_channels, half_taps - 1), np.float32)
        self._history_start = 1 - half_taps  # input index of self._history[:, 0]
        self._next_output = 0  # index j of the next output frame

    @property
    def in_rate(self) -> int:
        """Input sample rate in Hz."""
        return self._in_rate

    @property
    def out_rate(self) -> int:
        """Output sample rate in Hz."""
        return self._out_rate

    @property
    def num_channels(self) -> int:
        """Number of channels every block must have."""
        return self._num_channels

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample the next block of the stream.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames) or (frames,) for mono]
            The next input frames; any length, including 0.

        Returns
        -------
        np.ndarray [shape=(channels, frames_out), dtype=float32]
            Every output frame whose window is now complete; may have 0 frames.
        """
        if self._flushed:
            raise ParameterError(
                "process() called after flush(); a Resampler converts one stream. "
                "Create a new Resampler for the next stream"
            )
        block = as_samples(block, name="block")
        if block.shape[0] != self._num_channels:
            raise ParameterError(
                f"block has {block.shape[0]} channels (shape {block.shape}); this "
                f"Resampler was created with num_channels={self._num_channels}. "
                "Pass (channels, frames) blocks with that many rows, or create a "
                "Resampler for this channel count"
            )
        if self._filter is None:
            return block.copy()
        return self._advance(block)

    def flush(self) -> np.ndarray:
        """End the stream and return its last frames.

        Returns
        -------
        np.ndarray [shape=(channels, frames_out), dtype=float32]
            The output frames that needed input past the end (treated as zeros).
            After ``flush()`` the total is ``output_length(frames, in_rate, out_rate)``.
        """
        if self._flushed:
            raise ParameterError(
                "flush() called twice; a Resampler converts one stream. "
                "Create a new Resampler for the next stream"
            )
        self._flushed = True
        if self._filter is None:
            return np.zeros((self._num_channels, 0), np.float32)
        # K zeros past the end complete the window of the last output frame.
        padding = np.zeros((self._num_channels, self._filter.half_taps), np.float32)
        return self._advance(padding)

    def _advance(self, block: np.ndarray) -> np.ndarray:
        """Append ``block`` to the history and emit every output it completes."""
        from ._kernels import polyphase_resample  # numba loads on first use, not at import

        spec = self._filter
        assert spec is not None  # _advance runs only when the rates differ
        up, down, half_taps = spec.up, spec.down, spec.half_taps
        buffer = np.concatenate([self._history, block], axis=1)
        end = self._history_start + buffer.shape[1]  # input frames available: x[.. end - 1]
        # Output j is complete when its last tap q_j + K < end: j * down < (end - K) * up.
        # After flush() end = frames_in + K, so stop = output_length(frames_in, ...).
        stop = max(self._next_output, -(-(end - half_taps) * up // down))
        first = self._next_output
        out = np.empty((self._num_channels, stop - first), np.float32)
        if stop > first:
            quotient, residue = divmod(first * down, up)
            first_start = quotient - half_taps + 1 - self._history_start
            polyphase_resample(buffer, spec.phases, spec.phase_rows, spec.phase_weights,
                               up, down, first_start, residue, out)
        # Keep the history from the first tap of the next output frame onwards.
        keep_from = (stop * down) // up - half_taps + 1
        self._history = buffer[:, keep_from - self._history_start:].copy()
        self._history_start = keep_from
        self._next_output = stop
        return out


def resample(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resample a whole signal from ``in_rate`` to ``out_rate``.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
        The input; ``(frames,)`` is mono.
    in_rate, out_rate : int
        Sample rates in Hz.

    Returns
    -------
    np.ndarray [shape=(channels, output_length(frames, in_rate, out_rate)), dtype=float32]
        Time-aligned with the input: frame ``j`` is at ``j / out_rate`` seconds.

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.zeros((2, 44100), np.float32), 44100, 48000).shape
    (2, 48000)
    """
    samples = as_samples(samples)
    resampler = Resampler(in_rate, out_rate, num_channels=samples.shape[0])
    return np.concatenate([resampler.process(samples), resampler.flush()], axis=1)
