"""Bleeping and edge snapping on synthetic "words" with known edges, and moderate() writing a bleeped copy."""

from __future__ import annotations

import json

import numpy as np
import pytest

import audiokit
from audiokit import Audio
from audiokit.errors import ParameterError
from audiokit.models.moderation import BLEEP_MODES, bleep, masked_transcript_path, moderate, snap_spans

SAMPLE_RATE = 16000


def _signal(parts: list[tuple[float, float, float, str]], duration_s: float, seed: int = 7) -> np.ndarray:
    """(start_s, end_s, amplitude, "vowel"|"noise") pieces on silence, mono (1, n) float32."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(duration_s * SAMPLE_RATE))
    for start_s, end_s, amplitude, kind in parts:
        a, b = int(start_s * SAMPLE_RATE), int(end_s * SAMPLE_RATE)
        t = np.arange(b - a) / SAMPLE_RATE
        if kind == "vowel":
            piece = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)
        else:
            piece = rng.standard_normal(b - a)
        out[a:b] = amplitude * piece
    return out[np.newaxis].astype(np.float32)


def test_start_and_end_snap_to_the_pauses_around_a_word():
    samples = _signal([(0.2, 0.45, 0.3, "vowel"), (0.6, 1.0, 0.3, "vowel"), (1.2, 1.5, 0.3, "vowel")], 2.0)
    # Whisper-like: start 80 ms late, end 60 ms late
    ((start_s, end_s),) = snap_spans(samples, SAMPLE_RATE, [(0.68, 1.06)])
    assert start_s == pytest.approx(0.6, abs=0.006) and end_s == pytest.approx(1.0, abs=0.006)


def test_end_prefers_the_pause_before_a_weak_onset_over_the_closure_after_it():
    """ "shoot up the | school": a 70 ms pause, the next word's weak "s", a 20 ms "k" closure, its vowel."""
    samples = _signal([(0.2, 0.45, 0.3, "vowel"), (0.5, 0.9, 0.3, "vowel"), (0.97, 1.02, 0.02, "noise"),
                       (1.04, 1.4, 0.3, "vowel")], 1.8)
    # Whisper's end shifted by the start's correction lands on the closure (1.00 vs 1.02)
    ((start_s, end_s),) = snap_spans(samples, SAMPLE_RATE, [(0.55, 1.05)])
    assert start_s == pytest.approx(0.5, abs=0.006)
    assert end_s == pytest.approx(0.9, abs=0.006)


def test_end_keeps_a_word_final_release_before_the_long_pause():
    """ "fuck |": a 40 ms "k" closure, its weak release, then the pause after the word."""
    samples = _signal([(0.2, 0.45, 0.3, "vowel"), (0.5, 0.8, 0.3, "vowel"), (0.84, 0.88, 0.02, "noise"),
                       (1.2, 1.5, 0.3, "vowel")], 1.8)
    ((start_s, end_s),) = snap_spans(samples, SAMPLE_RATE, [(0.55, 0.85)])
    assert end_s == pytest.approx(0.88, abs=0.006)


def test_a_strong_sound_between_pauses_is_not_skipped():
    """A closure inside the word ("fu|cking") ends nothing: the loud syllable after it belongs to the word."""
    samples = _signal([(0.5, 0.7, 0.3, "vowel"), (0.74, 0.95, 0.3, "vowel"), (1.3, 1.6, 0.3, "vowel")], 1.8)
    ((_, end_s),) = snap_spans(samples, SAMPLE_RATE, [(0.52, 0.98)])
    assert end_s == pytest.approx(0.95, abs=0.006)


def test_connected_speech_without_pauses_keeps_whispers_times():
    samples = _signal([(0.0, 2.0, 0.3, "vowel")], 2.0)
    assert snap_spans(samples, SAMPLE_RATE, [(0.6, 1.0)]) == [(0.6, 1.0)]


