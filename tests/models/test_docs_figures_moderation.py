"""docs/moderation.md's figures equal their sources: the English lexicon's size, and the evaluation's results.

The evaluation's tables (flag precision and recall, what a bleep leaves of each
word) quote benchmarks/results/bleep_eval.json, which
tests/models/test_moderation_eval.py writes, rounded as the tables show them;
the 30-minute episode's tables quote benchmarks/results/moderate_episode.json,
which tests/models/test_moderate_episode.py writes, and the chunk-limit table
benchmarks/results/moderation_chunks.json (benchmarks/bench_moderation_chunks.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from _results import RESULTS_DIR, read_results

from audiokit.models.moderation.moderate import MAX_CHUNK_S
from audiokit.models.whisper import VadOptions

ROOT = Path(__file__).parents[2]
LEXICON = ROOT / "models" / "moderation" / "lexicons" / "en.json"
DOC = ROOT / "docs" / "moderation.md"


def test_doc_quotes_the_english_lexicons_counts():
    lexicon = json.loads(LEXICON.read_text(encoding="utf-8"))
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    quoted = re.search(r"\((\d+) terms, (\d+) phrase rules, (\d+) allow-list words\)", doc)
    assert quoted, "docs/moderation.md no longer quotes the lexicon's counts as '(N terms, N phrase rules, N ...)'"
    counts = [int(value) for value in quoted.groups()]
    assert counts == [len(lexicon["terms"]), len(lexicon["phrases"]), len(lexicon["allow"])]
    assert f'"version": "{lexicon["version"]}"' in doc and f'lexicon: "en@{lexicon["version"]}"' in doc


#: tests/models/test_moderation_eval.py's figures, per set (``flags.<set>``, ``bleep.<set>``)
BLEEP_EVAL = RESULTS_DIR / "bleep_eval.json"
#: the sets it evaluates: the tuning set, and the held-out set's three parts
SETS = ("tuning", "held-out-a", "held-out-b", "held-out-c")


def _word(text: str) -> str:
    return text.strip(".,;:!? ")


def residual_cell(entry: dict) -> str:
    """A ``bleep.<set>`` entry's residuals: each above the floor (lowest first, whole dB), then the count at it."""
    floor = entry["residual_floor_db"]
    above = sorted((word for word in entry["words"] if word["residual_db"] > floor), key=lambda w: w["residual_db"])
    at_floor = len(entry["words"]) - len(above)
    cells = [f"{word['residual_db']:.0f} ({_word(word['text'])})" for word in above]
    if at_floor:
        cells.append(f"{'all ' if not above else ''}{at_floor} <= {floor:.0f}")
    return ", ".join(cells)


def bleep_row(name: str, entry: dict) -> str:
    """The row of docs/moderation.md's bleep table for the set ``name``."""
    described = f"{name} ({entry['voice']}, {entry['speed_wpm']} wpm, {'music bed' if entry['music_bed'] else 'no bed'})"
    cells = [described, str(entry["words_bleeped"]), residual_cell(entry), f"{entry['worst_neighbour_kept']:.3f}"]
    return "| " + " | ".join(cells) + " |"


def _worst_residual(entries: list[dict]) -> str:
    words = [word for entry in entries for word in entry["words"]]
    worst = max(words, key=lambda word: word["residual_db"])
    if worst["residual_db"] <= entries[0]["residual_floor_db"]:
        return f"<= {entries[0]['residual_floor_db']:.0f} dB"
    return f"{worst['residual_db']:.0f} dB ({_word(worst['text'])})"


def measure_rows(results: dict) -> list[str]:
    """The figures of docs/moderation.md's evaluation table (tuning, held-out A+B+C), each row up to its target."""
    columns = []
    for names in (SETS[:1], SETS[1:]):
        flags = [results["flags"][name] for name in names]
        bleeps = [results["bleep"][name] for name in names]
        found, false = sum(f["found"] for f in flags), sum(f["false_flags"] for f in flags)
        planted = sum(f["planted"] for f in flags)
        columns.append([f"{found / max(1, found + false):.3f} ({found}/{found + false})",
                        f"{found / planted:.3f} ({found}/{planted})",
                        f"{sum(f['heard_flagged'] for f in flags)}/{sum(f['heard'] for f in flags)}",
                        _worst_residual(bleeps), f"{min(b['worst_neighbour_kept'] for b in bleeps):.3f}"])
    labels = ["flag precision", "flag recall, end to end", "recall on planted words the recognizer wrote",
              "bleep residual, worst word", "neighbour kept, worst"]
    return [f"| {label} | {tuning} | {held_out} |" for label, tuning, held_out in zip(labels, *columns)]


