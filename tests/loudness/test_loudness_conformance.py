"""EBU Tech 3341 / 3342 minimum requirements and the BS.1770 997 Hz case.

Signals are synthesized from the specifications' text: stereo 1 kHz sines at
the stated per-channel peak level (a stereo sine at X dBFS reads X LUFS),
concatenated as the tables say. Cases 7-8 (3341) and 5-6 (3342) are authentic
programme files and cannot be synthesized. Every case runs at 48 and 44.1 kHz.
"""

from __future__ import annotations

import numpy as np
import pytest

from audiokit.loudness import measure, momentary, short_term

# Short true-peak signals have no 3 s window: their LRA reads -inf by design.
pytestmark = pytest.mark.filterwarnings("ignore::audiokit.loudness.LoudnessWarning")

RATES = (48000, 44100)
#: Tech 3341 §2.9 Table 1: loudness tolerance
TOL_LU = 0.1
#: Tech 3341 Table 1 cases 15-23: true-peak tolerance +0.2 / -0.4 dB
TP_UP_DB, TP_DOWN_DB = 0.2, 0.4
#: Tech 3342 §4 Table 1: loudness-range tolerance
TOL_LRA_LU = 1.0


def tone(level_dbfs: float, duration_s: float, sample_rate: int, frequency_hz: float = 1000.0) -> np.ndarray:
    """Mono sine with peak ``level_dbfs``, phase continuous from t = 0."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    return 10.0 ** (level_dbfs / 20.0) * np.sin(2 * np.pi * frequency_hz * t)


def silence(duration_s: float, sample_rate: int) -> np.ndarray:
    return np.zeros(round(duration_s * sample_rate))


def stereo(*parts: np.ndarray) -> np.ndarray:
    mono = np.concatenate(parts)
    return np.stack([mono, mono]).astype(np.float32)


def steps(segments, sample_rate: int) -> np.ndarray:
    return stereo(*(tone(level, duration, sample_rate) for level, duration in segments))


# Tech 3341 Table 1 cases 1-5: ((level dBFS, duration s), ...), expected I
INTEGRATED_CASES = [
    pytest.param(((-23.0, 20.0),), -23.0, id="3341-1"),
    pytest.param(((-33.0, 20.0),), -33.0, id="3341-2"),
    pytest.param(((-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)), -23.0, id="3341-3"),
    pytest.param(((-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)), -23.0, id="3341-4"),
    pytest.param(((-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)), -23.0, id="3341-5"),
]


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("segments, expected", INTEGRATED_CASES)
def test_tech3341_integrated(segments, expected, sample_rate):
    report = measure(steps(segments, sample_rate), sample_rate)
    assert report.integrated_lufs == pytest.approx(expected, abs=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case1_momentary_short_term(sample_rate):
    report = measure(steps(((-23.0, 20.0),), sample_rate), sample_rate)
    assert report.momentary_max_lufs == pytest.approx(-23.0, abs=TOL_LU)
    assert report.short_term_max_lufs == pytest.approx(-23.0, abs=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case6_five_channels(sample_rate):
    """Case 6: 5.0 (L, R, C, Ls, Rs) at -28, -28, -24, -30, -30 dBFS: I = -23.0."""
    levels = (-28.0, -28.0, -24.0, -30.0, -30.0)
    samples = np.stack([tone(level, 20.0, sample_rate) for level in levels]).astype(np.float32)
    assert measure(samples, sample_rate).integrated_lufs == pytest.approx(-23.0, abs=TOL_LU)
    named = measure(samples, sample_rate, channel_layout=["FL", "FR", "FC", "SL", "SR"])
    assert named.integrated_lufs == pytest.approx(-23.0, abs=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case9_short_term_constant(sample_rate):
    """Case 9: 5 x (1.34 s at -20, 1.66 s at -30): S = -23.0 after 3 s."""
    cycle = [tone(-20.0, 1.34, sample_rate), tone(-30.0, 1.66, sample_rate)]
    series = short_term(stereo(*(cycle * 5)), sample_rate)
    assert series.lufs.size > 1000
    np.testing.assert_allclose(series.lufs, -23.0, atol=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case10_max_short_term(sample_rate):
    """Case 10: 3 s bursts at -23 after silences of i * 0.15 s: Max S = -23.0 each."""
    for i in range(0, 20, 3):
        samples = stereo(silence(i * 0.15 + 0.0037, sample_rate), tone(-23.0, 3.0, sample_rate), silence(1.0, sample_rate))
        assert measure(samples, sample_rate).short_term_max_lufs == pytest.approx(-23.0, abs=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case11_successive_max_short_term(sample_rate):
    """Case 11: 20 bursts of 3 s at -38 ... -19 dBFS: each Max S within 0.1."""
    parts, ends = [], []
    for i in range(20):
        parts += [silence(i * 0.15, sample_rate), tone(-38.0 + i, 3.0, sample_rate), silence(3.0 - i * 0.15, sample_rate)]
        ends.append(6.0 * (i + 1))
    series = short_term(stereo(*parts), sample_rate)
    start = 0.0
    for i, end in enumerate(ends):
        segment = series.lufs[(series.times_s > start) & (series.times_s <= end)]
        assert segment.max() == pytest.approx(-38.0 + i, abs=TOL_LU)
        start = end


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case12_momentary_constant(sample_rate):
    """Case 12: 25 x (0.18 s at -20, 0.22 s at -30): M = -23.0 after 1 s."""
    cycle = [tone(-20.0, 0.18, sample_rate), tone(-30.0, 0.22, sample_rate)]
    series = momentary(stereo(*(cycle * 25)), sample_rate)
    settled = series.lufs[series.times_s >= 1.0]
    assert settled.size > 800
    np.testing.assert_allclose(settled, -23.0, atol=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case13_max_momentary(sample_rate):
    """Case 13: 0.4 s bursts at -23 after i * 20 ms (plus an off-grid 3.7 ms): Max M = -23.0."""
    for i in range(0, 20, 3):
        samples = stereo(silence(i * 0.02 + 0.0037, sample_rate), tone(-23.0, 0.4, sample_rate), silence(1.0, sample_rate))
        assert measure(samples, sample_rate).momentary_max_lufs == pytest.approx(-23.0, abs=TOL_LU)


@pytest.mark.parametrize("sample_rate", RATES)
def test_tech3341_case14_successive_max_momentary(sample_rate):
    """Case 14: 20 bursts of 0.4 s at -38 ... -19 dBFS: each Max M within 0.1."""
    parts, ends = [], []
    for i in range(20):
        parts += [silence(i * 0.02, sample_rate), tone(-38.0 + i, 0.4, sample_rate), silence(0.4 - i * 0.02, sample_rate)]
        ends.append(0.8 * (i + 1))
    series = momentary(stereo(*parts), sample_rate)
    start = 0.0
    for i, end in enumerate(ends):
        segment = series.lufs[(series.times_s > start) & (series.times_s <= end + 1e-9)]
        assert segment.max() == pytest.approx(-38.0 + i, abs=TOL_LU)
        start = end


def tapered(x: np.ndarray, sample_rate: int, fade_s: float = 0.01) -> np.ndarray:
    n = round(fade_s * sample_rate)
    ramp = np.linspace(0.0, 1.0, n)
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


# Tech 3341 Table 1 cases 15-19: (frequency / fs, amplitude, phase deg, expected dBTP)
TRUE_PEAK_TONES = [
    pytest.param(1 / 4, 0.5, 0.0, -6.0, id="3341-15"),
    pytest.param(1 / 4, 0.5, 45.0, -6.0, id="3341-16"),
    pytest.param(1 / 6, 0.5, 60.0, -6.0, id="3341-17"),
    pytest.param(1 / 8, 0.5, 67.5, -6.0, id="3341-18"),
    pytest.param(1 / 4, 1.41, 45.0, 3.0, id="3341-19"),
]


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("ratio, amplitude, phase_deg, expected", TRUE_PEAK_TONES)
def test_tech3341_true_peak_tones(ratio, amplitude, phase_deg, expected, sample_rate):
    t = np.arange(sample_rate) / sample_rate
    x = amplitude * np.sin(2 * np.pi * ratio * sample_rate * t + np.deg2rad(phase_deg))
    report = measure(stereo(tapered(x, sample_rate)), sample_rate)
    assert expected - TP_DOWN_DB <= report.true_peak_dbtp <= expected + TP_UP_DB


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("offset", range(4), ids=[f"3341-{20 + o}" for o in range(4)])
def test_tech3341_true_peak_intersample(offset, sample_rate):
    """Cases 20-23: a 0 dBTP fs/4 cycle inside a half-scale fs/6 tone, made at 4 fs
    and decimated at each of the four phases, so the peak lies between samples."""
    from scipy import signal

    rate4 = 4 * sample_rate
    frequency = np.full(rate4, sample_rate / 6.0)
    amplitude = np.full(rate4, 0.5)
    middle, period = rate4 // 2, 16  # one fs/4 cycle at 4 fs
    frequency[middle:middle + period] = sample_rate / 4.0
    amplitude[middle:middle + period] = 1.0
    fine = tapered(amplitude * np.sin(2 * np.pi * np.cumsum(frequency) / rate4), rate4)
    taps = signal.firwin(1023, 0.9 / 4.0)
    coarse = signal.lfilter(taps, 1.0, fine)[511 + offset:: 4]
    report = measure(stereo(coarse), sample_rate)
    assert -TP_DOWN_DB <= report.true_peak_dbtp <= TP_UP_DB
    assert report.sample_peak_dbfs <= report.true_peak_dbtp


# Tech 3342 Table 1 cases 1-4: levels of consecutive 20 s tones, expected LRA
LRA_CASES = [
    pytest.param((-20.0, -30.0), 10.0, id="3342-1"),
    pytest.param((-20.0, -15.0), 5.0, id="3342-2"),
    pytest.param((-40.0, -20.0), 20.0, id="3342-3"),
    pytest.param((-50.0, -35.0, -20.0, -35.0, -50.0), 15.0, id="3342-4"),
]


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("levels, expected", LRA_CASES)
def test_tech3342_loudness_range(levels, expected, sample_rate):
    report = measure(steps([(level, 20.0) for level in levels], sample_rate), sample_rate)
    assert report.loudness_range_lu == pytest.approx(expected, abs=TOL_LRA_LU)


@pytest.mark.parametrize("sample_rate", (48000, 44100, 96000, 8000))
@pytest.mark.parametrize("channel", range(3))
def test_bs1770_997hz_reads_minus_3_01(channel, sample_rate):
    """BS.1770-5 Annex 1: a 0 dBFS 997 Hz sine in one front channel reads -3.01 LKFS."""
    samples = np.zeros((5, 5 * sample_rate), np.float32)
    samples[channel] = tone(0.0, 5.0, sample_rate, 997.0)
    assert measure(samples, sample_rate).integrated_lufs == pytest.approx(-3.01, abs=0.01)
