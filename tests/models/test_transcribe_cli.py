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
    assert result.stderr == ""  # no progress bar off a terminal, and nothing else to say


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


@pytest.fixture(scope="module")
def two_sentences(tmp_path_factory) -> Path:
    """Two espeak-ng sentences with a pause (tests/_episodes.py), about 9 s."""
    from _episodes import Line, available, build_episode

    if not available():
        pytest.skip("needs libespeak-ng (Debian package espeak-ng)")
    episode = build_episode([
        Line("Welcome back to the show about sound and the people who make it.", voice="en-us", pause_before_s=0.5),
        Line("Thank you for having me, it is a pleasure to be here.", voice="en-gb-x-rp", pause_before_s=1.5),
    ])
    return episode.write(tmp_path_factory.mktemp("cli") / "two.wav")


def test_subtitle_options_and_defaults(two_sentences, tmp_path):
    result = CliRunner().invoke(transcribe, [
        str(two_sentences), "-o", str(tmp_path), "-f", "srt,vtt,txt", "--max-line-width", "20",
        "--max-line-count", "1", "--initial-prompt", "A podcast about sound.", "--json",
    ])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)[0]
    assert document["info"]["backend"] == "faster"  # the default backend
    assert "welcome back" in document["text"].lower() and "pleasure" in document["text"].lower()
    srt = (tmp_path / "two.srt").read_text()
    cues = [block.split("\n") for block in srt.strip().split("\n\n")]
    assert len(cues) >= 5
    for cue in cues:
        assert len(cue) == 3 and len(cue[2]) <= 20, cue  # index, times, one line
    assert (tmp_path / "two.vtt").read_text().startswith("WEBVTT")
    lines = (tmp_path / "two.txt").read_text().splitlines()
    assert len(lines) == len(cues) and all(len(line) <= 20 for line in lines)


def test_highlight_words_without_fallback(two_sentences, tmp_path):
    result = CliRunner().invoke(transcribe, [
        str(two_sentences), "-o", str(tmp_path), "-f", "srt", "--highlight-words",
        "--temperature-increment-on-fallback", "0", "--no-vad", "--beam-size", "1",
    ])
    assert result.exit_code == 0, result.output
    srt = (tmp_path / "two.srt").read_text()
    cues = srt.strip().split("\n\n")
    assert all(cue.count("<u>") == 1 for cue in cues)
    assert len(cues) >= 20  # one cue per word


def test_bad_subtitle_option_is_usage_error(front_center, tmp_path):
    result = CliRunner().invoke(transcribe, [str(front_center), "-o", str(tmp_path), "--max-line-width", "3"])
    assert result.exit_code == 2 and "max-line-width" in result.stderr


def test_a_warning_names_its_file(tmp_path):
    """Noise has no speech: the warning says which input of the batch it is about."""
    noise = Path("/usr/share/sounds/alsa/Noise.wav")
    if not noise.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Noise.wav)")
    result = CliRunner().invoke(transcribe, [str(FRONT_CENTER), str(noise), "-o", str(tmp_path), "-f", "txt",
                                             "--beam-size", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"audiokit: warning: {noise}: Silero VAD heard no speech in the input; the transcript is empty\n"
    assert (tmp_path / "Noise.txt").read_text() == ""
