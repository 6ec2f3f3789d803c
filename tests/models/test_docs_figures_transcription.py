"""docs/transcription.md's long-form and model tables quote benchmarks/results/longform.json and
transcribe_models.json, rounded as shown."""

from __future__ import annotations

import re
from pathlib import Path

from _results import RESULTS_DIR, read_results

from audiokit.models.whisper import DEFAULT_MODEL

DOC = Path(__file__).parents[2] / "docs" / "transcription.md"
LONGFORM = RESULTS_DIR / "longform.json"
#: the episodes tests/models/test_longform.py records, each a row of the table
EPISODES = ("2 min", "10 min", "30 min")


def _systems_cells(figures: dict) -> list[str]:
    return [f"{100 * figures['wer']:.2f} %", str(figures["sentences_under_80pct"]), str(figures["sentences_lost"]),
            f"{figures['lowest_sentence_kept']:.2f}"]


def longform_row(key: str, entry: dict) -> str:
    """The table row of one ``episodes.<key>`` entry of longform.json, as docs/transcription.md writes it."""
    times = entry["word_times"]
    cells = [key, f"{entry['duration_s']:.0f} s", str(entry["sentences"]), *_systems_cells(entry["audiokit"]),
             *_systems_cells(entry["faster_whisper"]), f"{times['matched_words']}/{times['script_words']}",
             f"{100 * times['share_within_tolerance']:.1f} %"]
    return "| " + " | ".join(cells) + " |"


def test_longform_table_is_the_recorded_results():
    episodes = read_results(LONGFORM)["episodes"]
    assert sorted(episodes) == sorted(EPISODES), "longform.json lacks an episode: run test_longform.py's slow cases"
    doc = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d+ min \|.*$", doc, re.MULTILINE)
    assert rows == [longform_row(key, episodes[key]) for key in EPISODES]
    loads = [entry[when] for entry in episodes.values() for when in ("load_average_before", "load_average_after")]
    quoted = f"({min(loads):.1f} to {max(loads):.1f} in this run"
    assert quoted in " ".join(doc.split()), f"docs/transcription.md does not quote the run's load as {quoted!r}"


MODELS = RESULTS_DIR / "transcribe_models.json"


def models_row(name: str, figures: dict) -> str:
    """The table row of one ``models.<name>`` entry of transcribe_models.json, as docs/transcription.md writes it."""
    label = f"`{name}` (default)" if name == DEFAULT_MODEL else f"`{name}`"
    cells = [label, f"{100 * figures['wer']:.2f} %", str(figures["sentences_under_80pct"]),
             str(figures["sentences_lost"]), f"{figures['lowest_sentence_kept']:.2f}",
             f"{figures['planted_flagged']} of {read_results(MODELS)['input']['planted']}",
             f"{figures['wall_s']:.1f}", f"{figures['cpu_s']:.1f}"]
    return "| " + " | ".join(cells) + " |"


def test_models_table_is_the_recorded_results():
    models = read_results(MODELS)["models"]
    doc = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(?:tiny\.en|base)`.*\| \d+\.\d \|$", doc, re.MULTILINE)
    assert rows == [models_row(name, figures) for name, figures in models.items()]
    both = {row["index"] for row in models["tiny.en"]["sentences_under_80pct_list"]} & {
        row["index"] for row in models["base"]["sentences_under_80pct_list"]}
    assert f"sentences: {len(both)} are under 80 % with both" in " ".join(doc.split())
