"""Explicit-label policies, transcript flags on timed words, transcript files in and masked transcripts out."""

from __future__ import annotations

import json

import pytest

from audiokit.errors import ParameterError
from audiokit.models.moderation import (
    POLICIES,
    Flag,
    explicit_label,
    flag_transcript,
    load_lexicon,
    masked_transcript,
    moderate,
    read_transcript,
)
from audiokit.models.whisper.result import Segment, Word


def _flag(category: str, severity: str, *, confidence: float = 1.0, source: str = "transcript") -> Flag:
    rule_id = f"en.{category}.x-{severity}" if source == "transcript" else f"audio.{category}"
    return Flag(category, severity, 1.0, 1.5, source, rule_id, confidence, "test")


#: (category, severity, explicit under music, podcast, kids)
DECISIONS = [
    ("profanity", "low", False, False, True),
    ("profanity", "medium", True, True, True),
    ("profanity", "high", True, True, True),
    ("hate", "low", True, True, True),
    ("sexual", "low", False, False, True),
    ("sexual", "medium", True, True, True),
    ("violence", "medium", False, True, True),
    ("violence", "high", True, True, True),
    ("self-harm", "medium", False, True, True),
    ("drugs", "low", False, False, True),
    ("drugs", "medium", True, True, True),
]


@pytest.mark.parametrize("category, severity, music, podcast, kids", DECISIONS)
def test_policy_decisions(category, severity, music, podcast, kids):
    flags = [_flag(category, severity)]
    assert [explicit_label(flags, policy=name).explicit for name in ("music", "podcast", "kids")] == [
        music, podcast, kids]


def test_label_reasons_and_confidence_threshold():
    weak = _flag("profanity", "high", confidence=0.55)
    assert not explicit_label([weak], policy="podcast").explicit  # podcast needs 0.6
    assert explicit_label([weak], policy="kids").explicit  # kids needs 0.5
    flags = [_flag("profanity", "high"), _flag("drugs", "medium"), _flag("profanity", "high")]
    label = explicit_label(flags, policy="podcast")
    assert label.reasons == ("en.profanity.x-high", "en.drugs.x-medium")
    assert label.to_dict() == {"policy": "podcast", "explicit": True, "reasons": list(label.reasons)}


def test_audio_flags_never_make_content_explicit():
    flags = [_flag("clipping", "high", source="audio"), _flag("loudness", "high", source="audio")]
    assert not any(explicit_label(flags, policy=name).explicit for name in POLICIES)


def test_unknown_policy():
    with pytest.raises(ParameterError, match="policy is 'radio'; expected one of music, podcast, kids"):
        explicit_label([], policy="radio")


def _segments() -> list[Segment]:
    words = [Word(0.0, 0.3, " Oh", 0.9), Word(0.3, 0.7, " fucking", 1.0), Word(0.7, 1.0, " hell,", 0.9),
             Word(1.2, 1.5, " I", 1.0), Word(1.5, 1.8, " will", 1.0), Word(1.8, 2.1, " kill", 0.8),
             Word(2.1, 2.4, " you.", 0.6)]
    return [Segment(0.0, 1.0, "Oh fucking hell,", tuple(words[:3])),
            Segment(1.2, 2.4, "I will kill you.", tuple(words[3:]))]


def test_transcript_flags_carry_times_rule_and_evidence():
    flags = flag_transcript(_segments(), lexicon=load_lexicon("en"))
    assert [(f.category, f.severity, f.start_s, f.end_s, f.rule_id, f.text) for f in flags] == [
        ("profanity", "high", 0.3, 0.7, "en.profanity.fuck", "fucking"),
        ("violence", "high", 1.8, 2.4, "en.violence.threat-kill", "kill you."),
    ]
    assert flags[0].confidence == pytest.approx(0.95)  # inflected, probability 1
    assert flags[1].confidence == pytest.approx(1.0 * (0.5 + 0.5 * 0.7))  # mean word probability 0.7
    assert flags[0].evidence == "inflected match of 'fuck' in \"Oh [fucking] hell, I will\""
    assert all(f.source == "transcript" for f in flags)


def test_categories_filter_and_check():
    flags = flag_transcript(_segments(), lexicon=load_lexicon("en"), categories=["violence"])
    assert [f.category for f in flags] == ["violence"]
    with pytest.raises(ParameterError, match="expected some of profanity"):
        flag_transcript(_segments(), lexicon=load_lexicon("en"), categories=["rudeness"])


