"""Look-ahead true-peak limiter: hold a dBTP ceiling without clipping or pumping.

The detector is the meter's own (BS.1770-5 Annex 2: the samples and their 4x
interpolation), linked over channels so the stereo image never moves. From
the gain each frame needs, a smooth envelope is built (see the kernels
``_sliding_minimum``, ``_release`` and ``_moving_average``): it starts falling
``lookahead_ms`` before a peak along an S-shaped ramp, holds ``hold_ms`` after
it (longer than half a 25 Hz period, so the gain does not follow bass
waveforms) and recovers with a one-pole release of ``release_ms``. The
envelope looks ahead, so the output is time-aligned with the input (no
latency). It runs block by block with its state carried over
(:class:`_LimiterStream`), so a file of any length is limited in bounded
memory, with the same output as one call on the whole signal.

The envelope never exceeds the gain a sample or an interpolated point needs,
but an interpolated value of the *product* ``gain * x`` can differ slightly
from ``gain`` times the interpolated ``x``. The output is therefore measured
with :class:`~.truepeak.TruePeakMeter` and, if it reads over the ceiling, the
detector threshold is lowered by the overshoot and the pass repeated, so the
ceiling holds as the project's own meter measures it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from .._arrays import as_samples, check_finite, check_sample_rate
from ..errors import AudiokitError, ParameterError
from ._kernels import _limiter_required_gain, _moving_average, _release, _sliding_minimum
from .truepeak import ANNEX2_TAPS, TruePeakMeter, _phase_taps

#: What one limiter attempt hands back besides its output's true peak.
_Value = TypeVar("_Value")

__all__ = ["LIMITED_DB", "LimiterReport", "limit_true_peak"]

#: Default look-ahead (attack ramp), ms.
LOOKAHEAD_MS = 5.0
#: Default hold after a peak, ms.
HOLD_MS = 20.0
#: Default release time constant, ms.
RELEASE_MS = 100.0
#: A frame counts as limited when its gain is reduced by more than this, dB.
LIMITED_DB = 0.1
#: First detector threshold below the ceiling, dB (float32 rounding of the product).
_MARGIN_DB = 0.002
#: Passes allowed to bring the measured true peak under the ceiling.
_MAX_PASSES = 6
#: Zero frames after the signal, so that interpolated points past its end are checked.
_TAIL = 6


@dataclass(frozen=True)
class LimiterReport:
    """What the limiter did."""

    #: the ceiling held, dBTP
    ceiling_dbtp: float
    #: largest gain reduction, dB (0 when nothing was limited)
    max_reduction_db: float
    #: fraction of frames whose gain was reduced by more than LIMITED_DB (0.1 dB), 0..1
    limited_fraction: float
    #: true peak of the output as TruePeakMeter reads it, dBTP
    output_true_peak_dbtp: float

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (``-inf`` as ``None``)."""
        return {
            name: None if isinstance(value, float) and math.isinf(value) else value
            for name, value in ((name, getattr(self, name)) for name in self.__dataclass_fields__)
        }


@dataclass(frozen=True)
class _Settings:
    """Envelope lengths in frames, derived once per sample rate."""

    #: frames of attack (look-ahead), box1 + box2 - 1
    lookahead: int
    #: frames of the first moving average
    box1: int
    #: frames of the second moving average
    box2: int
    #: frames the minimum is held after a peak
    hold: int
    #: one-pole release coefficient per frame
    release_coef: float


