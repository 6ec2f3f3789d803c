"""A meter's report scans its energies in chunks: the same values, temporaries that do not grow with the programme."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from audiokit.loudness import LoudnessMeter
from audiokit.loudness import meter as meter_module


def _programme(sample_rate: int, seconds: float, seed: int) -> np.ndarray:
    """Noise whose level jumps every 0.3 s over 50 dB, with a silent stretch: gates, LRA and maxima all work."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    step = int(0.3 * sample_rate)
    levels = np.repeat(10 ** (-2.5 * rng.random(frames // step + 1)), step)[:frames]
    levels[frames // 3: frames // 3 + 5 * sample_rate] = 0.0
    return (0.3 * levels * rng.standard_normal((2, frames))).astype(np.float32)


def _metered(samples: np.ndarray, sample_rate: int, *, series: bool) -> LoudnessMeter:
    meter = LoudnessMeter(sample_rate, samples.shape[0], series=series)
    for start in range(0, samples.shape[1], 4096):
        meter.process(samples[:, start:start + 4096])
    return meter


@pytest.mark.parametrize("series", [True, False])
@pytest.mark.parametrize("chunk", [1, 7, 300, 1000])
def test_reports_and_series_do_not_depend_on_the_chunk_size(monkeypatch, series, chunk):
    sample_rate = 22050
    measured = _metered(_programme(sample_rate, 73.1, seed=chunk), sample_rate, series=series)
    whole = measured.report(warn=False)
    series_hop = 10 if series else 100
    momentary, short_term = measured.momentary(hop_ms=series_hop), measured.short_term(hop_ms=series_hop)
    live = (measured.momentary_lufs, measured.short_term_lufs)
    monkeypatch.setattr(meter_module, "_WINDOWS_PER_CHUNK", chunk)
    assert measured.report(warn=False) == whole  # exactly: every value, to the last bit
    for before, after in ((momentary, measured.momentary(hop_ms=series_hop)),
                          (short_term, measured.short_term(hop_ms=series_hop))):
        np.testing.assert_array_equal(after.times_s, before.times_s)
        np.testing.assert_array_equal(after.lufs, before.lufs)
    assert (measured.momentary_lufs, measured.short_term_lufs) == live


def test_a_report_on_two_hours_allocates_no_array_as_long_as_its_energies():
    """Two hours at 10 ms are 720,000 kept energies (5.8 MB); a report's temporaries stay well under that
    (what remains is its 100 ms gating blocks and loudness-range windows, a tenth of it each)."""
    sample_rate = 8000
    measured = LoudnessMeter(sample_rate, 1)
    minute = np.arange(60 * sample_rate) / sample_rate  # a whole number of 1 kHz cycles: repeats seamlessly
    block = (0.1 * np.sin(2 * np.pi * 1000 * minute)).astype(np.float32)[np.newaxis]
    for _ in range(120):
        measured.process(block)
    measured.report(warn=False)  # the first call loads the Numba kernels, which allocates
    tracemalloc.start()
    try:
        report = measured.report(warn=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.integrated_lufs == pytest.approx(-23.0, abs=0.05)  # a 1 kHz sine peaking at -20 dBFS
    energies_bytes = 120 * 60 * 100 * 8
    assert peak < 0.6 * energies_bytes, f"report() allocated {peak / 1e6:.1f} MB at its peak"