@pytest.mark.parametrize("mode", BLEEP_MODES)
def test_bleep_modes_replace_only_the_span(mode):
    samples = _signal([(0.0, 2.0, 0.2, "noise")], 2.0)
    out, replaced = bleep(Audio(samples, SAMPLE_RATE), [(0.5, 1.0)], mode=mode)
    ((first_s, stop_s),) = replaced
    assert 0.5 - 0.0025 <= first_s <= 0.5 and 1.0 <= stop_s <= 1.0 + 0.0025
    first, stop = round(first_s * SAMPLE_RATE), round(stop_s * SAMPLE_RATE)
    np.testing.assert_array_equal(out.samples[:, :first], samples[:, :first])
    np.testing.assert_array_equal(out.samples[:, stop:], samples[:, stop:])
    inner = out.samples[0, first + 200:stop - 200]
    if mode == "mute":
        assert np.all(inner == 0)
    elif mode == "reverse":
        # replaced spans are rounded to 0.1 ms: the exact first sample is within 2 of first
        reversed_ = [samples[0, first + shift:stop + shift][::-1][200:-200] for shift in range(-2, 3)]
        assert any(np.array_equal(inner, r) for r in reversed_)
    else:
        rms_in = np.sqrt(np.mean(samples[0, first:stop].astype(np.float64) ** 2))
        assert np.sqrt(np.mean(inner.astype(np.float64) ** 2)) == pytest.approx(rms_in, rel=0.02)
        spectrum = np.abs(np.fft.rfft(inner))
        assert np.fft.rfftfreq(inner.shape[0], 1 / SAMPLE_RATE)[np.argmax(spectrum)] == pytest.approx(1000, abs=5)


def test_bleep_fades_add_no_click():
    samples = _signal([(0.0, 1.0, 0.3, "vowel")], 1.0)
    out, _ = bleep(Audio(samples, SAMPLE_RATE), [(0.3, 0.6)], mode="mute")
    # a sample-to-sample step no larger than the vowel's own
    assert np.abs(np.diff(out.samples[0])).max() <= np.abs(np.diff(samples[0])).max() * 1.01


def test_bleep_multichannel_tone_follows_each_channel_level():
    samples = np.concatenate([_signal([(0.0, 1.0, 0.3, "noise")], 1.0), _signal([(0.0, 1.0, 0.03, "noise")], 1.0)])
    out, _ = bleep(Audio(samples, SAMPLE_RATE), [(0.2, 0.8)], mode="tone")
    rms = np.sqrt(np.mean(out.samples[:, 4000:12000].astype(np.float64) ** 2, axis=1))
    assert rms[0] / rms[1] == pytest.approx(10.0, rel=0.05)


def test_bleep_errors():
    audio = Audio(np.zeros((1, 1600), np.float32), SAMPLE_RATE)
    with pytest.raises(ParameterError, match="bleep mode is 'beep'"):
        bleep(audio, [], mode="beep")
    with pytest.raises(ParameterError, match="fade_ms is -1"):
        bleep(audio, [], fade_ms=-1)


def test_moderate_bleeps_a_file_and_writes_the_masked_transcript(tmp_path):
    samples = _signal([(0.2, 0.6, 0.2, "vowel"), (0.8, 1.2, 0.2, "vowel"), (1.4, 1.8, 0.2, "vowel")], 2.2)
    source = tmp_path / "in.wav"
    audiokit.write(source, Audio(samples, SAMPLE_RATE), bit_depth=16)
    transcript = tmp_path / "in.json"
    words = [(" What", 0.25, 0.65), (" the", 0.65, 0.85), (" fuck", 0.85, 1.3), (" now", 1.45, 1.9)]
    transcript.write_text(json.dumps({"language": "en", "segments": [{
        "start_s": 0.2, "end_s": 1.9, "text": "What the fuck now",
        "words": [{"start_s": a, "end_s": b, "text": t, "probability": 0.9} for t, a, b in words]}]}), encoding="utf-8")
    out = tmp_path / "clean.wav"
    result = moderate(source, transcript=transcript, bleep=out, bleep_mode="mute", audio_checks=False)
    assert [f.rule_id for f in result.flags] == ["en.profanity.fuck"]
    ((first_s, stop_s),) = result.bleep.spans
    assert first_s == pytest.approx(0.8, abs=0.006) and stop_s == pytest.approx(1.2, abs=0.006)
    before, after = audiokit.probe(source), audiokit.probe(out)
    assert (after.codec, after.sample_rate, after.num_frames, after.bit_depth) == (
        before.codec, before.sample_rate, before.num_frames, before.bit_depth)
    bleeped = audiokit.read(out).samples[0]
    assert np.abs(bleeped[int(0.81 * SAMPLE_RATE):int(1.19 * SAMPLE_RATE)]).max() == 0
    assert np.abs(bleeped[int(0.3 * SAMPLE_RATE):int(0.5 * SAMPLE_RATE)]).max() > 0.1
    assert masked_transcript_path(out) == tmp_path / "clean.json"
    masked = json.loads((tmp_path / "clean.json").read_text(encoding="utf-8"))
    assert masked["text"] == "What the f*** now"
