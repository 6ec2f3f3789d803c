"""Audio delivery checks on synthetic faults planted in a clean, on-spec speech-like signal."""

from __future__ import annotations

import numpy as np
import pytest

from audiokit import Audio, loudness
from audiokit.errors import ParameterError
from audiokit.models.moderation import CheckOptions, check_audio

SAMPLE_RATE = 48000
DURATION_S = 15.0


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    """15 s of a gliding harmonic "voice" with a 3 Hz syllable envelope, stereo, -16 LUFS, peaks near -7 dBTP."""
    rng = np.random.default_rng(20261128)
    t = np.arange(int(DURATION_S * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(180 + 20 * np.sin(2 * np.pi * 0.7 * t)) / SAMPLE_RATE
    voice = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 12))
    mono = voice * (0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t))
    stereo = np.stack([mono + 0.05 * rng.standard_normal(t.shape), mono + 0.05 * rng.standard_normal(t.shape)])
    gain = 10 ** ((-16.0 - loudness.measure(stereo.astype(np.float32), SAMPLE_RATE).integrated_lufs) / 20)
    return (stereo * gain).astype(np.float32)


def _check(samples: np.ndarray, **options):
    flags, report = check_audio(Audio(samples, SAMPLE_RATE), options=CheckOptions(**options))
    return flags, report


def _only(flags, category):
    found = [f for f in flags if f.category == category]
    assert found, f"no {category} flag in {[f.category for f in flags]}"
    return found


def test_clean_signal_has_no_flags(clean):
    flags, report = _check(clean)
    assert flags == []
    assert report["integrated_lufs"] == pytest.approx(-16.0, abs=0.05)


def test_planted_clipping(clean):
    samples = clean.copy()
    samples[0, 3 * SAMPLE_RATE:3 * SAMPLE_RATE + 200] = 1.0
    samples[1, 3 * SAMPLE_RATE + 100:3 * SAMPLE_RATE + 102] = -1.0  # 2 samples: under min_clip_samples
    flags, _ = _check(samples)
    (clip,) = _only(flags, "clipping")
    assert clip.start_s == pytest.approx(3.0, abs=0.001)
    assert clip.end_s == pytest.approx(3.0 + 200 / SAMPLE_RATE, abs=0.001)
    assert clip.value == 200 and clip.source == "audio" and clip.rule_id == "audio.clipping"
    (peak,) = _only(flags, "true_peak")
    assert peak.start_s == pytest.approx(3.0, abs=0.01) and peak.value >= 0.0 and peak.limit == -1.0


def test_planted_dead_air(clean):
    samples = clean.copy()
    samples[:, 5 * SAMPLE_RATE:10 * SAMPLE_RATE] = 0.0
    flags, _ = _check(samples)
    (dead,) = _only(flags, "dead_air")
    assert dead.start_s == pytest.approx(5.0, abs=0.05) and dead.end_s == pytest.approx(10.0, abs=0.05)
    assert dead.value == pytest.approx(5.0, abs=0.1) and dead.limit == 3.0
    assert "below -60 dBFS" in dead.evidence


def test_short_pause_is_not_dead_air(clean):
    samples = clean.copy()
    samples[:, 5 * SAMPLE_RATE:7 * SAMPLE_RATE] = 0.0
    flags, _ = _check(samples)
    assert not [f for f in flags if f.category == "dead_air"]


def test_planted_dc_offset(clean):
    samples = clean.copy()
    samples[1] += 0.05
    flags, _ = _check(samples)
    (dc,) = _only(flags, "dc_offset")
    assert "channel 1" in dc.evidence and dc.value == pytest.approx(20 * np.log10(0.05), abs=0.2)
    assert (dc.start_s, dc.end_s) == (0.0, DURATION_S)


def test_polarity_inverted_channel(clean):
    samples = clean.copy()
    samples[1] = -samples[1]
    flags, _ = _check(samples)
    (phase,) = _only(flags, "phase")
    assert phase.severity == "high" and phase.value < -0.9
    assert phase.start_s == pytest.approx(0.0, abs=0.1) and phase.end_s == pytest.approx(DURATION_S, abs=0.1)
    assert "mono downmix loses" in phase.evidence