def test_segments_without_words_get_estimated_times():
    segments = [Segment(10.0, 12.0, "this is shit", ())]
    (flag,) = flag_transcript(segments, lexicon=load_lexicon("en"))
    assert 10.0 < flag.start_s < flag.end_s <= 12.0
    assert flag.confidence == pytest.approx(0.8)  # exact x estimated timing
    assert "estimated" in flag.evidence


def test_masked_transcript():
    segments = _segments()
    flags = flag_transcript(segments, lexicon=load_lexicon("en"))
    document = masked_transcript(segments, flags, language="en")
    assert document["text"] == "Oh f****** hell, I will k*** y**."
    assert document["segments"][0]["words"][1]["text"] == " f******"
    assert document["segments"][1]["words"][0]["start_s"] == 1.2


def test_read_transcript_formats_and_errors(tmp_path):
    ours = tmp_path / "ours.json"
    ours.write_text(json.dumps({"language": "en", "segments": [
        {"start_s": 0.0, "end_s": 1.0, "text": " damn it", "words": [
            {"start_s": 0.0, "end_s": 0.4, "text": " damn", "probability": 0.9},
            {"start_s": 0.4, "end_s": 1.0, "text": " it", "probability": 0.9}]}]}), encoding="utf-8")
    openai = tmp_path / "openai.json"
    openai.write_text(json.dumps({"segments": [{"start": 0.0, "end": 1.0, "text": " damn it", "words": [
        {"start": 0.0, "end": 0.4, "word": " damn"}, {"start": 0.4, "end": 1.0, "word": " it"}]}]}), encoding="utf-8")
    for path in (ours, openai):
        segments, language = read_transcript(path)
        assert language == "en" and segments[0].words[0].text == " damn" and segments[0].words[1].end_s == 1.0
    result = moderate(transcript=ours, policy="kids")
    assert result.label.explicit and result.loudness is None and result.lexicon == "en@2026.2"
    assert not moderate(transcript=ours, policy="podcast").label.explicit
    with pytest.raises(ParameterError, match="does not exist"):
        read_transcript(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"text": "no segments"}), encoding="utf-8")
    with pytest.raises(ParameterError, match='no "segments" list'):
        read_transcript(bad)


def test_moderate_argument_errors(tmp_path):
    with pytest.raises(ParameterError, match="nothing to moderate"):
        moderate()
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps({"segments": []}), encoding="utf-8")
    with pytest.raises(ParameterError, match="bleeping needs the audio"):
        moderate(transcript=transcript, bleep=tmp_path / "out.wav")
    with pytest.raises(ParameterError, match="bleep_mode is 'beep'"):
        moderate(transcript=transcript, bleep_mode="beep")


def test_each_policy_checks_against_its_delivery_spec(tmp_path):
    """Music at -14 LUFS is on the music spec (spotify) and 2 LU over the podcast one; an explicit spec wins."""
    import numpy as np

    import audiokit
    from audiokit import Audio
    from audiokit.models.moderation import CheckOptions

    rate = 48000
    t = np.arange(8 * rate) / rate
    music = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)]).astype(np.float32)
    gain_db = -14.0 - audiokit.loudness.measure(music, rate).integrated_lufs
    music = (music * 10 ** (gain_db / 20)).astype(np.float32)
    as_music = moderate(Audio(music, rate), transcribe=False, policy="music")
    as_podcast = moderate(Audio(music, rate), transcribe=False, policy="podcast")
    assert as_music.spec == "spotify" and not [f for f in as_music.flags if f.category == "loudness"]
    assert POLICIES["music"].spec == "spotify" and POLICIES["podcast"].spec == POLICIES["kids"].spec == "podcast"
    (loud,) = [f for f in as_podcast.flags if f.category == "loudness"]
    assert as_podcast.spec == "podcast" and loud.value == pytest.approx(-14.0, abs=0.1) and loud.limit == -16.0
    forced = moderate(Audio(music, rate), transcribe=False, policy="music", check_options=CheckOptions(spec="podcast"))
    assert forced.spec == "podcast"
    with pytest.raises(ParameterError, match="check_options is a dict"):
        moderate(Audio(music, rate), transcribe=False, check_options={"spec": "podcast"})
