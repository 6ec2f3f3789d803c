"""Invariants of the meter: streaming == whole, gains, layouts, bad input, K-weighting."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from _signals import noise, sine

from audiokit.errors import ParameterError
from audiokit.loudness import (
    LoudnessMeter,
    LoudnessReport,
    LoudnessWarning,
    channel_weights,
    kweighting_response_db,
    kweighting_sos,
    measure,
    measure_album,
    momentary,
    true_peak,
)
from audiokit.loudness.kweighting import MATCHED_BAND_FRACTION

#: BS.1770-5 Annex 1 Tables 1 and 2 (48 kHz)
TABLE_SHELF = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585]
TABLE_HIGHPASS = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]
#: issue 3: every rate matches the 48 kHz response within this (over 20 Hz .. 0.4 fs)
KWEIGHTING_MATCH_DB = 0.005


def program(sample_rate: int, duration_s: float, channels: int = 2, seed: int = 1) -> np.ndarray:
    """Noise with a slow level envelope (a few dB of dynamics), float32."""
    x = noise(sample_rate, duration_s=duration_s, channels=channels, amplitude=0.5, seed=seed)
    t = np.arange(x.shape[1]) / sample_rate
    return (x * (0.6 + 0.4 * np.sin(2 * np.pi * 0.37 * t))).astype(np.float32)


def test_kweighting_reproduces_the_48k_tables():
    sos = kweighting_sos(48000)
    np.testing.assert_allclose(sos[0], TABLE_SHELF, rtol=0, atol=5e-14)
    np.testing.assert_allclose(sos[1], TABLE_HIGHPASS, rtol=0, atol=5e-14)


@pytest.mark.parametrize("sample_rate", (8000, 11025, 22050, 44100, 96000, 192000))
def test_kweighting_matches_48k_response_at_every_rate(sample_rate):
    top = MATCHED_BAND_FRACTION * min(sample_rate, 48000)
    freqs = np.geomspace(20.0, top, 400)
    deviation = kweighting_response_db(freqs, sample_rate) - kweighting_response_db(freqs, 48000)
    assert np.abs(deviation).max() < KWEIGHTING_MATCH_DB


def test_kweighting_rejects_rates_below_8k():
    with pytest.raises(ParameterError, match="at least 8000"):
        kweighting_sos(4000)


@pytest.mark.parametrize("block_frames", (1, 7, 441, 1000, 65536, 10**6))
def test_streaming_equals_whole_for_any_block_size(block_frames):
    sample_rate = 11025 if block_frames < 100 else 44100
    duration_s = 3.345678 if block_frames < 100 else 7.345678
    x = program(sample_rate, duration_s)
    whole = measure(x, sample_rate)
    meter = LoudnessMeter(sample_rate, 2)
    for start in range(0, x.shape[1], block_frames):
        meter.process(x[:, start:start + block_frames])
    assert meter.report() == whole
    assert meter.flush() == whole
    np.testing.assert_array_equal(meter.momentary().lufs, momentary(x, sample_rate).lufs)


def test_live_values_follow_the_series():
    x = program(48000, 5.0)
    meter = LoudnessMeter(48000, 2)
    assert meter.momentary_lufs == -math.inf
    meter.process(x[:, : 4 * 48000])
    series = meter.momentary()
    assert meter.momentary_lufs == pytest.approx(series.lufs[-1], abs=1e-9)
    assert meter.short_term_lufs == pytest.approx(meter.short_term().lufs[-1], abs=1e-9)
    assert series.times_s[-1] == pytest.approx(4.0)


@pytest.mark.parametrize("gain_db", (-20.0, -3.0, 6.0))
def test_gain_in_is_gain_out(gain_db):
    x = program(48000, 10.0)
    base = measure(x, 48000)
    louder = measure(x * np.float32(10 ** (gain_db / 20)), 48000)
    assert louder.integrated_lufs - base.integrated_lufs == pytest.approx(gain_db, abs=1e-3)
    assert louder.true_peak_dbtp - base.true_peak_dbtp == pytest.approx(gain_db, abs=1e-3)
    assert louder.loudness_range_lu == pytest.approx(base.loudness_range_lu, abs=1e-3)


def test_multichannel_is_the_weighted_sum_of_channels():
    """Stereo energy = sum of the two mono energies (same gating blocks)."""
    x = program(48000, 10.0)
    a = measure(x[:1], 48000)
    b = measure(x[1:], 48000)
    both = measure(x, 48000)
    expected = 10 * np.log10(10 ** (a.momentary_max_lufs / 10) + 10 ** (b.momentary_max_lufs / 10))
    assert both.momentary_max_lufs == pytest.approx(expected, abs=0.05)
    assert both.true_peak_dbtp == max(a.true_peak_dbtp, b.true_peak_dbtp)


def test_channel_weights_from_layouts():
    np.testing.assert_array_equal(channel_weights(6, "5.1(side)"), [1, 1, 1, 0, 1.41, 1.41])
    np.testing.assert_array_equal(channel_weights(8, None), [1, 1, 1, 0, 1.41, 1.41, 1.41, 1.41])
    np.testing.assert_array_equal(channel_weights(3, ["FL", "FR", "LFE"]), [1, 1, 0])
    with pytest.raises(ParameterError, match="no default layout"):
        channel_weights(12)
    with pytest.raises(ParameterError, match="has 2 channels; the signal has 6"):
        channel_weights(6, "stereo")


def test_lfe_is_excluded():
    x = program(48000, 5.0, channels=6)
    silent_lfe = x.copy()
    silent_lfe[3] = 0
    assert measure(x, 48000).integrated_lufs == measure(silent_lfe, 48000).integrated_lufs


def test_silence_and_short_input_read_minus_inf_with_a_warning():
    with pytest.warns(LoudnessWarning, match="integrated_lufs"):
        report = measure(np.zeros((2, 48000), np.float32), 48000)
    assert all(value is None for value in report.to_dict().values())
    with pytest.warns(LoudnessWarning, match="integrated_lufs"):
        short = measure(sine(1000, 48000, duration_s=0.3, channels=2), 48000)
    assert short.integrated_lufs == -math.inf and short.momentary_max_lufs == -math.inf
    assert short.true_peak_dbtp > -7.0  # peaks are defined on any input
    with pytest.warns(LoudnessWarning):
        empty = measure(np.zeros((1, 0), np.float32), 48000)
    assert empty.true_peak_dbtp == -math.inf


def test_report_is_frozen_and_json_ready():
    report = measure(program(48000, 4.0), 48000)
    assert isinstance(report, LoudnessReport)
    with pytest.raises(AttributeError):
        report.integrated_lufs = 0.0
    assert list(report.to_dict()) == [
        "integrated_lufs", "loudness_range_lu", "true_peak_dbtp",
        "sample_peak_dbfs", "momentary_max_lufs", "short_term_max_lufs",
    ]


def test_integer_pcm_is_scaled():
    x = program(48000, 3.0)
    pcm = np.round(x * 32767).astype(np.int16)
    assert measure(pcm, 48000).integrated_lufs == pytest.approx(measure(x, 48000).integrated_lufs, abs=0.01)


def test_nan_is_rejected_naming_its_position():
    x = program(48000, 1.0)
    x[1, 1234] = np.nan
    with pytest.raises(ParameterError, match=r"samples\[1, 1234\] is nan"):
        measure(x, 48000)
    meter = LoudnessMeter(48000, 2)
    meter.process(x[:, :1000])
    with pytest.raises(ParameterError, match=r"block\[1, 234\] \(frame 1234 of the stream\)"):
        meter.process(x[:, 1000:2000])


def test_wrong_layout_is_rejected_with_the_style_message():
    with pytest.raises(ParameterError, match=r"expected \(channels, frames\).*from_interleaved"):
        measure(np.zeros((48000, 2), np.float32), 48000)
    with pytest.raises(ParameterError, match="made for 2"):
        LoudnessMeter(48000, 2).process(np.zeros((3, 10), np.float32))


def test_true_peak_oversampling_by_rate():
    """fs/4 tone sampled at 45 degrees: samples at -3 dB of the crest."""
    for rate in (44100, 96000, 192000):
        t = np.arange(rate) / rate
        x = np.sin(2 * np.pi * rate / 4 * t + np.pi / 4) * 0.5
        x[:100] *= np.linspace(0, 1, 100)
        measured = float(true_peak(x, rate)[0])
        if rate < 192000:
            assert -6.4 <= measured <= -5.8
        else:
            assert measured == pytest.approx(20 * np.log10(0.5 * np.sin(np.pi / 4)), abs=1e-4)


def test_album_gates_all_tracks_together():
    loud = program(48000, 10.0, seed=2)
    quiet = (program(48000, 10.0, seed=3) * np.float32(0.1)).astype(np.float32)
    album = measure_album([(loud, 48000), (quiet, 48000)])
    # Joint gating == gating the concatenation (blocks straddling the join aside).
    joined = measure(np.concatenate([loud, quiet], axis=1), 48000)
    assert album.integrated_lufs == pytest.approx(joined.integrated_lufs, abs=0.1)
    assert album.integrated_lufs != pytest.approx(album.tracks[0].integrated_lufs, abs=0.05)
    assert album.true_peak_dbtp == album.tracks[0].true_peak_dbtp
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = measure_album([(loud, 48000), (loud, 48000)])
    assert same.integrated_lufs == pytest.approx(album.tracks[0].integrated_lufs, abs=1e-9)
    with pytest.raises(ParameterError, match="tracks is empty"):
        measure_album([])
