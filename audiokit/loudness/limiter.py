"""Look-ahead true-peak limiter: hold a dBTP ceiling without clipping or pumping.

The detector is the meter's own (BS.1770-5 Annex 2: the samples and their 4x
interpolation), linked over channels so the stereo image never moves. From
the gain each frame needs, a smooth envelope is built (see
:func:`._kernels._limiter_envelope`): it starts falling ``lookahead_ms``
before a peak along an S-shaped ramp, holds ``hold_ms`` after it (longer than
half a 25 Hz period, so the gain does not follow bass waveforms) and recovers
with a one-pole release of ``release_ms``. The envelope is non-causal over the
whole array, so the output is time-aligned with the input (no latency).

The envelope never exceeds the gain a sample or an interpolated point needs,
but an interpolated value of the *product* ``gain * x`` can differ slightly
from ``gain`` times the interpolated ``x``. The output is therefore measured
with :class:`~.truepeak.TruePeakMeter` and, if it reads over the ceiling, the
detector threshold is lowered by the overshoot and the pass repeated, so the
ceiling holds as the project's own meter measures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._arrays import as_samples, check_finite, check_sample_rate
from ..errors import AudiokitError, ParameterError
from ._kernels import _limiter_envelope, _limiter_required_gain
from .truepeak import ANNEX2_TAPS, TruePeakMeter, _phase_taps

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


def _check_ceiling(true_peak_dbtp) -> float:
    if isinstance(true_peak_dbtp, bool) or not isinstance(true_peak_dbtp, (int, float)) \
            or not math.isfinite(true_peak_dbtp) or true_peak_dbtp > 0.0:
        raise ParameterError(f"true_peak_dbtp is {true_peak_dbtp!r}; expected a finite ceiling <= 0 dBTP")
    return float(true_peak_dbtp)


def _gain_envelope(samples: np.ndarray, sample_rate: int, threshold: float, settings: _Settings) -> np.ndarray:
    """Per-frame linked gain (float64, shape (frames,)) keeping every peak under ``threshold``."""
    factor = TruePeakMeter(sample_rate, samples.shape[0]).factor
    history = ANNEX2_TAPS.shape[1] - 1
    padded = np.zeros((samples.shape[0], history + samples.shape[1] + _TAIL), np.float32)
    padded[:, history:history + samples.shape[1]] = samples
    bound_gain = float(np.abs(ANNEX2_TAPS).sum(axis=1).max()) * (1.0 + 1e-5)
    required = np.empty(samples.shape[1])
    _limiter_required_gain(padded, _phase_taps(factor), factor > 1, threshold, bound_gain, required)
    gain = np.empty(samples.shape[1])
    _limiter_envelope(required, settings.hold, settings.lookahead, settings.box1, settings.box2,
                      settings.release_coef, gain)
    return gain


def _output_true_peak(samples: np.ndarray, sample_rate: int) -> float:
    meter = TruePeakMeter(sample_rate, samples.shape[0])
    meter._process_validated(samples)
    return float(np.max(meter.true_peak_dbtp))


def _limit(samples: np.ndarray, sample_rate: int, ceiling_dbtp: float,
           settings: _Settings) -> tuple[np.ndarray, LimiterReport]:
    """The limiter on validated float32 ``(channels, frames)`` input."""
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    threshold = ceiling * 10.0 ** (-_MARGIN_DB / 20.0)
    for _ in range(_MAX_PASSES):
        gain = _gain_envelope(samples, sample_rate, threshold, settings)
        out = samples * gain.astype(np.float32)
        peak_dbtp = _output_true_peak(out, sample_rate)
        if peak_dbtp <= ceiling_dbtp:
            break
        threshold *= 10.0 ** ((ceiling_dbtp - peak_dbtp - _MARGIN_DB) / 20.0)
    else:
        raise AudiokitError(  # each pass lowers the threshold by the overshoot; one pass is the norm
            f"the limiter could not hold {ceiling_dbtp} dBTP in {_MAX_PASSES} passes (output {peak_dbtp:.3f})"
        )
    with np.errstate(divide="ignore"):
        reduction_db = -20.0 * np.log10(gain) if gain.size else np.zeros(0)
    report = LimiterReport(
        ceiling_dbtp=ceiling_dbtp,
        max_reduction_db=max(0.0, float(reduction_db.max())) if reduction_db.size else 0.0,
        limited_fraction=float(np.mean(reduction_db > LIMITED_DB)) if reduction_db.size else 0.0,
        output_true_peak_dbtp=peak_dbtp,
    )
    return out, report


def limit_true_peak(samples, sample_rate: int, *, true_peak_dbtp: float = -1.0, lookahead_ms: float = LOOKAHEAD_MS,
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
