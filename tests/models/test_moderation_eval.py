"""Moderation evaluated end to end on spliced espeak-ng speech: flags, and how much of each word a bleep leaves.

Two sets (tests/models/_spliced.py): the tuning set, on which the lexicon,
the transcription chunking and the bleep's constants were chosen (en-us,
150 wpm, 60 ms gaps), and a held-out set in three parts with other scripts,
words, traps, voices (en-gb 175 wpm; en-us+f3 135 wpm over a music bed 18 dB
down; en-gb-x-rp 160 wpm over a bed 12 dB down) and gaps. Every planted word
or phrase is synthesized on its own, so its samples and its neighbours' are
exact. Each episode is transcribed once per session as moderate() would
(tiny.en, faster-whisper, 2 threads, 10 s VAD chunks) into the JSON
transcript format, and moderate() reads it and writes a tone-bleeped 16-bit
WAV: the file a user receives, on which the bleep is measured. Each test
writes its figures to ``benchmarks/results/bleep_eval.json`` before its
assertions (``flags.<set>``: precision and recall; ``bleep.<set>``: each
bleeped word's residual and its worst neighbour); docs/moderation.md quotes
that file (tests/models/test_docs_figures_moderation.py checks it).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _results import RESULTS_DIR, checkout_state, load_average, record, utc_now
from _spliced import (
    SAMPLE_RATE,
    Episode,
    have_espeak,
    held_out_episodes,
    kept_samples,
    piece_energy,
    tuning_episode,
)

import audiokit
from audiokit.models.moderation import moderate
from audiokit.models.moderation.moderate import MAX_CHUNK_S
from audiokit.models.whisper import VadOptions, transcribe
from audiokit.models.whisper.writers import format_json

#: a flag counts for a planted word when it overlaps the word's span widened by this, s
OVERLAP_SLACK_S = 0.3
#: targets of the issues: flags on the tuning set, and the bleep on every set
MIN_PRECISION, MIN_RECALL = 0.95, 0.95
MAX_RESIDUAL_DB, MIN_NEIGHBOUR_KEPT = -30.0, 0.90
#: the crossfade at each end of a bleep (bleep()'s fade_ms): samples in it count as kept, s
FADE_S = 0.005
#: residuals are recorded clamped here: a word with nothing left outside the crossfades would be -inf dB
RESIDUAL_FLOOR_DB = -99.0
#: where the figures go: ``flags.<set>`` and ``bleep.<set>`` (set: "tuning", "held-out-a", ...)
RESULTS = RESULTS_DIR / "bleep_eval.json"


def _moderated(episode: Episode, folder) -> dict:
    """Write, transcribe, moderate and tone-bleep one episode."""
    source = folder / f"{episode.name}.wav"
    audiokit.write(source, episode.audio(), bit_depth=16)
    segments, info = transcribe(source, backend="faster", num_threads=2, vad_options=VadOptions(max_chunk_s=MAX_CHUNK_S))
    transcript = folder / f"{episode.name}.json"
    transcript.write_text(format_json(list(segments), info), encoding="utf-8")
    out = folder / f"{episode.name}.clean.wav"
    result = moderate(source, transcript=transcript, bleep=out)
    return {"episode": episode, "source": source, "transcript": transcript, "out": out, "result": result,
            "measured": {**checkout_state(), "date_utc": utc_now(), "load_average": load_average()}}


def _record(section: str, run: dict, test: str, figures: dict) -> None:
    """Write one set's figures to :data:`RESULTS` as ``<section>.<set name>``, with where they were measured."""
    episode = run["episode"]
    record(RESULTS, (section, episode.name), {
        "test": f"tests/models/test_moderation_eval.py::{test}", "voice": episode.voice,
        "speed_wpm": episode.speed_wpm, "music_bed": bool(episode.bed.any()), **figures, **run["measured"]})