def _settings(sample_rate: int, lookahead_ms: float, hold_ms: float, release_ms: float) -> _Settings:
    for name, value, low in (("lookahead_ms", lookahead_ms, 0.1), ("hold_ms", hold_ms, 0.0),
                             ("release_ms", release_ms, 1.0)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                or value < low:
            raise ParameterError(f"{name} is {value!r}; expected a number >= {low}")
    box = max(2, round(lookahead_ms * sample_rate / 2000.0))
    return _Settings(
        lookahead=2 * box - 1,
        box1=box,
        box2=box,
        hold=round(hold_ms * sample_rate / 1000.0),
        release_coef=math.exp(-1000.0 / (release_ms * sample_rate)),
    )


#: Lowest true-peak ceiling accepted, dBTP: below it a "ceiling" is a mistake
#: (a sign or unit slip), not a delivery spec (the strictest in use is -2 dBTP).
MIN_CEILING_DBTP = -60.0


def _check_ceiling(true_peak_dbtp: float) -> float:
    if isinstance(true_peak_dbtp, bool) or not isinstance(true_peak_dbtp, (int, float)) \
            or not math.isfinite(true_peak_dbtp) or not MIN_CEILING_DBTP <= true_peak_dbtp <= 0.0:
        raise ParameterError(f"true_peak_dbtp is {true_peak_dbtp!r}; expected a ceiling in "
                             f"[{MIN_CEILING_DBTP:g}, 0] dBTP")
    return float(true_peak_dbtp)


class _RequiredGain:
    """The gain each frame needs (float64), from sample blocks; a frame is done once 6 frames after it are in.

    Keeps the 11 frames of FIR history and the 6 undone frames between calls,
    and feeds :func:`._kernels._limiter_required_gain` the same neighbours it
    sees in one call on the whole signal (zeros before the start and, once
    ``final``, after the end), so any split gives the same values.
    """

    def __init__(self, sample_rate: int, num_channels: int, threshold: float) -> None:
        factor = TruePeakMeter(sample_rate, num_channels).factor
        self._taps, self._interpolate = _phase_taps(factor), factor > 1
        self._history = ANNEX2_TAPS.shape[1] - 1
        self._threshold = threshold
        self._bound_gain = float(np.abs(ANNEX2_TAPS).sum(axis=1).max()) * (1.0 + 1e-5)
        self._buffer = np.zeros((num_channels, self._history), np.float32)

    def push(self, block: np.ndarray, final: bool) -> np.ndarray:
        parts = [self._buffer, block] + ([np.zeros((block.shape[0], _TAIL), np.float32)] if final else [])
        buffer = np.ascontiguousarray(np.concatenate(parts, axis=1))
        frames = max(0, buffer.shape[1] - self._history - _TAIL)
        required = np.empty(frames)
        if frames:
            _limiter_required_gain(buffer, self._taps, self._interpolate, self._threshold, self._bound_gain, required)
        self._buffer = buffer[:, max(0, buffer.shape[1] - self._history - _TAIL):]
        return required


class _GainEnvelope:
    """The limiter's smooth gain (float64) from required gains pushed in blocks.

    Runs :func:`._kernels._sliding_minimum`, :func:`._kernels._release` and
    two :func:`._kernels._moving_average` with their state carried between
    blocks; a frame's gain is out once ``lookahead - 1`` required gains after
    it are in (all of them when ``final``), equal to the one-block value.
    """

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._required = np.zeros(0)  # frames self._base .. of the signal, from done - hold on
        self._base = 0
        self._done = 0  # frames whose gain is out
        self._level = 1.0
        # Per moving average: [width, history (None before the first block), running sum].
        self._averages: list[list] = [[settings.box1, None, 0.0], [settings.box2, None, 0.0]]

    def push(self, required: np.ndarray, final: bool) -> np.ndarray:
        settings = self._settings
        self._required = np.concatenate([self._required, required])
        known = self._base + self._required.size
        stop = known if final else max(self._done, known - settings.lookahead + 1)
        values = np.empty(stop - self._done)
        if not values.size:
            return values
        _sliding_minimum(self._required, self._base, self._done, settings.hold, settings.lookahead, values)
        self._level = _release(values, settings.release_coef, self._level)
        for average in self._averages:
            width, history, total = average
            history = np.full(width, values[0]) if history is None else history  # before frame 0: frame 0
            extended = np.concatenate([history, values])
            values = np.empty(values.size)
            average[2] = _moving_average(extended, width, self._done, total, values)
            average[1] = extended[-width:]
        self._done = stop
        keep = max(stop - settings.hold, 0)
        self._required = self._required[keep - self._base:]
        self._base = keep
        return values


class _LimiterStream:
    """The limiter at one detector ``threshold``, block by block, time-aligned (no latency in the output).

    ``process`` returns the output frames that are done (a block's last
    ``lookahead + 5`` frames wait for the next block, or for ``final``); the
    concatenated output equals one call on the whole signal.
    """

    def __init__(self, sample_rate: int, num_channels: int, threshold: float, settings: _Settings) -> None:
        self._required = _RequiredGain(sample_rate, num_channels, threshold)
        self._envelope = _GainEnvelope(settings)
        self._pending = np.zeros((num_channels, 0), np.float32)
        self.frames = 0
        self.limited_frames = 0
        self.max_reduction_db = 0.0

    def process(self, block: np.ndarray, *, final: bool = False) -> np.ndarray:
        gain = self._envelope.push(self._required.push(block, final), final)
        pending = np.concatenate([self._pending, block], axis=1)
        out, self._pending = pending[:, :gain.size] * gain.astype(np.float32), pending[:, gain.size:]
        with np.errstate(divide="ignore"):
            reduction_db = -20.0 * np.log10(gain)
        if reduction_db.size:
            self.max_reduction_db = max(self.max_reduction_db, float(reduction_db.max()))
        self.limited_frames += int(np.count_nonzero(reduction_db > LIMITED_DB))
        self.frames += gain.size
        return out

    @property
    def limited_fraction(self) -> float:
        """Fraction of the frames out so far whose gain was reduced by more than LIMITED_DB."""
        return self.limited_frames / self.frames if self.frames else 0.0

    def report(self, ceiling_dbtp: float, output_true_peak_dbtp: float) -> LimiterReport:
        return LimiterReport(ceiling_dbtp=ceiling_dbtp, max_reduction_db=self.max_reduction_db,
                             limited_fraction=self.limited_fraction, output_true_peak_dbtp=output_true_peak_dbtp)


def _gain_envelope(samples: np.ndarray, sample_rate: int, threshold: float, settings: _Settings) -> np.ndarray:
    """Per-frame linked gain (float64, shape (frames,)) keeping every peak under ``threshold``."""
    required = _RequiredGain(sample_rate, samples.shape[0], threshold).push(samples, True)
    return _GainEnvelope(settings).push(required, True)


def _hold_ceiling(ceiling_dbtp: float, attempt: Callable[[float], tuple[float, _Value]]) -> _Value:
    """Run the limiter until its output's true peak holds ``ceiling_dbtp``; returns ``attempt``'s value.

    ``attempt(threshold)`` limits the programme with that detector threshold
    and returns ``(output true peak in dBTP, value)``. The first threshold sits
    ``_MARGIN_DB`` under the ceiling; each overshoot lowers it by the overshoot
    (the product ``gain * x`` can interpolate slightly over ``gain`` times the
    interpolated ``x``). One attempt is the norm.
    """
    threshold = 10.0 ** (ceiling_dbtp / 20.0) * 10.0 ** (-_MARGIN_DB / 20.0)
    for _ in range(_MAX_PASSES):
        peak_dbtp, value = attempt(threshold)
        if peak_dbtp <= ceiling_dbtp:
            return value
        threshold *= 10.0 ** ((ceiling_dbtp - peak_dbtp - _MARGIN_DB) / 20.0)
    raise AudiokitError(f"the limiter could not hold {ceiling_dbtp} dBTP in {_MAX_PASSES} passes "
                        f"(output {peak_dbtp:.3f})")


def _limit(samples: np.ndarray, sample_rate: int, ceiling_dbtp: float,
           settings: _Settings) -> tuple[np.ndarray, LimiterReport]:
    """The limiter on validated float32 ``(channels, frames)`` input."""
    def attempt(threshold: float) -> tuple[float, tuple[np.ndarray, LimiterReport]]:
        stream = _LimiterStream(sample_rate, samples.shape[0], threshold, settings)
        out = stream.process(samples, final=True)
        meter = TruePeakMeter(sample_rate, samples.shape[0])
        meter._process_validated(out)
        peak_dbtp = float(np.max(meter.true_peak_dbtp))
        return peak_dbtp, (out, stream.report(ceiling_dbtp, peak_dbtp))

    return _hold_ceiling(ceiling_dbtp, attempt)


def limit_true_peak(samples: np.ndarray, sample_rate: int, *, true_peak_dbtp: float = -1.0, lookahead_ms: float = LOOKAHEAD_MS,
                    hold_ms: float = HOLD_MS, release_ms: float = RELEASE_MS) -> tuple[np.ndarray, LimiterReport]:
    """Hold the true peak at or under a ceiling with a smooth look-ahead gain.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
        Finite float or integer PCM.
    sample_rate : int
        Hz.
    true_peak_dbtp : float
        Ceiling, dBTP (<= 0), as :func:`~.truepeak.true_peak` measures it.
    lookahead_ms : float
        Attack: the gain starts falling this long before a peak.
    hold_ms : float
        The reduced gain is held this long after a peak.
    release_ms : float
        Time constant of the recovery towards unity gain.

    Returns
    -------
    out : np.ndarray [shape=(channels, frames), dtype=float32]
        Time-aligned with ``samples``; unchanged where no peak is near the ceiling.
    report : LimiterReport

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> x = np.sin(2 * np.pi * 997 * t) * np.where(t > 0.5, 1.0, 0.3)
    >>> y, report = limit_true_peak(x, 48000, true_peak_dbtp=-3.0)
    >>> bool(report.output_true_peak_dbtp <= -3.0), round(report.max_reduction_db, 1)
    (True, 3.0)
    """
    samples = as_samples(samples)
    check_finite(samples)
    sample_rate = check_sample_rate(sample_rate)
    ceiling_dbtp = _check_ceiling(true_peak_dbtp)
    return _limit(samples, sample_rate, ceiling_dbtp, _settings(sample_rate, lookahead_ms, hold_ms, release_ms))
