"""``audiokit transcribe`` through click's CliRunner, on the command object."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiokit.cli.transcribe import transcribe

FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")


@pytest.fixture(scope="module")
def front_center() -> Path:
    if not FRONT_CENTER.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    return FRONT_CENTER


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("AUDIOKIT_CACHE", str(tmp_path_factory.getbasetemp() / "cli-cache"))


def test_writes_requested_formats_and_json(front_center, tmp_path):
    result = CliRunner().invoke(
        transcribe,
        [str(front_center), "-o", str(tmp_path), "-f", "srt,json", "--backend", "faster", "--beam-size", "1", "--json"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document[0]["outputs"] == [str(tmp_path / "Front_Center.srt"), str(tmp_path / "Front_Center.json")]
    assert document[0]["info"]["backend"] == "faster"
    assert "front center" in document[0]["text"].lower()
    assert sorted(os.listdir(tmp_path)) == ["Front_Center.json", "Front_Center.srt"]
    assert json.loads((tmp_path / "Front_Center.json").read_text())["language"] == "en"
    assert "Front_Center.wav: " in result.stderr  # progress on stderr


def test_partial_failure_exits_3(front_center, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk")
    result = CliRunner().invoke(
        transcribe, [str(front_center), str(broken), "-o", str(tmp_path / "out"), "-f", "txt", "--backend", "faster"]
    )
    assert result.exit_code == 3
    assert result.stdout.strip() == str(tmp_path / "out" / "Front_Center.txt")
    assert "broken.wav" in result.stderr
    assert not (tmp_path / "out" / "broken.txt").exists()


def test_bad_format_is_usage_error(front_center, tmp_path):
    result = CliRunner().invoke(transcribe, [str(front_center), "-o", str(tmp_path), "-f", "srt,docx"])
    assert result.exit_code == 2
    assert "docx" in result.stderr