@pytest.fixture(scope="module")
def tuning(tmp_path_factory) -> dict:
    if not have_espeak():
        pytest.skip("needs the Debian package espeak-ng")
    return _moderated(tuning_episode(), tmp_path_factory.mktemp("tuning"))


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> list[dict]:
    if not have_espeak():
        pytest.skip("needs the Debian package espeak-ng")
    folder = tmp_path_factory.mktemp("held-out")
    return [_moderated(episode, folder) for episode in held_out_episodes()]


def _score(flags, planted) -> tuple[int, int, list]:
    """True positives, false positives, and (flag, planted piece) pairs."""
    used, pairs, false = set(), [], 0
    for flag in (f for f in flags if f.source == "transcript"):
        hit = next((i for i, piece in enumerate(planted) if i not in used and piece.category == flag.category
                    and flag.start_s < piece.stop / SAMPLE_RATE + OVERLAP_SLACK_S
                    and flag.end_s > piece.first / SAMPLE_RATE - OVERLAP_SLACK_S), None)
        if hit is None:
            false += 1
        else:
            used.add(hit)
            pairs.append((flag, planted[hit]))
    return len(used), false, pairs


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _heard(run: dict) -> list:
    """The planted pieces whose every word the recognizer wrote within 1 s of them."""
    document = json.loads(run["transcript"].read_text(encoding="utf-8"))
    timed = [(w["start_s"], w["end_s"], _words(w["text"])) for s in document["segments"] for w in s["words"]]
    heard = []
    for piece in run["episode"].planted:
        near = {word for start, end, words in timed for word in words
                if start < piece.stop / SAMPLE_RATE + 1 and end > piece.first / SAMPLE_RATE - 1}
        if set(_words(piece.text)) <= near:
            heard.append(piece)
    return heard


def _flag_figures(run: dict) -> dict:
    """One set's flags against its planted words, and against the words the recognizer wrote."""
    planted = run["episode"].planted
    found, false, pairs = _score(run["result"].flags, planted)
    flagged = {id(piece) for _, piece in pairs}
    heard = _heard(run)
    script = set(_words(" ".join(piece.text for piece in run["episode"].pieces)))
    planted_words = set(_words(" ".join(piece.text for piece in planted)))
    return {"planted": len(planted), "found": found, "false_flags": false,
            "precision": found / max(1, found + false), "recall": found / len(planted),
            "heard": len(heard), "heard_flagged": sum(id(piece) in flagged for piece in heard),
            "heard_not_flagged": [piece.text for piece in heard if id(piece) not in flagged],
            # false flags whose words the script has: the lexicon's fault, not the recognizer's
            "flags_on_clean_words": [flag.text for flag in run["result"].flags if flag.source == "transcript"
                                     and set(_words(flag.text)) <= script - planted_words]}


def test_flags_on_the_tuning_set(tuning):
    figures = _flag_figures(tuning)
    _record("flags", tuning, "test_flags_on_the_tuning_set", figures)
    assert figures["precision"] >= MIN_PRECISION and figures["recall"] >= MIN_RECALL
    assert tuning["result"].label.explicit and tuning["result"].label.policy == "podcast"


@pytest.mark.slow
def test_flags_on_the_held_out_set(held_out):
    """End-to-end precision and recall on held-out speech are the recognizer's as much as moderation's: they
    are recorded (docs/moderation.md), and what moderation controls is asserted: every planted word the
    recognizer wrote is flagged, and no flag falls on words the speaker said in a clean sentence or a trap
    (a false flag on a word the recognizer made up, "Dickinson" -> "dick in some", the lexicon cannot see)."""
    sets = {}
    for run in held_out:
        sets[run["episode"].name] = figures = _flag_figures(run)
        _record("flags", run, "test_flags_on_the_held_out_set", figures)
    assert all(figures["heard_flagged"] == figures["heard"] for figures in sets.values()), sets
    made_by_moderation = [text for figures in sets.values() for text in figures["flags_on_clean_words"]]
    assert not made_by_moderation, f"flags on words the speaker said in a clean sentence: {made_by_moderation}"


