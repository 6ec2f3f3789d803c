"""Damaged and hostile files: a clean FormatError naming the file, from every entry point, in bounded memory."""

from __future__ import annotations

import subprocess
import sys

import _corpus
import pytest
from _measure import measure

import audiokit
from audiokit.errors import FormatError

# What each refusal must say (besides the file's name).
EXPECTED = {
    "FLAC cut to 40 %": "corrupt or truncated",
    "WAV cut to half its bytes": "truncated WAV: its data chunk declares 529200 bytes but the file ends 264622 bytes short",
    "MP3 cut to a third (Xing/LAME header)": "truncated MP3: its Xing/Info/VBRI header declares 264600 frames",
    "MP3 with VBRI header claiming 222 s, holding 0.44 s": "truncated MP3: its Xing/Info/VBRI header declares 9789696",
    "4 MB of random bytes named .mp3": "random-4MB.mp3",
    "WAV claiming 1 GHz": "sample rate of 1000000000 Hz; expected 1 to 768000 Hz",
    "WAV claiming 100 MHz": "sample rate of 100000000 Hz",
    "FLAC claiming 2^36 samples": "truncated FLAC: its STREAMINFO declares 68719476735 frames but the stream holds 44100",
    "MP4 with an 85-million-entry sample table": "lists 85000000 samples in a",
}
#: The issue's bound for every hostile input.
MAX_PEAK_MIB = 1024


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("invalid")
    return {name: _corpus.CASES[name](folder) for name in _corpus.INVALID}


@pytest.mark.parametrize("case", _corpus.INVALID)
def test_refused_by_probe_read_and_open_naming_the_file(corpus, case):
    path = corpus[case]
    for entry in (audiokit.probe, audiokit.read, lambda p: list(audiokit.open(p).blocks())):
        with pytest.raises(FormatError, match=EXPECTED[case].replace("(", r"\(").replace(")", r"\)")) as caught:
            entry(path)
        assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize("case", ["WAV claiming 1 GHz", "FLAC claiming 2^36 samples",
                                  "MP4 with an 85-million-entry sample table"])
@pytest.mark.parametrize("operation", ["probe", "read"])
def test_hostile_header_is_refused_in_bounded_memory(corpus, case, operation):
    """Run in a fresh process: its peak RSS (getrusage) stays under 1 GiB, the error is audiokit's."""
    row = measure(corpus[case], operation)
    assert row["kind"] == "FormatError", row
    assert row["peak_mib"] < MAX_PEAK_MIB, row


def test_cli_info_reports_each_bad_file_and_goes_on(corpus, tmp_path):
    good = _corpus.flac(tmp_path)
    files = [str(corpus[case]) for case in _corpus.INVALID]
    result = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "info", *files, str(good)],
                            capture_output=True, check=False, text=True, timeout=300)
    assert result.returncode == 3, result.stderr  # partial batch failure
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(files)
    for line, path in zip(errors, files):
        assert line.startswith(f"audiokit: error: {path}: "), line
    assert "internal error" not in result.stderr
    assert str(good) in result.stdout
