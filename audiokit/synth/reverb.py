"""A light stereo room: Freeverb (8 damped combs + 4 allpasses per ear).

Freeverb's delay lengths are tuned at 44.1 kHz; they are scaled to the sample
rate here, and the right channel's lines are 23 samples (at 44.1 kHz) longer for
width. The wet signal is fed from the mono sum of the input channels and added
to the dry signal.

Examples
--------
>>> import numpy as np
>>> dry = np.zeros((2, 4800), np.float32); dry[:, 0] = 1.0
>>> wet = reverb(dry, 48000, options=ReverbOptions())
>>> wet.shape
(2, 76800)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .._arrays import as_samples, check_finite, check_sample_rate
from ..errors import ParameterError

__all__ = ["ReverbOptions", "reverb"]

#: Freeverb comb and allpass delays at 44.1 kHz, samples.
_COMBS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
_ALLPASSES = (556, 441, 341, 225)
_STEREO_SPREAD = 23
_TUNING_RATE = 44_100
#: Freeverb's fixed input gain and comb feedback mapping (room_size * 0.28 + 0.7).
_INPUT_GAIN = 0.015
_ALLPASS_FEEDBACK = 0.5


@dataclass(frozen=True)
class ReverbOptions:
    """Settings of :func:`reverb`."""

    #: 0..1: comb feedback 0.7 + 0.28 * room_size (0.6 gives about 1.7 s RT60)
    room_size: float = 0.6
    #: 0..1: high-frequency damping in the comb loops
    damping: float = 0.5
    #: wet level relative to the dry signal (Freeverb's wet scale of 3 included)
    wet: float = 0.25
    #: seconds of output appended after the input for the tail
    tail_s: float = 1.5

    def __post_init__(self) -> None:
        for name in ("room_size", "damping"):
            if not 0 <= getattr(self, name) <= 1:
                raise ParameterError(f"{name} is {getattr(self, name)}; expected 0..1")
        if self.wet < 0 or self.tail_s < 0:
            raise ParameterError(f"wet ({self.wet}) and tail_s ({self.tail_s}) must be >= 0")

    def to_dict(self) -> dict:
        """The options as a JSON-able dict."""
        return asdict(self)


def reverb(samples: np.ndarray, sample_rate: int, *, options: ReverbOptions | None = None) -> np.ndarray:
    """Add a light stereo room to ``samples``.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
        Mono or stereo (more channels are summed into the reverb's input but
        only the first two are kept dry).
    sample_rate : int
    options : ReverbOptions, optional

    Returns
    -------
    np.ndarray [shape=(2, frames + round(tail_s * sample_rate)), dtype=float32]
    """
    from ._kernels import freeverb

    options = options or ReverbOptions()
    samples = as_samples(samples)
    check_finite(samples)
    sample_rate = check_sample_rate(sample_rate)
    if samples.shape[0] > 2:
        raise ParameterError(f"samples has {samples.shape[0]} channels; expected mono or stereo")
    frames = samples.shape[1] + round(options.tail_s * sample_rate)
    dry = np.zeros((2, frames), np.float32)
    dry[:, : samples.shape[1]] = samples  # a mono row broadcasts to both ears
    scale = sample_rate / _TUNING_RATE
    combs = np.array([[round(n * scale) for n in _COMBS],
                      [round((n + _STEREO_SPREAD) * scale) for n in _COMBS]], np.int64)
    allpasses = np.array([[round(n * scale) for n in _ALLPASSES],
                          [round((n + _STEREO_SPREAD) * scale) for n in _ALLPASSES]], np.int64)
    mono = np.zeros(frames, np.float32)
    mono[: samples.shape[1]] = samples.sum(axis=0) * _INPUT_GAIN
    wet = np.empty((2, frames), np.float32)
    freeverb(mono, wet, combs, allpasses, 0.7 + 0.28 * options.room_size, 0.4 * options.damping,
             _ALLPASS_FEEDBACK)
    return np.ascontiguousarray(dry + 3.0 * options.wet * wet, dtype=np.float32)