def _coverage(run: dict) -> list[tuple[str, float, float]]:
    """(text, residual dB, smallest neighbour share kept) for each flagged planted word."""
    episode = run["episode"]
    kept = kept_samples(run["source"], run["out"], FADE_S)
    _, _, pairs = _score(run["result"].flags, episode.planted)
    rows = []
    for _, piece in pairs:
        energy = piece_energy(episode.speech, piece)
        residual_db = 10 * np.log10(max(piece_energy(episode.speech, piece, kept) / energy, 1e-30))
        neighbours = [piece_energy(episode.speech, n, kept) / piece_energy(episode.speech, n)
                      for n in episode.neighbours(piece)]
        rows.append((piece.text, max(residual_db, RESIDUAL_FLOOR_DB), min(neighbours, default=1.0)))
    return rows


def _check_coverage(runs: list[dict], test: str) -> None:
    misses = []
    for run in runs:
        rows = _coverage(run)
        _record("bleep", run, test, {
            "words_bleeped": len(rows), "residual_floor_db": RESIDUAL_FLOOR_DB,
            "worst_residual_db": max((db for _, db, _ in rows), default=None),
            "worst_neighbour_kept": min((kept for _, _, kept in rows), default=None),
            "words": [{"text": text, "residual_db": db, "neighbour_kept": kept} for text, db, kept in rows]})
        misses += [row for row in rows if row[1] > MAX_RESIDUAL_DB or row[2] < MIN_NEIGHBOUR_KEPT]
    assert not misses


def test_bleep_covers_each_word_on_the_tuning_set(tuning):
    """In the tone-bleeped file: each word's energy left <= -30 dB, each neighbour keeps >= 90 % of its own."""
    _check_coverage([tuning], "test_bleep_covers_each_word_on_the_tuning_set")


@pytest.mark.slow
def test_bleep_covers_each_word_on_the_held_out_set(held_out):
    _check_coverage(held_out, "test_bleep_covers_each_word_on_the_held_out_set")


def test_bleeped_file_keeps_format_and_loudness(tuning):
    result, source, out = tuning["result"], tuning["source"], tuning["out"]
    before, after = audiokit.probe(source), audiokit.probe(out)
    assert (after.codec, after.sample_rate, after.num_channels, after.num_frames, after.bit_depth) == (
        before.codec, before.sample_rate, before.num_channels, before.num_frames, before.bit_depth)
    loud_in = audiokit.loudness.measure(audiokit.read(source).samples, SAMPLE_RATE).integrated_lufs
    loud_out = audiokit.loudness.measure(audiokit.read(out).samples, SAMPLE_RATE).integrated_lufs
    assert abs(loud_out - loud_in) < 1.0
    with open(result.bleep.transcript, encoding="utf-8") as handle:
        masked = json.load(handle)
    assert "fucking" not in masked["text"].lower() and "f******" in masked["text"]
    assert len(result.bleep.spans) == sum(f.source == "transcript" for f in result.flags)


def test_transcript_alone_gives_the_same_flags(tuning):
    result = tuning["result"]
    alone = moderate(transcript=tuning["transcript"])
    assert alone.loudness is None and alone.spec == ""
    assert [f.to_dict() for f in alone.flags] == [f.to_dict() for f in result.flags if f.source == "transcript"]
    assert alone.label == result.label


def test_doc_counts_match_the_sets():
    """docs/moderation.md's table of the evaluation sets quotes the sets' own counts."""
    from pathlib import Path

    from _spliced import HELD_OUT_A, HELD_OUT_B, HELD_OUT_C, TUNING, counts

    doc = (Path(__file__).parents[2] / "docs" / "moderation.md").read_text(encoding="utf-8")
    for name, sentences in (("tuning", TUNING), ("held-out A", HELD_OUT_A), ("held-out B", HELD_OUT_B),
                            ("held-out C", HELD_OUT_C)):
        expected = counts(sentences)
        row = re.search(rf"^\| {name} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", doc, re.MULTILINE)
        assert row, f"no row for {name} in docs/moderation.md"
        assert [int(x) for x in row.groups()] == [expected[k] for k in ("sentences", "planted", "clean", "traps")]
