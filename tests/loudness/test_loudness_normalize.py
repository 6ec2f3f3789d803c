"""Normalization (headroom and limit modes, album gain, presets) and the true-peak limiter."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from _signals import noise, sine
from test_loudness_crosscheck import music_like

from audiokit.errors import ParameterError
from audiokit.loudness import (
    PRESETS,
    LoudnessReport,
    LoudnessWarning,
    NormalizationWarning,
    limit_true_peak,
    measure,
    normalize,
    normalize_album,
    preset_gains,
    true_peak,
)
from audiokit.loudness.limiter import HOLD_MS, LOOKAHEAD_MS, RELEASE_MS, _gain_envelope, _settings

#: issue 3: limit mode meets the target within this
TARGET_TOL_LU = 0.1
#: a pure gain moves the integrated loudness by the gain (float32 rounding only)
GAIN_TOL_LU = 1e-3
#: a steady tone over the threshold gets a steady gain: no pumping
STEADY_RIPPLE_DB = 0.01


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return music_like(44100, 10.0, seed=7)


def test_headroom_is_a_pure_gain_to_the_target(music):
    quiet = (music * np.float32(0.25)).astype(np.float32)  # plenty of headroom
    out, report = normalize(quiet, 44100, target_lufs=-16.0, true_peak_dbtp=-1.0)
    assert report.mode == "headroom" and report.preset is None
    assert report.gain_db == pytest.approx(-16.0 - report.input.integrated_lufs, abs=1e-12)
    np.testing.assert_array_equal(out, quiet * np.float32(10 ** (report.gain_db / 20)))
    assert report.output.integrated_lufs == pytest.approx(-16.0, abs=GAIN_TOL_LU)
    assert report.limiter_max_reduction_db == 0.0 and report.limited_fraction == 0.0


def test_normalize_is_idempotent(music):
    once, first = normalize(music, 44100, preset="apple-music")
    twice, second = normalize(once, 44100, preset="apple-music")
    assert abs(second.gain_db) < GAIN_TOL_LU
    assert second.output.integrated_lufs == pytest.approx(first.output.integrated_lufs, abs=GAIN_TOL_LU)


def test_headroom_reduces_a_raise_to_keep_the_ceiling(music):
    # 6 dB down: raising it 6 dB would put the peaks far over -1 dBTP; only the room up to -1 dBTP is used
    quiet = (music * np.float32(10 ** (-6 / 20))).astype(np.float32)
    level = measure(quiet, 44100)
    out, report = normalize(quiet, 44100, target_lufs=level.integrated_lufs + 6.0, true_peak_dbtp=-1.0)
    assert report.gain_db == pytest.approx(-1.0 - level.true_peak_dbtp, abs=1e-12)
    assert report.output.true_peak_dbtp == pytest.approx(-1.0, abs=GAIN_TOL_LU)
    assert report.output.integrated_lufs < level.integrated_lufs + 6.0 - 0.5


def test_headroom_applies_cuts_in_full(music):
    level = measure(music, 44100)  # peaks near 0 dBTP, over the -1 ceiling
    _, report = normalize(music, 44100, target_lufs=level.integrated_lufs - 0.5, true_peak_dbtp=-1.0)
    assert report.gain_db == pytest.approx(-0.5, abs=1e-12)


def test_attenuate_only_preset_never_raises(music):
    quiet = (music * np.float32(0.05)).astype(np.float32)
    out, report = normalize(quiet, 44100, preset="youtube")
    assert report.gain_db == 0.0
    np.testing.assert_array_equal(out, quiet)
    _, loud = normalize(music, 44100, preset="youtube")
    assert loud.gain_db == pytest.approx(-14.0 - loud.input.integrated_lufs, abs=1e-12)


@pytest.mark.parametrize("sample_rate", (44100, 48000))
@pytest.mark.parametrize("target_lufs", (-11.0, -8.0))
def test_limit_meets_target_and_ceiling(sample_rate, target_lufs):
    x = music_like(sample_rate, 10.0, seed=3)
    out, report = normalize(x, sample_rate, target_lufs=target_lufs, true_peak_dbtp=-1.0, mode="limit")
    assert report.output.integrated_lufs == pytest.approx(target_lufs, abs=TARGET_TOL_LU)
    assert float(np.max(true_peak(out, sample_rate))) <= -1.0
    assert report.output.true_peak_dbtp <= -1.0
    assert np.abs(out).max() <= 10 ** (-1.0 / 20)  # no clipping, not even of samples
    assert report.limiter_max_reduction_db > 0.5 and 0.0 < report.limited_fraction <= 1.0


def test_limit_without_peaks_over_the_ceiling_is_the_headroom_result(music):
    quiet = (music * np.float32(0.1)).astype(np.float32)
    limited, by_limit = normalize(quiet, 44100, preset="ebu-r128")
    plain, by_gain = normalize(quiet, 44100, preset="ebu-r128", mode="headroom")
    assert by_limit.mode == "limit" and by_limit.limiter_max_reduction_db == 0.0
    np.testing.assert_array_equal(limited, plain)


def test_unreachable_target_warns_and_still_holds_the_ceiling(music):
    with pytest.warns(NormalizationWarning, match="cannot be made that loud"):
        out, report = normalize(music, 44100, target_lufs=-3.0, mode="limit")
    assert report.output.true_peak_dbtp <= -1.0
    assert report.gain_db <= -3.0 - report.input.integrated_lufs + 12.0 + 1e-9


def test_silence_is_returned_unchanged_with_a_warning():
    silence = np.zeros((2, 48000), np.float32)
    with pytest.warns(LoudnessWarning, match="no gain applied"):
        out, report = normalize(silence, 48000, preset="podcast")
    np.testing.assert_array_equal(out, silence)
    assert report.gain_db == 0.0
    json.dumps(report.to_dict())  # -inf fields are null


def test_report_is_frozen_and_json_ready(music):
    _, report = normalize(music, 44100, preset="spotify-loud")
    document = json.loads(json.dumps(report.to_dict()))
    assert document["preset"] == "spotify-loud" and document["mode"] == "limit"
    assert set(document["output"]) == set(LoudnessReport.__dataclass_fields__)
    with pytest.raises(AttributeError):
        report.gain_db = 0.0


def test_explicit_values_override_the_preset(music):
    _, report = normalize(music, 44100, preset="podcast", mode="headroom", true_peak_dbtp=-2.0)
    assert (report.target_lufs, report.true_peak_dbtp, report.mode) == (-16.0, -2.0, "headroom")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "clip"}, "expected one of headroom, limit"),
        ({"true_peak_dbtp": 1.0}, r"ceiling in \[-60, 0\] dBTP"),
        ({"target_lufs": -80.0}, r"\(-70, 0\] LUFS"),
        ({"preset": "tidal"}, "expected one of spotify"),
    ],
)
def test_bad_options_are_rejected(options, message):
    with pytest.raises(ParameterError, match=message):
        normalize(np.zeros((1, 4800), np.float32), 48000, **options)


def test_album_gain_is_one_gain_for_all_tracks():
    loud = music_like(48000, 6.0, seed=1)
    quiet = (music_like(48000, 6.0, seed=2) * np.float32(0.2)).astype(np.float32)
    outputs, report = normalize_album([(loud, 48000), (quiet, 48000)], target_lufs=-20.0)
    assert report.input.integrated_lufs + report.gain_db == pytest.approx(-20.0, abs=1e-9)
    assert report.output.integrated_lufs == pytest.approx(-20.0, abs=GAIN_TOL_LU)
    factor = np.float32(10 ** (report.gain_db / 20))
    np.testing.assert_array_equal(outputs[0], loud * factor)
    np.testing.assert_array_equal(outputs[1], quiet * factor)
    assert len(report.output.tracks) == 2


def test_album_limit_mode_meets_the_album_target():
    tracks = [(music_like(44100, 6.0, seed=seed), 44100) for seed in (4, 5)]
    outputs, report = normalize_album(tracks, target_lufs=-9.0, mode="limit")
    assert report.output.integrated_lufs == pytest.approx(-9.0, abs=TARGET_TOL_LU)
    assert max(float(np.max(true_peak(out, 44100))) for out in outputs) <= -1.0


def test_preset_gains_match_headroom_normalization(music):
    level = measure(music, 44100)
    gains = preset_gains(level)
    assert list(gains) == list(PRESETS)
    for name in ("spotify", "youtube", "spotify-quiet"):
        _, report = normalize(music, 44100, preset=name, mode="headroom")
        assert gains[name] == {"target_lufs": PRESETS[name].target_lufs, "gain_db": report.gain_db}
    undefined = LoudnessReport(-math.inf, -math.inf, -math.inf, -math.inf, -math.inf, -math.inf)
    assert all(entry["gain_db"] is None for entry in preset_gains(undefined).values())
    assert preset_gains(LoudnessReport(-30.0, 3.0, -20.0, -21.0, -25.0, -27.0))["youtube"]["gain_db"] == 0.0


@pytest.mark.parametrize("sample_rate", (44100, 96000, 192000))
def test_limiter_holds_the_ceiling_at_every_oversampling(sample_rate):
    x = noise(sample_rate, duration_s=2.0, channels=2, amplitude=0.95, seed=11)
    out, report = limit_true_peak(x, sample_rate, true_peak_dbtp=-3.0)
    assert float(np.max(true_peak(out, sample_rate))) <= -3.0
    assert report.output_true_peak_dbtp <= -3.0 and report.max_reduction_db > 1.0


def test_limiter_is_time_aligned_and_transparent_below_the_ceiling():
    x = sine(997, 48000, duration_s=3.0, channels=2, amplitude=0.2).copy()
    x[:, 96000:96480] *= 4.5  # a 10 ms burst peaking at -0.9 dBFS
    out, report = limit_true_peak(x, 48000, true_peak_dbtp=-6.0)
    np.testing.assert_array_equal(out[:, :90000], x[:, :90000])  # far from the burst: untouched
    gain = out[0, 95000:97000] / np.where(x[0, 95000:97000] == 0, 1, x[0, 95000:97000])
    assert np.allclose(gain, out[1, 95000:97000] / np.where(x[1, 95000:97000] == 0, 1, x[1, 95000:97000]),
                       atol=1e-5)  # linked: both channels get one gain
    # The reduction at the burst is its true peak less the ceiling; the limiter lands 0.002 dB
    # under the ceiling (measured), so 0.01 dB bounds it.
    expected_db = float(np.max(true_peak(x, 48000))) - (-6.0)
    assert report.max_reduction_db == pytest.approx(expected_db, abs=0.01)


def test_limiter_gain_is_smooth_and_steady_on_a_steady_tone():
    """No pumping: 60 Hz + 960 Hz (one 1/60 s period) 4 dB over the threshold gets one constant gain."""
    sample_rate = 48000
    t = np.arange(4 * sample_rate) / sample_rate
    tone = 0.6 * np.sin(2 * np.pi * 60 * t) + 0.4 * np.sin(2 * np.pi * 960 * t)
    x = np.stack([tone, tone]).astype(np.float32)
    settings = _settings(sample_rate, LOOKAHEAD_MS, HOLD_MS, RELEASE_MS)
    gain = _gain_envelope(x, sample_rate, 10 ** (-4 / 20) * float(np.abs(x).max()), settings)
    steady_db = 20 * np.log10(gain[sample_rate:-sample_rate // 10])
    assert np.ptp(steady_db) < STEADY_RIPPLE_DB
    # The attack is an S-shaped ramp over the look-ahead, never a jump.
    drop = 1.0 - gain.min()
    assert np.abs(np.diff(gain)).max() <= 1.01 * drop / settings.box1


def test_limiter_rejects_bad_settings():
    with pytest.raises(ParameterError, match="release_ms"):
        limit_true_peak(np.zeros((1, 100), np.float32), 48000, release_ms=0.0)
    with pytest.raises(ParameterError, match="samples\\[0, 3\\] is nan"):
        limit_true_peak(np.array([0, 0, 0, np.nan]), 48000)


def test_limiter_kernels_compile_on_first_call_only():
    code = (
        "import audiokit.loudness\n"
        "from audiokit.loudness import _kernels\n"
        "names = ['_limiter_required_gain', '_sliding_minimum', '_release', '_moving_average']\n"
        "assert all(not getattr(_kernels, n).signatures for n in names)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_multichannel_layout_is_passed_through():
    x = music_like(48000, 5.0, seed=9)
    surround = np.concatenate([x, x[:1] * np.float32(0.5), np.zeros((1, x.shape[1]), np.float32), x], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, report = normalize(surround, 48000, target_lufs=-20.0, channel_layout="5.1")
    assert report.output.integrated_lufs == pytest.approx(-20.0, abs=GAIN_TOL_LU)
    assert out.shape == (6, x.shape[1])
