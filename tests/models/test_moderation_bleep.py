"""Bleeping and word-edge refinement on synthetic "words" with known edges, and moderate() writing a bleeped copy."""

from __future__ import annotations

import json

import numpy as np
import pytest

import audiokit
from audiokit import Audio
from audiokit.errors import ParameterError
from audiokit.models.moderation import (
    BLEEP_MODES,
    PAD_MS,
    bleep,
    masked_transcript_path,
    moderate,
    refine_spans,
)
from audiokit.models.moderation.bleep import CONNECTED_MARGIN_S, STOP_RELEASE_S, TYPICAL_LATE_S

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


def test_refined_span_covers_the_word_padded_into_the_pauses():
    samples = _signal([(0.2, 0.45, 0.3, "vowel"), (0.6, 1.0, 0.3, "vowel"), (1.2, 1.5, 0.3, "vowel")], 2.0)
    words = [(0.25, 0.6), (0.68, 1.06), (1.26, 1.6)]  # Whisper-like: every word 50-80 ms late
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words)
    assert start_s == pytest.approx(0.6 - PAD_MS / 1000, abs=0.006)
    assert end_s == pytest.approx(1.0 + PAD_MS / 1000, abs=0.006)


def test_late_times_still_find_the_whole_word():
    """Whisper 250 ms late: its span covers the word's end and the next word's start; the word is found whole."""
    samples = _signal([(0.2, 0.45, 0.3, "vowel"), (0.6, 1.0, 0.3, "vowel"), (1.2, 1.5, 0.3, "vowel")], 2.0)
    words = [(0.45, 0.85), (0.85, 1.25), (1.45, 1.75)]
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words, pad_ms=0)
    assert start_s == pytest.approx(0.6, abs=0.006) and end_s == pytest.approx(1.0, abs=0.006)


def test_padding_stops_at_a_neighbours_sound():
    """A 20 ms pause on each side: the 40 ms pad fills it and stops at the neighbours."""
    samples = _signal([(0.2, 0.58, 0.3, "vowel"), (0.6, 1.0, 0.3, "vowel"), (1.02, 1.4, 0.3, "noise")], 1.8)
    words = [(0.2, 0.6), (0.6, 1.0), (1.0, 1.4)]
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words)
    assert 0.575 <= start_s <= 0.6 and 1.0 <= end_s <= 1.025


def test_a_closure_inside_the_word_keeps_both_syllables():
    """ "fu | cking": a 40 ms closure inside the word, 150 ms pauses between words."""
    samples = _signal([(0.2, 0.35, 0.3, "vowel"), (0.5, 0.7, 0.3, "vowel"), (0.74, 0.95, 0.3, "vowel"),
                       (1.1, 1.4, 0.3, "vowel")], 1.8)
    words = [(0.25, 0.45), (0.6, 1.0), (1.0, 1.5)]
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words, pad_ms=0)
    assert start_s == pytest.approx(0.5, abs=0.006) and end_s == pytest.approx(0.95, abs=0.006)


def test_a_word_final_release_goes_with_the_word():
    """ "crap |": a 40 ms closure, a weak release burst, then the pause: the burst is bleeped too."""
    samples = _signal([(0.2, 0.45, 0.3, "vowel"), (0.55, 0.8, 0.3, "vowel"), (0.84, 0.88, 0.02, "noise"),
                       (1.2, 1.5, 0.3, "vowel")], 1.8)
    words = [(0.25, 0.6), (0.66, 0.86), (1.25, 1.6)]
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words, pad_ms=0)
    assert start_s == pytest.approx(0.55, abs=0.006) and end_s == pytest.approx(0.88, abs=0.006)


def test_connected_speech_without_pauses_widens_the_transcripts_times():
    """No pause to put a boundary on: the span starts Whisper's typical lateness and a margin early, ends a margin late."""
    samples = _signal([(0.0, 2.0, 0.3, "vowel")], 2.0)
    words = [(0.1, 0.6), (0.6, 1.0), (1.0, 1.5)]
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words)
    assert start_s == pytest.approx(0.6 - TYPICAL_LATE_S - CONNECTED_MARGIN_S, abs=0.006)
    assert end_s == pytest.approx(1.0 + CONNECTED_MARGIN_S, abs=0.006)


