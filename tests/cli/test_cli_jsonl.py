"""``--jsonl`` on the batch commands: one JSON object per input and line, failures included, exit 3 for a partial batch.

Inputs are alsa-utils' real spoken recordings and a file that is not audio.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiokit.cli.main import cli

ALSA = Path("/usr/share/sounds/alsa")
#: Two recordings of a man saying the channel's name (alsa-utils), and what he says.
SPOKEN = {"Front_Center.wav": "front center", "Rear_Left.wav": "rear left"}
EXIT_PARTIAL = 3


@pytest.fixture
def inputs(tmp_path) -> list[str]:
    """The two recordings, then a file that is not audio."""
    if not (ALSA / "Front_Center.wav").is_file():
        raise AssertionError("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio", encoding="utf-8")
    return [str(ALSA / name) for name in SPOKEN] + [str(broken)]


def _lines(arguments: list[str]) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, arguments)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def _assert_failure_last(documents: list[dict], key: str, broken: str) -> None:
    assert documents[-1][key] == broken
    assert documents[-1]["error"].startswith(f"{broken}: not a readable media file")


def test_analyze_jsonl_has_the_objects_of_json(inputs):
    code, documents = _lines(["analyze", *inputs, "--jsonl"])
    assert code == EXIT_PARTIAL
    assert [document["file"] for document in documents] == inputs
    _assert_failure_last(documents, "file", inputs[-1])
    listed = CliRunner().invoke(cli, ["analyze", *inputs, "--json"])
    assert listed.exit_code == EXIT_PARTIAL and json.loads(listed.stdout) == documents


def test_tag_jsonl_one_line_per_file_and_model(inputs):
    code, documents = _lines(["tag", *inputs, "--jsonl", "--top", "3"])
    assert code == EXIT_PARTIAL
    assert [(document["file"], document.get("model")) for document in documents] == [
        (inputs[0], "MTT_musicnn"), (inputs[1], "MTT_musicnn"), (inputs[2], None)]
    for document in documents[:2]:
        assert len(document["tags"]) == 3 and "embedding" not in document
        scores = [tag["score"] for tag in document["tags"]]
        assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    _assert_failure_last(documents, "file", inputs[-1])


def test_transcribe_jsonl_one_line_per_input(inputs, tmp_path):
    out = tmp_path / "subs"
    code, documents = _lines(["transcribe", *inputs, "-o", str(out), "-f", "txt", "--jsonl", "--quiet"])
    assert code == EXIT_PARTIAL
    assert [document["path"] for document in documents] == inputs
    for document, (name, words) in zip(documents, SPOKEN.items()):
        heard = "".join(c for c in document["text"].lower() if c.isalpha() or c == " ").split()
        assert heard == words.split(), document["text"]
        assert document["outputs"] == [str(out / name.replace(".wav", ".txt"))]
        assert Path(document["outputs"][0]).read_text(encoding="utf-8").strip() == document["text"].strip()
    _assert_failure_last(documents, "path", inputs[-1])
