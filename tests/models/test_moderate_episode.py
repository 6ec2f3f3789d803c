"""``moderate`` end to end on a generated 30-minute episode, the way a creator runs it.

The standard episode (tests/_episodes.py) reads its script over and over;
each of its 8 readings of "Honestly, the old mixing desk was a real pain in
the ass." plants "ass" at a known sample, in another voice, speed, bed or
room. Two journeys: ``moderate()`` transcribes the file itself (its
defaults: faster backend, tiny.en, VAD chunks of ``MAX_CHUNK_S``), or it is
given the JSON transcript that ``transcribe()`` (``audiokit transcribe``,
and ingest) writes with its defaults; then it flags and tone-bleeps.

Asserted: no sentence of the script is lost from the masked transcript
(each keeps at least 20 % of its words: a transcript that falls into a loop
of "Bye." loses hundreds), and every planted word that was flagged keeps at
most -30 dB of its energy in the bleeped file (measured as in
test_moderation_eval.py: samples equal to the input, and the crossfades,
count as kept); from ``transcribe()``'s transcript, every reading is
flagged. Recorded: which planted words were flagged (recall is the
recognizer's: tiny.en writes "last" or "rest" for some readings in
moderate's own shorter chunks), and the share of the word before each one
that the bleep kept (in connected speech "the" runs into "ass" with no
pause, so the edge search has no pause to stop at). Figures:
benchmarks/results/moderate_episode.json, ``episodes.30 min`` and
``episodes.30 min, transcript first``; docs/moderation.md quotes them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _episodes import available, episode, sentence_coverage, words_of
from _results import RESULTS_DIR, checkout_state, load_average, record, utc_now
from _spliced import kept_samples

from audiokit.models.moderation import moderate
from audiokit.models.whisper import transcribe
from audiokit.models.whisper.writers import format_json

MINUTES = 30.0
#: the planted word, as the script's normalizer writes it
PLANTED = "ass"
#: targets: a flagged planted word's energy left, and a sentence kept (of its words, in order)
MAX_RESIDUAL_DB, MIN_SENTENCE_KEPT = -30.0, 0.2
#: a flag counts for a planted word when it overlaps the word's span widened by this, s
OVERLAP_SLACK_S = 0.3
#: the crossfade at each end of a bleep (bleep()'s fade_ms), s
FADE_S = 0.005
#: residuals are recorded clamped here (nothing left outside the crossfades would be -inf dB)
RESIDUAL_FLOOR_DB = -99.0
RESULTS = RESULTS_DIR / "moderate_episode.json"
#: the test recorded under each key of ``episodes`` (transcript first or not)
TESTS = {False: "test_thirty_minute_episode_is_moderated_whole_and_every_flagged_planted_word_is_bleeped",
         True: "test_thirty_minute_episode_moderated_from_the_transcribe_commands_transcript"}


def _energy(signal: np.ndarray, first: int, stop: int, keep: np.ndarray | None = None) -> float:
    part = signal[first:stop].astype(np.float64) ** 2
    return float(part.sum() if keep is None else part[keep[first:stop]].sum())


def _moderated_episode(tmp_path, transcript_first: bool) -> dict:
    """Moderate and tone-bleep the 30-minute episode as a creator would; its figures, recorded, and the checks.

    ``transcript_first``: the creator ran ``audiokit transcribe`` (its defaults) and hands that JSON transcript
    to ``moderate``; otherwise ``moderate`` transcribes the file itself.
    """
    if not available():
        pytest.skip("needs libespeak-ng (Debian package espeak-ng)")
    measured = {**checkout_state(), "date_utc": utc_now(), "load_average_before": load_average()}
    ep = episode(MINUTES)
    source = ep.write(tmp_path / "episode.wav")
    out = tmp_path / "episode.clean.wav"
    if transcript_first:
        segments, info = transcribe(source)
        transcript = tmp_path / "episode.json"
        transcript.write_text(format_json(list(segments), info), encoding="utf-8")
        result = moderate(source, transcript=transcript, bleep=out)
    else:
        result = moderate(source, bleep=out)

    masked = json.loads(Path(result.bleep.transcript).read_text(encoding="utf-8"))
    coverage = sentence_coverage(ep, masked["text"])
    signal = ep.samples[0]
    kept = kept_samples(source, out, FADE_S)
    flags = [flag for flag in result.flags if flag.source == "transcript"]
    words = []
    for sentence in ep.sentences:
        for before, word in zip(sentence.words, sentence.words[1:]):
            if words_of(word.text) != [PLANTED]:
                continue
            start_s, end_s = ep.seconds(word.start), ep.seconds(word.end)
            flagged = any(f.start_s < end_s + OVERLAP_SLACK_S and f.end_s > start_s - OVERLAP_SLACK_S for f in flags)
            left = _energy(signal, word.start, word.end, kept) / _energy(signal, word.start, word.end)
            words.append({"start_s": round(start_s, 3), "voice": sentence.voice, "wpm": sentence.words_per_minute,
                          "music": sentence.music, "reverb": sentence.reverb, "flagged": flagged,
                          "residual_db": max(10 * np.log10(max(left, 1e-30)), RESIDUAL_FLOOR_DB),
                          "word_before_kept": _energy(signal, before.start, before.end, kept)
                          / _energy(signal, before.start, before.end)})
    flagged = [word for word in words if word["flagged"]]
    name = TESTS[transcript_first]
    record(RESULTS, ("episodes", f"{MINUTES:g} min" + (", transcript first" if transcript_first else "")), {
        "test": f"tests/models/test_moderate_episode.py::{name}",
        "duration_s": round(ep.duration_s, 3), "sentences": len(ep.sentences),
        "sentences_lost": sum(c < MIN_SENTENCE_KEPT for c in coverage), "lowest_sentence_kept": min(coverage),
        "planted": len(words), "flagged": len(flagged), "residual_floor_db": RESIDUAL_FLOOR_DB,
        "worst_flagged_residual_db": max((w["residual_db"] for w in flagged), default=None),
        "transcript_flags": len(flags), "words": words, **measured, "load_average_after": load_average()})

    lost = [(index, round(c, 2), ep.sentences[index].text) for index, c in enumerate(coverage) if c < MIN_SENTENCE_KEPT]
    assert not lost, lost
    assert len(words) >= 8 and flagged
    assert all(word["residual_db"] <= MAX_RESIDUAL_DB for word in flagged), flagged
    return {"words": words, "flagged": flagged}


@pytest.mark.slow
def test_thirty_minute_episode_is_moderated_whole_and_every_flagged_planted_word_is_bleeped(tmp_path):
    _moderated_episode(tmp_path, transcript_first=False)


@pytest.mark.slow
def test_thirty_minute_episode_moderated_from_the_transcribe_commands_transcript(tmp_path):
    """The same checks on the transcript ``audiokit transcribe`` writes (30 s chunks, as ingest's): there every
    planted reading was written as "ass" in the runs recorded, so all of them must be flagged and bleeped."""
    figures = _moderated_episode(tmp_path, transcript_first=True)
    assert len(figures["flagged"]) == len(figures["words"]), figures["words"]