def test_a_pause_inside_a_neighbour_is_not_the_flagged_words_edge():
    """Connected "pain in the ass": the only pause is the closure of "p", 0.55 s before the word; the span does
    not reach back to it (it did: "pain in the" were bleeped with the word)."""
    samples = _signal([(0.0, 0.5, 0.3, "vowel"), (0.545, 1.4, 0.3, "vowel")], 2.0)
    words = [(0.55, 0.8), (0.8, 0.95), (1.1, 1.4)]  # "pain", "in the" (Whisper late), "ass"
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[2]], words=words)
    assert start_s == pytest.approx(1.1 - TYPICAL_LATE_S - CONNECTED_MARGIN_S, abs=0.006)
    assert end_s == pytest.approx(1.4 + PAD_MS / 1000, abs=0.006)  # padded into the silence after


def _over_a_bed(parts: list[tuple[float, float, float, str]], duration_s: float, blips: list[float]) -> np.ndarray:
    """``parts`` over a noise bed 40 dB under them, with 10 ms peaks of the bed 8 dB over it at ``blips`` (s)."""
    bed = 0.003 * np.random.default_rng(3).standard_normal(int(duration_s * SAMPLE_RATE))
    for at_s in blips:
        bed[int(at_s * SAMPLE_RATE):int((at_s + 0.01) * SAMPLE_RATE)] *= 10 ** (8 / 20)
    return (_signal(parts, duration_s) + bed).astype(np.float32)


def test_peaks_of_a_bed_in_the_pause_after_the_word_are_not_the_word():
    """Whisper stretched the sentence's last word over the pause after it (0.4 s late at its end), where a music
    bed's peaks cross the sound threshold for a frame or two: the span stays on the word, not on those peaks."""
    samples = _over_a_bed([(0.2, 0.45, 0.3, "vowel"), (0.5, 0.9, 0.3, "vowel"), (1.5, 1.8, 0.3, "vowel")],
                          2.2, blips=[1.05, 1.12, 1.2])
    words = [(0.3, 0.62), (0.72, 1.3), (1.6, 1.9)]
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words, pad_ms=0)
    assert start_s <= 0.5 and 0.9 <= end_s < 1.0


def test_a_word_spelled_with_a_final_stop_is_bleeped_into_the_pause_for_its_release():
    """ "rape |" over a bed: its release is under the bed's level, so the span runs STOP_RELEASE_S into the
    pause; a word ending in a vowel or fricative gets the plain padding, and no span enters the next word."""
    samples = _over_a_bed([(0.2, 0.45, 0.3, "vowel"), (0.6, 1.0, 0.3, "vowel"), (1.6, 1.9, 0.3, "vowel")], 2.2, [])
    words = [(0.25, 0.5), (0.65, 1.05), (1.65, 1.95)]
    (stop,) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words, texts=["rape."])
    (fricative,) = refine_spans(samples, SAMPLE_RATE, [words[1]], words=words, texts=["ass"])
    assert stop[1] == pytest.approx(1.0 + STOP_RELEASE_S, abs=0.006)
    assert fricative[1] == pytest.approx(1.0 + PAD_MS / 1000, abs=0.006)
    near = _signal([(0.2, 0.45, 0.3, "vowel"), (0.6, 1.0, 0.3, "vowel"), (1.1, 1.4, 0.3, "vowel")], 1.8)
    ((_, end_s),) = refine_spans(near, SAMPLE_RATE, [words[1]], words=[(0.25, 0.5), (0.65, 1.05), (1.15, 1.45)],
                                 texts=["shit"])
    assert 1.0 < end_s <= 1.1
    with pytest.raises(ParameterError, match="texts has 2 entries for 1 spans"):
        refine_spans(samples, SAMPLE_RATE, [words[1]], texts=["a", "b"])


