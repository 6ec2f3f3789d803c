"""docs/reliability.md's table and the figures quoted from it are benchmarks/results/reliability.json's."""

from __future__ import annotations

import re
from pathlib import Path

from _measure import table_lines
from _results import RESULTS_DIR, read_results

DOC = Path(__file__).parents[2] / "docs" / "reliability.md"
RELIABILITY = RESULTS_DIR / "reliability.json"
#: the case whose refusal reads only a header, quoted as the floor of every peak
HEADER_ONLY_CASE = "WAV claiming 1 GHz"


def _corpus() -> dict:
    return read_results(RELIABILITY)["corpus"]


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_table_is_the_recorded_rows():
    doc_lines = _doc().splitlines()
    lines = table_lines(_corpus()["rows"])
    start = doc_lines.index(lines[0])
    assert doc_lines[start:start + len(lines)] == lines
    assert not doc_lines[start + len(lines)].startswith("|"), "docs/reliability.md's table has rows the file lacks"


def test_quoted_figures_are_the_recorded_rows():
    rows = _corpus()["rows"]
    refusals = [row for row in rows if row["kind"] != "ok"]
    slowest = max(refusals, key=lambda row: row["seconds"])
    largest = max(refusals, key=lambda row: row["peak_mib"])
    header_only = max(row["peak_mib"] for row in rows if row["case"] == HEADER_ONLY_CASE)
    doc = " ".join(_doc().split())
    expected = [f"the slowest refusal in the table took {slowest['seconds']:.3f} s ({slowest['case']}, "
                f"{slowest['operation']}",
                f"the largest peak of a refusal was {largest['peak_mib']:.0f} MiB ({largest['case']}, "
                f"{largest['operation']}",
                f"({HEADER_ONLY_CASE} below) peaks at {header_only:.0f} MiB"]
    for quoted in expected:
        assert quoted in doc, f"docs/reliability.md does not say {quoted!r}"
    loads = _corpus()["load_average_before"], _corpus()["load_average_after"]
    assert re.search(rf"load average {min(loads):.1f}-{max(loads):.1f}\b", doc), loads
