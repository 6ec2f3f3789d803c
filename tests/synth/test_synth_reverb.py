"""audiokit.synth.reverb: length, decay, dry path, stereo width, errors."""

from __future__ import annotations

import numpy as np
import pytest

from audiokit import synth
from audiokit.errors import ParameterError

SR = 48000


def _impulse(frames: int = 4800, channels: int = 1) -> np.ndarray:
    x = np.zeros((channels, frames), np.float32)
    x[:, 0] = 1.0
    return x


def test_shape_and_tail():
    options = synth.ReverbOptions(tail_s=0.5)
    out = synth.reverb(_impulse(), SR, options=options)
    assert out.shape == (2, 4800 + SR // 2)
    assert out.dtype == np.float32


def test_dry_only_when_wet_is_zero():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 2000)).astype(np.float32)
    out = synth.reverb(x, SR, options=synth.ReverbOptions(wet=0.0, tail_s=0.1))
    np.testing.assert_array_equal(out[:, :2000], x)
    assert not out[:, 2000:].any()


def test_impulse_response_decays_and_is_stereo():
    options = synth.ReverbOptions(tail_s=2.0)
    wet = synth.reverb(_impulse(), SR, options=options)
    wet[:, 0] -= 1.0  # remove the dry impulse
    energy = (wet.astype(np.float64) ** 2).sum(axis=0)
    early = energy[: SR // 2].sum()
    late = energy[-SR // 2 :].sum()
    assert early > 0 and late < 0.01 * early  # decays by more than 20 dB within 2.1 s
    correlation = np.corrcoef(wet[0], wet[1])[0, 1]
    assert correlation < 0.9  # the spread makes the ears differ


def test_decay_time_does_not_depend_on_sample_rate():
    # the delays scale with the rate, so the energy left after 0.5 s is about the same fraction
    fractions = []
    for sample_rate in (44100, 48000, 96000):
        wet = synth.reverb(_impulse(sample_rate // 10), sample_rate, options=synth.ReverbOptions(tail_s=1.0))
        wet[:, 0] -= 1.0
        energy = (wet.astype(np.float64) ** 2).sum(axis=0)
        fractions.append(energy[sample_rate // 2 :].sum() / energy.sum())
    assert max(fractions) < 1.5 * min(fractions)
    assert 1e-4 < fractions[0] < 0.1


def test_errors():
    with pytest.raises(ParameterError, match="room_size"):
        synth.ReverbOptions(room_size=1.5)
    with pytest.raises(ParameterError, match="mono or stereo"):
        synth.reverb(np.zeros((3, 100), np.float32), SR)
    with pytest.raises(ParameterError, match="finite"):
        synth.reverb(np.full((1, 10), np.nan, np.float32), SR)
    assert synth.ReverbOptions().to_dict()["room_size"] == 0.6
