"""`audiokit --version`, `audiokit info`, exit codes and error lines, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import audiokit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "example.flac"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audiokit.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"audiokit {audiokit.__version__}"


def test_help_does_not_import_torch_or_compile_kernels():
    code = ("import sys; from audiokit.cli.main import cli; "
            "sys.argv=['audiokit','--help']\n"
            "try:\n    cli()\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, 'numba' in sys.modules, 'av' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False False False"


def test_info_json_on_the_bundled_example():
    result = run("info", str(EXAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    (document,) = json.loads(result.stdout)
    reference = audiokit.read(EXAMPLE)
    assert document["codec"] == "flac" and document["container"] == "flac"
    assert document["sample_rate"] == reference.sample_rate == 44100
    assert document["num_channels"] == reference.num_channels == 2
    assert document["num_frames"] == reference.num_frames
    assert document["bit_depth"] == 16
    assert document["duration_s"] == pytest.approx(reference.duration_s)
    assert document["tags"]["license"] == "MIT"


def test_info_human_output_and_jsonl(tmp_path):
    path = audiokit.write(tmp_path / "a.m4a", audiokit.Audio(np.zeros((1, 4410), np.float32), 44100))
    human = run("info", str(path))
    assert human.returncode == 0 and "aac" in human.stdout and "4410 frames" in human.stdout
    lines = run("info", str(path), str(EXAMPLE), "--jsonl").stdout.splitlines()
    assert [json.loads(line)["codec"] for line in lines] == ["aac", "flac"]


def test_missing_file_is_one_line_and_exit_1(tmp_path):
    result = run("info", str(tmp_path / "gone.wav"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"audiokit: error: {tmp_path / 'gone.wav'}: no such file"
    assert result.stdout == ""


def test_partial_batch_failure_exits_3(tmp_path):
    result = run("info", str(EXAMPLE), str(tmp_path / "gone.wav"), "--json")
    assert result.returncode == 3
    documents = json.loads(result.stdout)
    assert documents[0]["codec"] == "flac" and "no such file" in documents[1]["error"]


def test_usage_error_exits_2():
    assert run("info").returncode == 2
    assert run("no-such-command").returncode == 2


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000WAVEjunk")
    plain = run("info", str(tmp_path / "bad.wav"))
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    debug = run("--debug", "info", str(tmp_path / "bad.wav"))
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "FormatError" in debug.stderr
