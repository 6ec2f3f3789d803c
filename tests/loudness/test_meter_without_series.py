"""A meter made with ``series=False`` keeps one energy per 100 ms and measures what the full meter measures."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from audiokit.errors import ParameterError
from audiokit.loudness import LoudnessMeter, LoudnessWarning


def _programme(sample_rate: int, seconds: float, seed: int) -> np.ndarray:
    """Noise whose level jumps every half second over 40 dB: gating and LRA have work to do."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    levels = np.repeat(10 ** (-2 * rng.random(int(seconds * 2) + 1)), sample_rate // 2 + 1)[:frames]
    return (0.3 * levels * rng.standard_normal((2, frames))).astype(np.float32)


def _metered(samples: np.ndarray, sample_rate: int, block: int, *, series: bool) -> LoudnessMeter:
    meter = LoudnessMeter(sample_rate, samples.shape[0], series=series)
    for start in range(0, samples.shape[1], block):
        meter.process(samples[:, start:start + block])
    return meter


@pytest.mark.parametrize(("sample_rate", "block"), [(8000, 333), (22050, 4097), (44100, 1024), (48000, 65536),
                                                    (96000, 10000)])
def test_integrated_loudness_range_and_peaks_equal_the_full_meter(sample_rate, block):
    samples = _programme(sample_rate, 41.3, seed=sample_rate)
    full = _metered(samples, sample_rate, block, series=True).report()
    coarse = _metered(samples, sample_rate, block, series=False).report()
    assert coarse.integrated_lufs == pytest.approx(full.integrated_lufs, abs=1e-9)
    assert coarse.loudness_range_lu == pytest.approx(full.loudness_range_lu, abs=1e-9)
    assert (coarse.true_peak_dbtp, coarse.sample_peak_dbfs) == (full.true_peak_dbtp, full.sample_peak_dbfs)
    # maxima at 100 ms steps: never above the 10 ms ones, and the 10 ms series' values at those steps
    full_meter = _metered(samples, sample_rate, block, series=True)
    assert coarse.momentary_max_lufs <= full.momentary_max_lufs + 1e-9
    assert coarse.momentary_max_lufs == pytest.approx(float(np.max(full_meter.momentary(hop_ms=100).lufs)), abs=1e-9)
    assert coarse.short_term_max_lufs == pytest.approx(float(np.max(full_meter.short_term(hop_ms=100).lufs)),
                                                       abs=1e-9)


def test_series_at_100_ms_steps_equal_the_full_meter_and_finer_steps_are_refused():
    samples = _programme(48000, 12.0, seed=3)
    full = _metered(samples, 48000, 4800, series=True)
    coarse = _metered(samples, 48000, 4800, series=False)
    for name in ("momentary", "short_term"):
        wanted, got = getattr(full, name)(hop_ms=200), getattr(coarse, name)(hop_ms=200)
        np.testing.assert_array_equal(got.times_s, wanted.times_s)
        np.testing.assert_allclose(got.lufs, wanted.lufs, atol=1e-9)
    with pytest.raises(ParameterError, match="multiple of 100 ms"):
        coarse.momentary(hop_ms=50)


def test_it_keeps_a_tenth_of_the_energies():
    samples = _programme(48000, 60.0, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoudnessWarning)
        full = _metered(samples, 48000, 48000, series=True)
        coarse = _metered(samples, 48000, 48000, series=False)
    assert full._num_hops == 6000 and coarse._num_hops == 600
