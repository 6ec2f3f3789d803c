"""Tempo, key, spectral summary, silence and speech/music on signals with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audiokit import Audio
from audiokit.analysis import analyze, key, silence, spectral_summary, tempo
from audiokit.analysis.tonality import PITCH_CLASSES
from audiokit.errors import ParameterError

EXAMPLE = Path(__file__).parents[2] / "examples" / "example.flac"
#: tempo tolerance on real-ish material, BPM (the issue's acceptance)
BPM_TOLERANCE = 1.0
#: tempo tolerance on click tracks, BPM: the refinement follows the ACF peaks (measured max error 0.01 BPM)
CLICK_BPM_TOLERANCE = 0.05


def click_track(bpm: float, *, sample_rate: int = 44100, duration_s: float = 20.0) -> np.ndarray:
    """1 kHz 10 ms clicks every beat from 0.1 s on; (frames,) float32."""
    x = np.zeros(round(sample_rate * duration_s), np.float32)
    t = np.arange(round(0.01 * sample_rate)) / sample_rate
    click = (np.sin(2 * np.pi * 1000 * t) * np.exp(-t * 400)).astype(np.float32)
    for beat in np.arange(0.1, duration_s - 0.02, 60.0 / bpm):
        start = round(beat * sample_rate)
        x[start : start + click.size] += click
    return x


def progression(tonic: int, mode: str, *, sample_rate: int = 22050, chord_s: float = 1.0) -> np.ndarray:
    """I-IV-V-I (major) or i-iv-V-i (harmonic minor) triads with a bass note; (frames,)."""
    third = 4 if mode == "major" else 3
    t = np.arange(round(chord_s * sample_rate)) / sample_rate
    envelope = np.minimum(1, np.minimum(t / 0.02, (chord_s - t) / 0.05))

    def tone(midi: int) -> np.ndarray:
        frequency = 440 * 2 ** ((midi - 69) / 12)
        return sum(np.sin(2 * np.pi * h * frequency * t) / h**2 for h in (1, 2, 3)) * envelope

    base = 48 + tonic
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    x = np.concatenate([sum(tone(base + 12 + n) for n in chord) + tone(base + chord[0] - 12) for chord in chords])
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("bpm", [80, 83.3, 90, 97.1, 100, 110, 120, 123.7, 130, 140, 150, 160, 170, 177.7, 180])
def test_click_track_tempo_within_a_twentieth_of_a_bpm(bpm):
    result = tempo(click_track(bpm), 44100)
    assert abs(result.bpm - bpm) <= CLICK_BPM_TOLERANCE, result.bpm
    intervals = np.diff(result.beat_times_s)
    assert np.median(intervals) == pytest.approx(60 / bpm, abs=0.03)


@pytest.mark.parametrize("mode", ["major", "minor"])
@pytest.mark.parametrize("tonic", range(12))
def test_chord_progressions_give_all_24_keys(tonic, mode):
    result = key(progression(tonic, mode), 22050)
    assert result.name == f"{PITCH_CLASSES[tonic]} {mode}"
    assert sum(result.chroma) == pytest.approx(1.0, abs=1e-3)


def test_temperley_profile_agrees_on_a_clear_key():
    assert key(progression(9, "minor"), 22050, profile="temperley").name == "A minor"
    with pytest.raises(ParameterError, match="profile is 'bach'"):
        key(progression(0, "major"), 22050, profile="bach")


@pytest.mark.parametrize("frequency_hz", [250.0, 1000.0, 4000.0])
def test_spectral_summary_of_a_sine_sits_on_its_frequency(frequency_hz):
    t = np.arange(44100) / 44100
    summary = spectral_summary(0.5 * np.sin(2 * np.pi * frequency_hz * t), 44100)
    assert summary.centroid_hz == pytest.approx(frequency_hz, rel=0.02)
    assert summary.rolloff_hz == pytest.approx(frequency_hz, abs=25)
    assert summary.bandwidth_hz < 50


def test_spectral_centroid_rises_with_brightness(rng):
    noise = rng.standard_normal(44100).astype(np.float32) * 0.1
    low = np.convolve(noise, np.ones(32) / 32, mode="same")  # a crude low-pass
    assert spectral_summary(low, 44100).centroid_hz < spectral_summary(noise, 44100).centroid_hz


def test_silence_regions_and_ratio():
    sample_rate = 48000
    t = np.arange(4 * sample_rate) / sample_rate
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    x[sample_rate : 2 * sample_rate] = 0
    x[int(3.4 * sample_rate) :] = 0
    result = silence(np.stack([x, x]), sample_rate, min_silence_ms=500)
    assert len(result.regions) == 2
    (start_a, end_a), (start_b, end_b) = result.regions
    assert start_a == pytest.approx(1.0, abs=0.05) and end_a == pytest.approx(2.0, abs=0.05)
    assert start_b == pytest.approx(3.4, abs=0.05) and end_b == pytest.approx(4.0, abs=1e-3)
    assert result.ratio == pytest.approx(1.6 / 4, abs=0.03)
    assert silence(x, sample_rate, min_silence_ms=1200).regions == ()


def test_example_track_is_100_bpm_in_c_major_and_music():
    result = analyze(EXAMPLE)
    assert abs(result.tempo.bpm - 100) <= BPM_TOLERANCE
    assert result.key.name == "C major"
    assert result.segments.music_ratio > 0.8
    document = json.loads(json.dumps(result.to_dict()))
    assert set(document) == {"duration_s", "tempo", "key", "spectral", "silence", "segments"}


def test_bad_input_is_rejected():
    with pytest.raises(ParameterError, match="at least"):
        tempo(np.zeros(100, np.float32), 44100)
    with pytest.raises(ParameterError, match="expected a file path or an audiokit.Audio"):
        analyze(np.zeros(44100))
    with pytest.raises(ParameterError, match="finite"):
        key(np.full(44100, np.nan, np.float32), 44100)
    assert analyze(Audio(np.zeros(44100, np.float32), 44100)).silence.ratio == pytest.approx(1.0)
