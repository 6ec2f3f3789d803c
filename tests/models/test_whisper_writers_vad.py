"""Transcript writers (txt/srt/vtt/tsv/json/all), subtitle cue layout, and the streaming VAD chunker."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from _episodes import available, episode

import audiokit
from audiokit.errors import ParameterError
from audiokit.models.whisper import Segment, TranscriptInfo, Word, write_transcript
from audiokit.models.whisper.vad import AllSpeech, SpeechChunker, VadOptions, speech_chunks
from audiokit.models.whisper.writers import (
    WRITERS,
    SubtitleOptions,
    parse_formats,
    segments_from_json,
    subtitle_cues,
    write_subtitles,
)

FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")

SEGMENTS = [
    Segment(0.5, 2.25, "Hello there.", (Word(0.5, 1.0, " Hello", 0.9), Word(1.0, 2.25, " there.", 0.8)), -0.2, 0.01),
    Segment(3661.001, 3662.5, "Arrows --> and\ttabs", (), -0.3, 0.02),
]
INFO = TranscriptInfo("en", 1.0, 3700.0, "tiny.en", "faster", "cpu", "int8", True, "abc")

SRT_CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n((?:[^\n]+\n)+)\n")
VTT_CUE = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n((?:[^\n]+\n)+)\n")


def _seconds(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_srt_validates():
    text = WRITERS["srt"](SEGMENTS, INFO)
    cues = SRT_CUE.findall(text)
    assert "".join(m.group(0) for m in SRT_CUE.finditer(text)) == text  # nothing but cues
    assert [int(c[0]) for c in cues] == [1, 2]
    assert _seconds(*cues[1][1:5]) == pytest.approx(3661.001)
    assert "-->" not in cues[1][9]


def test_vtt_validates():
    text = WRITERS["vtt"](SEGMENTS, INFO)
    assert text.startswith("WEBVTT\n\n")
    body = text[len("WEBVTT\n\n") :]
    cues = VTT_CUE.findall(body)
    assert "".join(m.group(0) for m in VTT_CUE.finditer(body)) == body
    assert [(_seconds(*c[0:4]), _seconds(*c[4:8])) for c in cues] == [(0.5, 2.25), (3661.001, 3662.5)]


def test_tsv_json_txt():
    rows = WRITERS["tsv"](SEGMENTS, INFO).splitlines()
    assert rows[0] == "start\tend\ttext"
    assert rows[1] == "500\t2250\tHello there."
    assert rows[2].split("\t")[:2] == ["3661001", "3662500"] and len(rows[2].split("\t")) == 3
    document = json.loads(WRITERS["json"](SEGMENTS, INFO))
    assert document["language"] == "en"
    assert document["text"] == "Hello there. Arrows --> and\ttabs"
    assert document["segments"][0] == {
        "start_s": 0.5,
        "end_s": 2.25,
        "text": "Hello there.",
        "words": [w.to_dict() for w in SEGMENTS[0].words],
    }
    assert WRITERS["txt"](SEGMENTS, INFO) == "Hello there.\nArrows --> and tabs\n"


def test_write_all_is_atomic_and_named_after_input(tmp_path):
    written = write_transcript(SEGMENTS, INFO, "/data/episode.01.mp3", tmp_path / "out", formats="all")
    assert [p.name for p in written] == [f"episode.01.{f}" for f in ("txt", "srt", "vtt", "tsv", "json")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)
    assert written[1].read_text() == WRITERS["srt"](SEGMENTS, INFO)


def test_format_lists():
    assert parse_formats("srt, VTT,srt") == ("srt", "vtt")
    assert parse_formats(["json", "all"]) == ("json", "txt", "srt", "vtt", "tsv")
    with pytest.raises(ParameterError, match="'docx'"):
        parse_formats("srt,docx")


@pytest.fixture(scope="module")
def spoken_segments() -> list[Segment]:
    """The 2-minute test episode's script as timed segments: one per sentence, words at espeak-ng's positions."""
    if not available():
        pytest.skip("needs libespeak-ng (Debian package espeak-ng)")
    ep = episode(2.0)
    return [
        Segment(ep.seconds(s.start), ep.seconds(s.end), s.text,
                tuple(Word(ep.seconds(w.start), ep.seconds(w.end), " " + w.text, 1.0) for w in s.words))
        for s in ep.sentences
    ]


def _srt_cues(text: str) -> list[tuple[float, float, list[str]]]:
    assert "".join(m.group(0) for m in SRT_CUE.finditer(text)) == text
    return [(_seconds(*c[1:5]), _seconds(*c[5:9]), c[9].rstrip("\n").split("\n")) for c in SRT_CUE.findall(text)]


@pytest.mark.parametrize(("width", "count"), [(42, 2), (32, 2), (42, 1), (20, 3)])
def test_cues_publishable(spoken_segments, width, count):
    """Lines, line counts, durations, order and words: the layout rules hold on a real script."""
    options = SubtitleOptions(max_line_width=width, max_line_count=count)
    cues = _srt_cues(WRITERS["srt"](spoken_segments, INFO, options=options))
    reference = [w for s in spoken_segments for w in s.words]
    shown = [word for _, _, lines in cues for line in lines for word in line.split()]
    assert shown == [w.text.strip() for w in reference]  # every word once, in order
    longest_word = max(len(w.text.strip()) for w in reference)
    for index, (start, end, lines) in enumerate(cues):
        assert 1 <= len(lines) <= count
        assert all(len(line) <= max(width, longest_word) for line in lines), lines
        assert end - start <= 7.0 + 1e-9
        following = cues[index + 1][0] if index + 1 < len(cues) else float("inf")
        assert end <= following
        assert end - start >= 0.8 - 1e-9 or end == pytest.approx(following, abs=1e-3)
    # a cue never spans a pause of a second or more between sentences
    starts = [c[0] for c in cues]
    for before, after in zip(spoken_segments, spoken_segments[1:]):
        if after.start_s - before.end_s >= 1.0:
            assert any(abs(start - after.start_s) < 1e-3 for start in starts), after.text


def test_cues_break_at_sentences_and_punctuation(spoken_segments):
    cues = subtitle_cues(spoken_segments)
    sentence_starts = {round(s.start_s, 3) for s in spoken_segments}
    # every sentence starts a cue (the script's sentences all fit in 7 s)
    assert sentence_starts <= {cue.start_s for cue in cues}
    # a cue split inside a sentence ends at its last comma, if that keeps half a line in the cue
    split_at_comma = 0
    for cue in cues:
        text = " ".join(cue.lines)
        if not text.endswith((".", "?", "!")) and "," in text[21:-1]:
            assert text.endswith(","), cue.lines
        split_at_comma += text.endswith(",")
    assert split_at_comma >= 1
    # lines are balanced: the two lines of a full cue differ by less than the width
    for cue in cues:
        if len(cue.lines) == 2:
            assert abs(len(cue.lines[0]) - len(cue.lines[1])) < 42


def test_long_segment_without_words_is_split():
    """A 130-character segment with no word timings (the issue's SRT) becomes several short cues."""
    text = ("So the thing about ribbon microphones is that they are fragile, and you should never blow into "
            "them, because the ribbon can stretch and sag.")
    assert len(text) > 130
    cues = subtitle_cues([Segment(10.0, 19.0, text)])
    assert len(cues) >= 2
    assert " ".join(" ".join(c.lines) for c in cues) == text
    assert all(len(line) <= 42 for c in cues for line in c.lines) and all(len(c.lines) <= 2 for c in cues)
    assert cues[0].start_s == 10.0 and cues[-1].end_s == 19.0
    assert all(c.end_s - c.start_s <= 7.0 for c in cues)


def test_highlight_words(spoken_segments):
    options = SubtitleOptions(highlight_words=True)
    cues = _srt_cues(WRITERS["srt"](spoken_segments[:3], INFO, options=options))
    words = [w for s in spoken_segments[:3] for w in s.words]
    assert len(cues) == len(words)
    underlined = [re.findall(r"<u>(.*?)</u>", "\n".join(lines)) for _, _, lines in cues]
    assert [u for found in underlined for u in found] == [w.text.strip() for w in words]
    assert all(len(found) == 1 for found in underlined)
    for (start, end, _), (next_start, _, _) in zip(cues, cues[1:]):
        assert start < end <= next_start
    vtt = WRITERS["vtt"](spoken_segments[:3], INFO, options=options)
    assert vtt.count("<u>") == len(words)


def test_write_subtitles_of_masked_segments(spoken_segments, tmp_path):
    """The generic writer takes any segments: a masked transcript becomes SRT, VTT, txt and JSON."""
    masked = [Segment(s.start_s, s.end_s, s.text.replace("ass", "a**"),
                      tuple(Word(w.start_s, w.end_s, w.text.replace("ass", "a**"), w.probability) for w in s.words))
              for s in spoken_segments]
    paths = [write_subtitles(masked, tmp_path / f"clean.{suffix}") for suffix in ("srt", "vtt", "txt", "json")]
    assert [p.name for p in paths] == ["clean.srt", "clean.vtt", "clean.txt", "clean.json"]
    for path in paths:
        text = path.read_text()
        assert "a**." in text and " ass" not in text
    assert paths[0].read_text() == WRITERS["srt"](masked, INFO)
    document = json.loads(paths[3].read_text())
    assert segments_from_json(document) == [Segment(s.start_s, s.end_s, s.text, s.words) for s in masked]
    write_subtitles(masked, tmp_path / "clean.subs", format="vtt")
    assert (tmp_path / "clean.subs").read_text().startswith("WEBVTT")
    with pytest.raises(ParameterError, match="'docx'"):
        write_subtitles(masked, tmp_path / "clean.docx")
    with pytest.raises(ParameterError, match="malformed"):
        segments_from_json({"segments": [{"start_s": 0.0}]})


@pytest.mark.parametrize(
    ("options", "match"),
    [({"max_line_width": 5}, "max_line_width"), ({"max_line_count": 0}, "max_line_count"),
     ({"min_cue_s": 8.0}, "min_cue_s"), ({"max_gap_s": 0.0}, "max_gap_s")],
)
def test_bad_subtitle_options(options, match):
    with pytest.raises(ParameterError, match=match):
        SubtitleOptions(**options)


@pytest.fixture(scope="module")
def speech_16k() -> np.ndarray:
    """Front_Center, silence, Front_Center, 40 s of silence, Front_Center; 16 kHz mono."""
    if not FRONT_CENTER.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    voice = audiokit.read(FRONT_CENTER, sample_rate=16000, mono=True).samples[0]
    gap = np.zeros(3 * 16000, np.float32)
    return np.concatenate([gap, voice, gap, voice, np.zeros(40 * 16000, np.float32), voice, gap])


@pytest.mark.parametrize("block", [1, 511, 16000, 262144, None])
def test_chunked_equals_whole(speech_16k, block):
    block = block or speech_16k.shape[0]
    whole = list(speech_chunks([speech_16k]))
    blocks = (speech_16k[i : i + block] for i in range(0, speech_16k.shape[0], block))
    if block == 1:
        blocks = (speech_16k[i : i + 997] for i in range(0, speech_16k.shape[0], 997))
    chunked = list(speech_chunks(blocks))
    assert [c.to_dict() for c in chunked] == [c.to_dict() for c in whole]
    for a, b in zip(chunked, whole):
        np.testing.assert_array_equal(a.samples, b.samples)


def test_chunks_cover_speech_and_map_back(speech_16k):
    chunks = list(speech_chunks([speech_16k]))
    voice_s = audiokit.probe(FRONT_CENTER).duration_s
    speech_starts = [3.0, 6.0 + voice_s, 46.0 + 2 * voice_s]
    assert len(chunks) == 2  # the first two utterances merge, the third is 40 s later
    assert chunks[0].start_s <= speech_starts[0] and chunks[1].start_s <= speech_starts[2]
    assert chunks[1].start_s > speech_starts[1] + voice_s
    for chunk in chunks:
        np.testing.assert_array_equal(chunk.samples, speech_16k[chunk.start : chunk.start + chunk.samples.shape[0]])
        assert chunk.duration_s <= 30.0


def test_long_speech_is_split_into_bounded_chunks_with_bounded_memory(speech_16k):
    """Ten minutes of back-to-back speech: chunks <= 30 s, contiguous, buffer never above ~1 minute."""
    voice = speech_16k[3 * 16000 : 3 * 16000 + 22000]
    long = np.tile(voice, 10 * 60 * 16000 // voice.shape[0])
    chunker = SpeechChunker(VadOptions())
    detector = AllSpeech()
    chunks, largest_buffer = [], 0
    for i in range(0, long.shape[0], 16000):
        block = long[i : i + 16000]
        chunks += chunker.process(block, detector.process(block))
        largest_buffer = max(largest_buffer, chunker._buffer.shape[0])
    chunks += chunker.flush(detector.flush())
    assert largest_buffer <= 61 * 16000
    assert all(c.duration_s <= 30.0 for c in chunks)
    assert sum(c.samples.shape[0] for c in chunks) == long.shape[0]
    assert all(a.start + a.samples.shape[0] == b.start for a, b in zip(chunks, chunks[1:]))


def test_silence_and_noise_give_no_chunks(rng):
    assert list(speech_chunks([np.zeros(10 * 16000, np.float32)])) == []
    noise = (0.05 * rng.standard_normal(10 * 16000)).astype(np.float32)
    assert list(speech_chunks([noise])) == []