def test_polarity_inverted_stretch(clean):
    samples = clean.copy()
    samples[1, 4 * SAMPLE_RATE:8 * SAMPLE_RATE] *= -1
    flags, _ = _check(samples)
    (phase,) = _only(flags, "phase")
    assert phase.start_s == pytest.approx(4.0, abs=0.06) and phase.end_s == pytest.approx(8.0, abs=0.06)


def test_sudden_12_db_jump(clean):
    samples = clean.copy()
    samples[:, 8 * SAMPLE_RATE:] *= 10 ** (12 / 20)
    flags, _ = _check(samples)
    (jump,) = _only(flags, "loudness_jump")
    assert 8.0 <= jump.end_s <= 8.5 and jump.value == pytest.approx(12.0, abs=1.5)


def test_gradual_rise_is_not_a_jump(clean):
    ramp = 10 ** (np.linspace(0, 12, clean.shape[1]) / 20)  # +12 dB over 15 s
    flags, _ = _check((clean * ramp).astype(np.float32))
    assert not [f for f in flags if f.category == "loudness_jump"]


@pytest.mark.parametrize("gain_db, spec, expected", [
    (0.0, "podcast", None),
    (-0.8, "podcast", None),  # within +-1 LU
    (-2.0, "podcast", "medium"),
    (-6.0, "podcast", "high"),
    (0.0, "ebu-r128", "high"),  # -16 LUFS is 7 LU over -23
    (-7.0, "ebu-r128", None),
])
def test_loudness_against_the_spec(clean, gain_db, spec, expected):
    flags, _ = _check((clean * 10 ** (gain_db / 20)).astype(np.float32), spec=spec)
    found = [f.severity for f in flags if f.category == "loudness"]
    assert found == ([] if expected is None else [expected])


def test_true_peak_over_ceiling_without_clipping(clean):
    samples = (clean * 10 ** (7.5 / 20)).astype(np.float32)  # peaks near +0.5 dBTP, samples under 1.0 mostly
    flags, report = _check(np.clip(samples, -0.99, 0.99))
    assert _only(flags, "true_peak")[0].value > -1.0
    assert not [f for f in flags if f.category == "clipping"]


def test_silent_input():
    flags, report = _check(np.zeros((1, 4 * SAMPLE_RATE), np.float32))
    assert {f.category for f in flags} == {"loudness", "dead_air"}
    (level,) = _only(flags, "loudness")
    assert level.to_dict()["value"] is None and "undefined" in level.evidence


def test_flags_are_in_time_order(clean):
    samples = clean.copy()
    samples[:, 9 * SAMPLE_RATE:] *= 4.0
    samples[0, 2 * SAMPLE_RATE:2 * SAMPLE_RATE + 10] = 1.0
    flags, _ = _check(samples)
    assert [f.start_s for f in flags] == sorted(f.start_s for f in flags)


def test_bad_options():
    with pytest.raises(ParameterError, match="preset is 'radio'"):
        CheckOptions(spec="radio")
    with pytest.raises(ParameterError, match="clip_level=1.5"):
        CheckOptions(clip_level=1.5)
    with pytest.raises(ParameterError, match="expected a CheckOptions"):
        check_audio(Audio(np.zeros((1, 4800), np.float32), SAMPLE_RATE), options={"spec": "podcast"})


@pytest.fixture(scope="module")
def faulty(clean) -> np.ndarray:
    """The clean signal with a fault of every kind planted in it."""
    samples = clean.copy()
    samples[:, 2 * SAMPLE_RATE:2 * SAMPLE_RATE + 300] = 1.0  # clipping and a true-peak over
    samples[:, 4 * SAMPLE_RATE:8 * SAMPLE_RATE] = 0.0  # dead air
    samples[1, 9 * SAMPLE_RATE:11 * SAMPLE_RATE] *= -1  # phase
    samples[:, 12 * SAMPLE_RATE:] *= 4.0  # a jump
    samples[0, :4 * SAMPLE_RATE] += 0.02  # DC, outside the dead air
    samples[0, 8 * SAMPLE_RATE:] += 0.02
    return np.clip(samples, -1.0, 1.0)


