"""Moderation evaluated end to end on espeak-ng speech: flag precision/recall and bleep time accuracy.

The set: sentences spoken by espeak-ng (en-us, 150 wpm), each planted word
or phrase synthesized on its own between its sentence's prefix and suffix,
with 60 ms pauses, so its exact samples are known; plus clean sentences and
allow-list traps (Scunthorpe, cocktail, Dickens, peacock, assassin, classic
bass, "kill time"). The audio is transcribed once per session (tiny.en, faster-whisper,
2 threads) into the JSON transcript format, which moderate() then reads; the
numbers measured here are recorded in docs/moderation.md. Planted words that
tiny.en mis-hears from espeak-ng in context (whore -> "horror", meth -> "mess",
dickhead -> "big head", suicide -> "his hide", retard -> "retired") are left out:
they measure the recognizer, not moderation.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

import audiokit
from audiokit.models.moderation import bleep, moderate, snap_spans
from audiokit.models.moderation.moderate import MAX_CHUNK_S
from audiokit.models.whisper import VadOptions, transcribe
from audiokit.models.whisper.writers import format_json

#: (prefix, planted words, suffix, category); None for clean sentences and traps
SET = (
    ("Welcome back to the show, everyone.", None, None, None),
    ("That was", "fucking", "stupid.", "profanity"),
    ("What the", "fuck", "is this?", "profanity"),
    ("We visited Scunthorpe last spring.", None, None, None),
    ("This", "shit", "is getting old.", "profanity"),
    ("He ordered a cocktail at the bar.", None, None, None),
    ("I will", "kill you", "tomorrow.", "violence"),
    ("She said he was a", "bitch.", None, "profanity"),
    ("They sold", "cocaine", "in the park.", "drugs"),
    ("The weather was lovely today.", None, None, None),
    ("He is such an", "asshole,", "honestly.", "profanity"),
    ("Charles Dickens wrote many novels.", None, None, None),
    ("Oh", "damn,", "that hurts.", "profanity"),
    ("Cut the", "bullshit", "please.", "profanity"),
    ("The peacock spread its tail.", None, None, None),
    ("You fat", "bastard.", None, "profanity"),
    ("He is a", "motherfucker.", None, "profanity"),
    ("They bought", "heroin", "downtown.", "drugs"),
    ("The assassin escaped through the window.", None, None, None),
    ("He watches", "porn", "all day.", "sexual"),
    ("I want to", "kill myself", "sometimes.", "self-harm"),
    ("We kill time playing cards.", None, None, None),
    ("I will", "shoot up the", "school.", "violence"),
    ("Our guest today is a chef from Paris.", None, None, None),
    ("Shut the", "fuck", "up.", "profanity"),
    ("What a piece of", "crap.", None, "profanity"),
    ("Go", "kill yourself.", None, "self-harm"),
    ("Play that classic bass line again.", None, None, None),
)
SAMPLE_RATE = 22050
#: pause between the pieces of a sentence, and between sentences, s
PIECE_GAP_S, SENTENCE_GAP_S = 0.06, 0.5
#: a flag counts for a planted word when it overlaps the word's span widened by this, s
OVERLAP_SLACK_S = 0.3
#: targets of the issue
MIN_PRECISION, MIN_RECALL = 0.95, 0.95
MIN_ENERGY_REMOVED, MAX_NEIGHBOUR_S = 0.90, 0.050


def _speak(text: str, folder) -> np.ndarray:
    path = folder / "piece.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    audio = audiokit.read(path)
    assert audio.sample_rate == SAMPLE_RATE
    voiced = np.flatnonzero(np.abs(audio.samples[0]) > 1e-3)
    return audio.samples[0, max(0, voiced[0] - 100):voiced[-1] + 100]


@pytest.fixture(scope="module")
def espeak_set(tmp_path_factory):
    """The test set as a 16-bit WAV, with every piece's sample span and the planted ones marked."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs the Debian package espeak-ng")
    folder = tmp_path_factory.mktemp("moderation")
    chunks, pieces, planted, position = [], [], [], 0
    for prefix, word, suffix, category in SET:
        for text in (prefix, word, suffix):
            if text is None:
                continue
            samples = _speak(text, folder)
            pieces.append((position, position + samples.shape[0]))
            if text is word:
                planted.append((position / SAMPLE_RATE, (position + samples.shape[0]) / SAMPLE_RATE, category))
            gap = np.zeros(round(PIECE_GAP_S * SAMPLE_RATE), np.float32)
            chunks += [samples, gap]
            position += samples.shape[0] + gap.shape[0]
        gap = np.zeros(round(SENTENCE_GAP_S * SAMPLE_RATE), np.float32)
        chunks.append(gap)
        position += gap.shape[0]
    path = folder / "set.wav"
    audiokit.write(path, audiokit.Audio(np.concatenate(chunks)[np.newaxis], SAMPLE_RATE))
    return path, pieces, planted