def test_silence_around_gives_the_padded_span():
    samples = np.zeros((1, 2 * SAMPLE_RATE), np.float32)
    ((start_s, end_s),) = refine_spans(samples, SAMPLE_RATE, [(0.6, 1.0)])
    assert start_s == pytest.approx(0.56) and end_s == pytest.approx(1.04)
    with pytest.raises(ParameterError, match="pad_ms is -1"):
        refine_spans(samples, SAMPLE_RATE, [(0.6, 1.0)], pad_ms=-1)


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
    # the word (0.8-1.2 s) padded by 40 ms into the pause before it; "fuck" ends in a stop, so its span runs
    # into the pause after it for the release, up to the next word at 1.4 s (the crossfade ends on a zero crossing)
    assert first_s == pytest.approx(0.8 - PAD_MS / 1000, abs=0.006) and stop_s == pytest.approx(1.4, abs=0.003)
    before, after = audiokit.probe(source), audiokit.probe(out)
    assert (after.codec, after.sample_rate, after.num_frames, after.bit_depth) == (
        before.codec, before.sample_rate, before.num_frames, before.bit_depth)
    bleeped = audiokit.read(out).samples[0]
    assert np.abs(bleeped[int(0.81 * SAMPLE_RATE):int(1.19 * SAMPLE_RATE)]).max() == 0
    assert np.abs(bleeped[int(0.3 * SAMPLE_RATE):int(0.5 * SAMPLE_RATE)]).max() > 0.1
    assert masked_transcript_path(out) == tmp_path / "clean.json"
    masked = json.loads((tmp_path / "clean.json").read_text(encoding="utf-8"))
    assert masked["text"] == "What the f*** now"
    assert result.bleep.subtitles == (str(tmp_path / "clean.srt"), str(tmp_path / "clean.vtt"))
    srt = (tmp_path / "clean.srt").read_text(encoding="utf-8")
    assert "What the f*** now" in srt and "fuck" not in srt and "00:00:00,250 -->" in srt
    vtt = (tmp_path / "clean.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "f***" in vtt and "fuck" not in vtt


MP3_SENTENCES = (("What the", "fuck", "is this?", "profanity"), ("This", "shit", "is getting old.", "profanity"),
                 ("They sold", "cocaine", "in the park.", "drugs"))


def test_an_mp3_is_transcribed_and_bleeped_end_to_end(tmp_path):
    """An MP3 episode in, an MP3 out at the same bitrate and length; in the decoded output, with the 1 kHz tone
    notched out of it and of the decoded input alike, each planted word keeps <= -30 dB of its energy and its
    neighbours >= 90 % (1 - energy of the change / energy of the input; the re-encode alone costs ~0.3 %)."""
    from _spliced import SAMPLE_RATE as RATE
    from _spliced import build_episode, have_espeak
    from scipy.signal import filtfilt, iirnotch

    if not have_espeak():
        pytest.skip("needs the Debian package espeak-ng")
    episode = build_episode("mp3", MP3_SENTENCES, piece_gap_s=(0.05, 0.1), seed=4)
    source, out = tmp_path / "episode.mp3", tmp_path / "clean.mp3"
    audiokit.write(source, episode.audio(), codec="mp3", bitrate_bps=128_000)
    result = moderate(source, bleep=out, audio_checks=False)
    assert [f.category for f in result.flags] == ["profanity", "profanity", "drugs"]
    before, after = audiokit.probe(source), audiokit.probe(out)
    assert (after.codec, after.num_frames, after.sample_rate) == (before.codec, before.num_frames, before.sample_rate)
    assert after.bitrate_bps == pytest.approx(before.bitrate_bps, rel=0.05)
    decoded_in, decoded_out = audiokit.read(source).samples[0], audiokit.read(out).samples[0]
    notch = iirnotch(1000.0, 10.0, RATE)
    input_notched, output_notched = filtfilt(*notch, decoded_in), filtfilt(*notch, decoded_out)
    for piece in episode.planted:
        word = slice(piece.first, piece.stop)
        residual_db = 10 * np.log10(np.sum(output_notched[word] ** 2) / np.sum(input_notched[word] ** 2))
        assert residual_db <= -30.0, (piece.text, residual_db)
        for neighbour in episode.neighbours(piece):
            span = slice(neighbour.first, neighbour.stop)
            change = np.sum((decoded_out[span] - decoded_in[span]) ** 2) / np.sum(decoded_in[span] ** 2)
            assert 1 - change >= 0.9, (neighbour.text, 1 - change)