def test_a_file_is_checked_as_its_samples_are(faulty, tmp_path):
    import audiokit

    path = audiokit.write(tmp_path / "faulty.wav", Audio(faulty, SAMPLE_RATE), codec="pcm_f32le")
    from_file, from_samples = check_audio(path), check_audio(Audio(faulty, SAMPLE_RATE))
    assert from_file == from_samples
    assert {flag.category for flag in from_file[0]} == {
        "clipping", "true_peak", "dead_air", "phase", "loudness_jump", "dc_offset", "loudness"}


@pytest.mark.parametrize("block_frames", [77, 4801])
def test_any_block_size_gives_the_same_flags(faulty, monkeypatch, block_frames):
    from audiokit.models.moderation import checks

    expected = check_audio(Audio(faulty, SAMPLE_RATE))
    monkeypatch.setattr(checks, "BLOCK_FRAMES", block_frames)
    assert check_audio(Audio(faulty, SAMPLE_RATE)) == expected


def test_a_long_file_is_checked_in_bounded_memory(clean, tmp_path):
    """Peak allocation does not grow with the duration: 2 and 6 minutes of stereo with a true-peak over
    (so both passes run). About 53 MB either way, most of it one 10 s chunk oversampled 4x in float64."""
    import tracemalloc

    from audiokit.io.writer import AudioWriter

    check_audio(Audio(clean, SAMPLE_RATE))  # Numba loads the meter's kernels once
    peaks = []
    for minutes in (2, 6):
        path = tmp_path / f"{minutes}min.wav"
        with AudioWriter(path, SAMPLE_RATE, 2, bit_depth=16) as writer:
            for _ in range(minutes * 4 - 1):  # 15 s each
                writer.write(clean)
            writer.write(np.clip(clean * np.float32(4.0), -1.0, 1.0))
        tracemalloc.start()
        try:
            flags, _ = check_audio(path)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert "true_peak" in {flag.category for flag in flags}
    six_minutes_decoded = 6 * 60 * SAMPLE_RATE * 2 * 4
    assert peaks[1] < 1.2 * peaks[0], f"peak {peaks[0] / 1e6:.1f} MB for 2 min, {peaks[1] / 1e6:.1f} MB for 6 min"
    assert peaks[1] < six_minutes_decoded / 2


def _speechlike(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Noise bursts at -16 LUFS-ish syllable rate: 150 ms on, 100 ms off."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    gate = ((t % 0.25) < 0.15).astype(np.float64)
    return (0.15 * gate * rng.standard_normal(t.shape[0]))


@pytest.mark.parametrize("silence_s", [1.0, 0.6, 3.5])
def test_a_rise_out_of_silence_is_not_a_jump(silence_s, rng):
    """The first word after leading silence, or after a long pause, is an onset."""
    quiet = 0.1 * _speechlike(2.0, rng)  # -20 dB: a jump of 20 LU into the loud part if there were no pause
    parts = [np.zeros(round(silence_s * SAMPLE_RATE)), _speechlike(4.0, rng),
             quiet, np.zeros(round(silence_s * SAMPLE_RATE)), _speechlike(4.0, rng)]
    samples = np.tile(np.concatenate(parts), (2, 1)).astype(np.float32)
    flags, _ = _check(samples)
    assert not [f for f in flags if f.category == "loudness_jump"]


def test_a_rise_after_a_short_pause_is_still_a_jump(rng):
    quiet = 0.1 * _speechlike(3.0, rng)
    parts = [_speechlike(1.0, rng) * 0.1, quiet, np.zeros(round(0.3 * SAMPLE_RATE)), _speechlike(3.0, rng)]
    samples = np.tile(np.concatenate(parts), (2, 1)).astype(np.float32)
    flags, _ = _check(samples)
    (jump,) = _only(flags, "loudness_jump")
    assert 4.3 <= jump.end_s <= 4.9 and jump.value == pytest.approx(20.0, abs=3.0)
