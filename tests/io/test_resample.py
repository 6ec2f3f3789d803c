"""audiokit.io.resample: quality, time alignment, streaming invariants, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal
from _signals import SAMPLE_RATES, noise, sine, sweep
from hypothesis import given, settings
from hypothesis import strategies as st

from audiokit.errors import ParameterError
from audiokit.io.resample import Resampler, _design_filter, output_length, resample

# Rates audiokit meets in practice beyond the shared grid.
EXTRA_RATES = (16000, 32000, 88200)
ALL_RATES = tuple(sorted(SAMPLE_RATES + EXTRA_RATES))
ALL_PAIRS = list(itertools.permutations(ALL_RATES, 2))
GRID_PAIRS = list(itertools.permutations(SAMPLE_RATES, 2))
# Reduced up/down too large for an exact phase table: interpolated phases.
ODD_PAIRS = [(44100, 7999), (7999, 44100), (44100, 44101)]

LEVEL_TOLERANCE_DB = 0.01  # task spec: a -6 dBFS tone keeps its level
SPURIOUS_LIMIT_DB = -90.0  # task spec: aliasing and images below -90 dB
PASSBAND_RIPPLE_DB = 0.01  # soxr "HQ" class, up to 0.90 of the lower Nyquist
STOPBAND_LIMIT_DB = -100.0  # soxr "HQ" class, from the lower Nyquist up
ANALYSIS_WINDOW_BETA = 20.0  # Kaiser window with sidelobes far below -120 dB


def _spectrum_db(signal: np.ndarray) -> np.ndarray:
    """Amplitude spectrum in dB re full-scale sine, Kaiser-windowed."""
    window = scipy.signal.windows.kaiser(signal.size, ANALYSIS_WINDOW_BETA)
    amplitude = 2.0 * np.abs(np.fft.rfft(signal * window)) / window.sum()
    return 20.0 * np.log10(amplitude + 1e-20)


def _steady(signal: np.ndarray, rate: int) -> np.ndarray:
    """The middle of a 1 s signal, away from its fades."""
    return signal[rate // 4 : 3 * rate // 4]


@pytest.mark.parametrize(
    ("num_frames", "in_rate", "out_rate", "expected"),
    [
        (0, 44100, 48000, 0),
        (1, 44100, 48000, 2),  # instants 0 and 0.92 input frames
        (1, 48000, 44100, 1),
        (44100, 44100, 48000, 48000),
        (147, 48000, 44100, 136),  # 147 * 147 / 160 = 135.06 -> 136
        (1000, 8000, 192000, 24000),
        (1001, 192000, 8000, 42),  # 41.7 -> 42
        (12345, 44100, 44100, 12345),
    ],
)
def test_output_length(num_frames, in_rate, out_rate, expected):
    assert output_length(num_frames, in_rate, out_rate) == expected


@pytest.mark.parametrize(("in_rate", "out_rate"), ALL_PAIRS[::3] + ODD_PAIRS)
@pytest.mark.parametrize("num_frames", [0, 1, 5, 4567])
def test_resample_returns_output_length_frames(in_rate, out_rate, num_frames):
    out = resample(noise(in_rate, duration_s=num_frames / in_rate, channels=2), in_rate, out_rate)
    assert out.shape == (2, output_length(num_frames, in_rate, out_rate))
    assert out.dtype == np.float32


@pytest.mark.parametrize(("in_rate", "out_rate"), ALL_PAIRS + ODD_PAIRS)
def test_sine_keeps_level_and_frequency(in_rate, out_rate):
    amplitude = 10.0 ** (-6.0 / 20.0)
    out = resample(sine(1000.0, in_rate, amplitude=amplitude), in_rate, out_rate)[0]
    steady = _steady(out, out_rate).astype(np.float64)
    t = (np.arange(steady.size) + out_rate // 4) / out_rate
    basis = np.stack([np.sin(2 * np.pi * 1000.0 * t), np.cos(2 * np.pi * 1000.0 * t)], axis=1)
    fitted = np.hypot(*np.linalg.lstsq(basis, steady, rcond=None)[0])
    assert abs(20 * np.log10(fitted / amplitude)) < LEVEL_TOLERANCE_DB
    peak_hz = np.argmax(_spectrum_db(out)) * out_rate / out.size
    assert abs(peak_hz - 1000.0) <= out_rate / out.size


def _tone_frequency(in_rate: int, out_rate: int) -> float:
    """A tone that must alias (downsampling) or image (upsampling) if unfiltered."""
    if out_rate < in_rate:
        return 0.5 * (out_rate + in_rate) / 2  # between the two Nyquists
    return 0.9 * in_rate / 2  # in the passband: its images lie above in_rate / 2


@pytest.mark.parametrize(("in_rate", "out_rate"), GRID_PAIRS + ODD_PAIRS)
def test_no_aliasing_or_imaging_of_full_scale_tone(in_rate, out_rate):
    tone_hz = _tone_frequency(in_rate, out_rate)
    out = resample(sine(tone_hz, in_rate, amplitude=1.0), in_rate, out_rate)[0]
    spectrum = _spectrum_db(_steady(out, out_rate))
    if tone_hz < out_rate / 2:  # the tone itself stays: mask its main lobe (+-6.4 bins)
        peak = round(tone_hz * (spectrum.size - 1) * 2 / out_rate)
        spectrum[peak - 12 : peak + 13] = -np.inf
    assert spectrum.max() < SPURIOUS_LIMIT_DB


def test_sweep_above_target_nyquist_is_removed():
    in_rate, out_rate = 48000, 44100
    chirp = sweep(in_rate, duration_s=1.0, f0_hz=22100.0, f1_hz=23900.0, amplitude=1.0)[0]
    chirp = (chirp * scipy.signal.windows.tukey(chirp.size, 0.2)).astype(np.float32)
    out = resample(chirp, in_rate, out_rate)
    assert 20 * np.log10(np.abs(out).max()) < SPURIOUS_LIMIT_DB


@pytest.mark.parametrize(
    ("in_rate", "out_rate"), [(44100, 48000), (48000, 44100), (8000, 192000), (192000, 8000)] + ODD_PAIRS
)
def test_filter_response_meets_hq_class(in_rate, out_rate):
    """Passband ripple and stopband of the tabulated kernel as the kernel uses it."""
    spec = _design_filter(in_rate, out_rate)
    num_phases = spec.num_phases
    # The kernel h(m / P - K) interleaved back from its float32 phase rows.
    taps = spec.phases[:-1, ::-1].T.ravel().astype(np.float64) / num_phases
    size = 1 << 20
    response = np.abs(np.fft.fft(taps, size))  # one period: num_phases cycles/input frame
    freqs = np.fft.fftfreq(size, 1.0 / num_phases)
    nyquist = 0.5 * min(in_rate, out_rate) / in_rate  # cycles per input frame
    passband = response[np.abs(freqs) <= 0.90 * nyquist]
    assert 20 * np.log10(passband.max() / passband.min()) < PASSBAND_RIPPLE_DB
    # Interpolated phases: the table is linearly interpolated, which weights
    # every period of the sampled response by sinc^2 (images near k * P).
    periods = 1 if spec.exact else 4
    for period in range(periods):
        absolute = np.abs(freqs) + period * num_phases
        weight = 1.0 if spec.exact else np.sinc(absolute / num_phases) ** 2
        stopband = (response * weight)[absolute >= nyquist]
        assert 20 * np.log10(stopband.max()) < STOPBAND_LIMIT_DB


@pytest.mark.parametrize(("in_rate", "out_rate"), [(44100, 48000), (48000, 22050), (8000, 44100)] + ODD_PAIRS)
def test_band_limited_click_lands_on_time(in_rate, out_rate):
    """A Gaussian click at a fractional input time keeps its shape and time."""
    low_rate = min(in_rate, out_rate)
    width_s = 4.0 / low_rate  # spectrum < -120 dB above 0.45 of the lower rate
    centres_s = np.array([0.01, 0.0237913, 0.05]) + 0.3 / in_rate

    def clicks_at(t):
        return np.exp(-0.5 * ((t[:, None] - centres_s) / width_s) ** 2).sum(axis=1)

    clicks = clicks_at(np.arange(round(0.06 * in_rate)) / in_rate).astype(np.float32)
    out = resample(clicks, in_rate, out_rate)[0]
    t = np.arange(out.size) / out_rate
    np.testing.assert_allclose(out, clicks_at(t), atol=1e-5)
    for centre in centres_s:
        near = np.abs(t - centre) < 8 * width_s
        centroid = (t[near] * out[near]).sum() / out[near].sum()
        assert abs(centroid - centre) * out_rate < 0.01


def _stream(samples, in_rate, out_rate, block_sizes):
    """Feed ``samples`` through one Resampler in blocks cycling over ``block_sizes``."""
    resampler = Resampler(in_rate, out_rate, num_channels=samples.shape[0])
    pieces, position = [], 0
    for size in itertools.cycle(block_sizes):
        if position >= samples.shape[1]:
            break
        pieces.append(resampler.process(samples[:, position : position + size]))
        position += size
    pieces.append(resampler.flush())
    return np.concatenate(pieces, axis=1)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(44100, 48000), (48000, 44100), (96000, 8000)] + ODD_PAIRS)
@pytest.mark.parametrize("block_size", [1, 7, 1000, None])
def test_chunked_equals_whole(in_rate, out_rate, block_size):
    duration_s = 0.02 if block_size == 1 else 0.345678
    samples = noise(in_rate, duration_s=duration_s, channels=2)
    whole = resample(samples, in_rate, out_rate)
    chunked = _stream(samples, in_rate, out_rate, [block_size or samples.shape[1]])
    np.testing.assert_array_equal(chunked, whole)


@settings(max_examples=25, deadline=None)
@given(
    pair=st.sampled_from([(44100, 48000), (48000, 44100), (22050, 8000)] + ODD_PAIRS),
    num_frames=st.integers(0, 3000),
    block_sizes=st.lists(st.integers(0, 1500), min_size=1, max_size=6).filter(any),
)
def test_chunked_equals_whole_for_any_blocks(pair, num_frames, block_sizes):
    in_rate, out_rate = pair
    samples = noise(in_rate, duration_s=num_frames / in_rate, channels=1, seed=num_frames)
    np.testing.assert_array_equal(
        _stream(samples, in_rate, out_rate, block_sizes), resample(samples, in_rate, out_rate)
    )


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_multichannel_equals_per_channel(channels):
    samples = noise(44100, duration_s=0.1, channels=channels)
    together = resample(samples, 44100, 48000)
    for channel in range(channels):
        np.testing.assert_array_equal(together[channel], resample(samples[channel], 44100, 48000)[0])


def test_same_rate_is_an_identity_copy():
    samples = noise(48000, duration_s=0.01, channels=2)
    out = resample(samples, 48000, 48000)
    np.testing.assert_array_equal(out, samples)
    assert not np.shares_memory(out, samples)


def test_accepts_mono_1d_and_integer_pcm():
    pcm = (sine(440.0, 8000)[0] * 32767).astype(np.int16)
    out = resample(pcm, 8000, 16000)
    assert out.shape == (1, 16000)
    assert out.dtype == np.float32


def test_properties():
    resampler = Resampler(44100, 48000, num_channels=2)
    assert (resampler.in_rate, resampler.out_rate, resampler.num_channels) == (44100, 48000, 2)


@pytest.mark.parametrize(
    ("in_rate", "out_rate", "match"),
    [
        (0, 48000, "in_rate is 0"),
        (44100, -1, "out_rate is -1"),
        (44100.5, 48000, "in_rate is 44100.5"),
        ("44100", 48000, "positive integer"),
    ],
)
def test_bad_rates_raise(in_rate, out_rate, match):
    with pytest.raises(ParameterError, match=match):
        Resampler(in_rate, out_rate, num_channels=1)
    with pytest.raises(ParameterError, match=match):
        resample(np.zeros(10, np.float32), in_rate, out_rate)


def test_bad_num_channels_raises():
    with pytest.raises(ParameterError, match="num_channels is 0"):
        Resampler(44100, 48000, num_channels=0)


def test_wrong_channel_count_in_process_raises():
    resampler = Resampler(44100, 48000, num_channels=2)
    with pytest.raises(ParameterError, match="block has 6 channels.*num_channels=2"):
        resampler.process(np.zeros((6, 100), np.float32))


def test_process_after_flush_raises():
    resampler = Resampler(44100, 48000, num_channels=1)
    resampler.flush()
    with pytest.raises(ParameterError, match="after flush.*new Resampler"):
        resampler.process(np.zeros((1, 100), np.float32))
    with pytest.raises(ParameterError, match="flush\\(\\) called twice"):
        resampler.flush()


def test_frames_channels_layout_is_rejected():
    with pytest.raises(ParameterError, match="from_interleaved"):
        resample(np.zeros((4410, 2), np.float32), 44100, 48000)