def test_doc_tables_are_the_recorded_evaluation():
    results = read_results(BLEEP_EVAL)
    assert sorted(results["flags"]) == sorted(results["bleep"]) == sorted(SETS), (
        "bleep_eval.json lacks a set: run test_moderation_eval.py's slow cases")
    doc = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (?:tuning|held-out-[a-z]) \(.*$", doc, re.MULTILINE)
    assert rows == [bleep_row(name, results["bleep"][name]) for name in SETS]
    lines = doc.splitlines()
    for row in measure_rows(results):
        assert any(line.startswith(row) for line in lines), f"docs/moderation.md has no row starting {row!r}"
    loads = [entry["load_average"] for section in results.values() for entry in section.values()]
    quoted = f"`load_average` ({min(loads):.1f}-{max(loads):.1f} in this run"
    assert quoted in " ".join(doc.split()), f"docs/moderation.md does not quote the run's load as {quoted!r}"


#: tests/models/test_moderate_episode.py's figures (``episodes.30 min``)
MODERATE_EPISODE = RESULTS_DIR / "moderate_episode.json"


def episode_row(word: dict, floor_db: float) -> str:
    """The row of docs/moderation.md's 30-minute table for one planted reading."""
    setting = ", ".join(part for part in ("music bed" if word["music"] else "", "room" if word["reverb"] else "")
                        if part) or "dry"
    residual = ("not flagged" if not word["flagged"] else f"<= {floor_db:.0f} dB" if word["residual_db"] <= floor_db
                else f"{word['residual_db']:.0f} dB")
    kept = f"{word['word_before_kept']:.2f}" if word["flagged"] else "-"
    return f"| {word['start_s']:.1f} s | {word['voice']}, {word['wpm']} wpm, {setting} | {residual} | {kept} |"


#: the journeys of tests/models/test_moderate_episode.py, in the order docs/moderation.md tables them
JOURNEYS = ("30 min", "30 min, transcript first")


def test_doc_quotes_the_thirty_minute_episode():
    episodes = read_results(MODERATE_EPISODE)["episodes"]
    doc = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d+\.\d s \| .*$", doc, re.MULTILINE)
    assert rows == [episode_row(word, episodes[key]["residual_floor_db"]) for key in JOURNEYS
                    for word in episodes[key]["words"]]
    flat = " ".join(doc.split())
    for key in JOURNEYS:
        entry = episodes[key]
        summary = (f"{entry['flagged']} of its {entry['planted']} readings of the planted word, "
                   f"lost {entry['sentences_lost']} of its {entry['sentences']} sentences")
        assert summary in flat, f"docs/moderation.md does not say {summary!r}"


#: benchmarks/bench_moderation_chunks.py's figures (``limits_s.<limit>``)
MODERATION_CHUNKS = RESULTS_DIR / "moderation_chunks.json"
#: who uses each limit, as the table names them: moderate()'s own, and transcribe()'s default (ingest's too)
CHUNK_USERS = {f"{MAX_CHUNK_S:g}": " (`moderate()`)", f"{VadOptions().max_chunk_s:g}": " (`transcribe()`, ingest)"}


def chunk_row(limit: str, row: dict) -> str:
    """The row of docs/moderation.md's chunk-limit table for one limit."""
    held_out = [row[name] for name in SETS if name != "tuning"]
    found, false, planted = (sum(entry[key] for entry in held_out) for key in ("found", "false_flags", "planted"))
    tuning, episode = row["tuning"], row["30 min"]
    cells = [f"{limit} s{CHUNK_USERS.get(limit, '')}",
             f"{tuning['found']} / {tuning['false_flags']} of {tuning['planted']}", f"{found} / {false} of {planted}",
             f"{episode['planted_flagged']} of {episode['planted']}", str(episode["sentences_under_80pct"])]
    return "| " + " | ".join(cells) + " |"


def test_doc_quotes_the_chunk_limits():
    limits = read_results(MODERATION_CHUNKS)["limits_s"]
    doc_rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if re.match(r"^\| \d+ s[ |]", line)]
    assert doc_rows == [chunk_row(limit, row) for limit, row in limits.items()]
    assert all(row["30 min"]["sentences_lost"] == 0 for row in limits.values())