@pytest.fixture(scope="module")
def transcript_json(espeak_set, tmp_path_factory):
    """The set transcribed once as moderate() would (tiny.en, faster-whisper, 10 s chunks), written as JSON."""
    segments, info = transcribe(espeak_set[0], backend="faster", num_threads=2,
                                vad_options=VadOptions(max_chunk_s=MAX_CHUNK_S))
    path = tmp_path_factory.mktemp("transcript") / "set.json"
    path.write_text(format_json(list(segments), info), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def moderated(espeak_set, transcript_json, tmp_path_factory):
    """moderate() on the set with its transcript, bleeping with a tone."""
    out = tmp_path_factory.mktemp("bleeped") / "set.clean.wav"
    return moderate(espeak_set[0], transcript=transcript_json, bleep=out), out


def _score(flags, planted) -> tuple[int, int, list]:
    """True positives, false positives, and (flag, planted index) pairs."""
    used, pairs, false = set(), [], 0
    for flag in (f for f in flags if f.source == "transcript"):
        hit = next((i for i, (start, end, category) in enumerate(planted) if i not in used and category == flag.category
                    and flag.start_s < end + OVERLAP_SLACK_S and flag.end_s > start - OVERLAP_SLACK_S), None)
        if hit is None:
            false += 1
        else:
            used.add(hit)
            pairs.append((flag, hit))
    return len(used), false, pairs


def test_precision_and_recall_on_speech(espeak_set, moderated):
    result, _ = moderated
    planted = espeak_set[2]
    true, false, _ = _score(result.flags, planted)
    precision = true / max(1, true + false)
    recall = true / len(planted)
    print(f"\nmoderation on espeak-ng speech: {true}/{len(planted)} planted found, {false} false; "
          f"precision {precision:.3f} recall {recall:.3f}")
    assert precision >= MIN_PRECISION
    assert recall >= MIN_RECALL
    assert result.label.explicit and result.label.policy == "podcast"


def test_bleep_covers_each_word(espeak_set, moderated):
    """Mute the snapped spans: >= 90 % of each word's energy goes, <= 50 ms of other pieces is touched."""
    path, pieces, planted = espeak_set
    result, _ = moderated
    audio = audiokit.read(path)
    _, _, pairs = _score(result.flags, planted)
    spans = snap_spans(audio.samples, audio.sample_rate, [(flag.start_s, flag.end_s) for flag, _ in pairs])
    muted, _ = bleep(audio, spans, mode="mute")
    changed = muted.samples[0] != audio.samples[0]
    worst_removed, worst_touched, misses = 1.0, 0.0, []
    for (flag, index), (start_s, end_s) in zip(pairs, spans):
        first, stop = round(planted[index][0] * SAMPLE_RATE), round(planted[index][1] * SAMPLE_RATE)
        before = float(np.sum(audio.samples[0, first:stop].astype(np.float64) ** 2))
        after = float(np.sum(muted.samples[0, first:stop].astype(np.float64) ** 2))
        removed = 1 - after / before
        lo, hi = round((start_s - 0.1) * SAMPLE_RATE), round((end_s + 0.1) * SAMPLE_RATE)
        touched = sum(int(changed[max(a, lo):min(b, hi)].sum()) for a, b in pieces if (a, b) != (first, stop)
                      and b > lo and a < hi) / SAMPLE_RATE
        worst_removed, worst_touched = min(worst_removed, removed), max(worst_touched, touched)
        if removed < MIN_ENERGY_REMOVED or touched > MAX_NEIGHBOUR_S:
            misses.append((flag.text, round(removed, 3), round(touched * 1000, 1)))
    print(f"\nbleep time accuracy: worst energy removed {worst_removed:.3f}, worst neighbour touched "
          f"{worst_touched * 1000:.1f} ms over {len(pairs)} words; misses {misses}")
    assert not misses


def test_bleeped_file_keeps_format_and_loudness(espeak_set, moderated):
    path = espeak_set[0]
    result, out = moderated
    before, after = audiokit.probe(path), audiokit.probe(out)
    assert (after.codec, after.sample_rate, after.num_channels, after.num_frames, after.bit_depth) == (
        before.codec, before.sample_rate, before.num_channels, before.num_frames, before.bit_depth)
    loud_in = audiokit.loudness.measure(audiokit.read(path).samples, SAMPLE_RATE).integrated_lufs
    loud_out = audiokit.loudness.measure(audiokit.read(out).samples, SAMPLE_RATE).integrated_lufs
    assert abs(loud_out - loud_in) < 1.0
    with open(result.bleep.transcript, encoding="utf-8") as handle:
        masked = json.load(handle)
    assert "fucking" not in masked["text"].lower() and "f******" in masked["text"]
    assert len(result.bleep.spans) == sum(f.source == "transcript" for f in result.flags)


def test_transcript_alone_gives_the_same_flags(transcript_json, moderated):
    result, _ = moderated
    alone = moderate(transcript=transcript_json)
    assert alone.loudness is None and alone.spec == ""
    assert [f.to_dict() for f in alone.flags] == [f.to_dict() for f in result.flags if f.source == "transcript"]
    assert alone.label == result.label
