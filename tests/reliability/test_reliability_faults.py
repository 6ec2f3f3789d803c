"""Inputs that used to hang or abort a batch, and values that used to pass silently."""

from __future__ import annotations

import os
import subprocess
import sys

import _corpus
import numpy as np
import pytest
from _measure import measure

import audiokit
from audiokit._files import check_input_file, display_path
from audiokit.errors import FormatError, ParameterError


@pytest.fixture
def special_paths(tmp_path):
    """Paths that are not regular files: a FIFO, a symlink loop, a dangling link, a device, a folder."""
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    (tmp_path / "loop-a.wav").symlink_to(tmp_path / "loop-b.wav")
    (tmp_path / "loop-b.wav").symlink_to(tmp_path / "loop-a.wav")
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    return {
        "FIFO": (fifo, "is a FIFO"),
        "symlink loop": (tmp_path / "loop-a.wav", "symbolic link loop"),
        "dangling symlink": (tmp_path / "dangling.wav", "symbolic link to a missing file"),
        "character device": ("/dev/null", "is a character device"),
        "directory": (tmp_path, "is a directory"),
    }


@pytest.mark.parametrize("kind", ["FIFO", "symlink loop", "dangling symlink", "character device", "directory"])
def test_special_paths_are_refused_before_opening(special_paths, kind):
    path, message = special_paths[kind]
    for entry in (check_input_file, audiokit.probe, audiokit.read, audiokit.open):
        with pytest.raises(FormatError, match=message):
            entry(path)


def test_a_fifo_does_not_hang_read(special_paths):
    """Nobody writes to the FIFO: opening it for reading would block forever."""
    row = measure(special_paths["FIFO"][0], "read", timeout_s=60)
    assert row["kind"] == "FormatError" and "FIFO" in row["outcome"]


def test_cli_info_on_special_paths_is_one_error_line_each(special_paths):
    files = [str(path) for path, _ in special_paths.values()]
    result = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "info", *files],
                            capture_output=True, check=False, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[2] for line in lines] == files
    assert "internal error" not in result.stderr


def test_a_non_utf8_file_name_reads_and_prints(tmp_path):
    source = _corpus.gsm_wav(tmp_path)
    raw = os.fsencode(tmp_path) + b"/caf\xe9-\xff.wav"  # Latin-1 bytes, not UTF-8
    os.rename(source, raw)
    path = os.fsdecode(raw)
    assert audiokit.read(path).num_frames == audiokit.probe(path).num_frames == 11_520
    shown = display_path(path)
    assert shown.endswith(r"caf\xe9-\xff.wav")
    result = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "info", raw], capture_output=True, check=False,
                            timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert result.returncode == 0, result.stderr
    assert shown.encode() in result.stdout


def test_check_input_file_accepts_a_regular_file_and_refuses_bytes_and_empty(tmp_path):
    path = _corpus.gsm_wav(tmp_path)
    assert check_input_file(str(path)) == path
    with pytest.raises(ParameterError, match="expected a file path"):
        check_input_file(42)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        check_input_file(tmp_path / "empty.wav")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_audio_refuses_non_finite_samples(bad):
    samples = np.zeros((2, 1000), np.float32)
    samples[1, 321] = bad
    with pytest.raises(ParameterError, match=r"samples\[1, 321\] is .*every sample must be finite"):
        audiokit.Audio(samples, 48000)


def test_writer_refuses_non_finite_blocks_and_leaves_nothing(tmp_path):
    from audiokit.io.writer import AudioWriter

    block = np.zeros((1, 512), np.float32)
    block[0, 7] = np.nan
    with pytest.raises(ParameterError, match="finite"), AudioWriter(tmp_path / "nan.wav", 48000, 1) as writer:
        writer.write(block)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["bad\nkey", "a=b", "", "tab\there", "caf\u00e9", "~tilde"])
def test_writer_refuses_tag_keys_that_cannot_be_stored_intact(tmp_path, key):
    audio = audiokit.Audio(_corpus.music(48000, 0.5), 48000)
    with pytest.raises(ParameterError, match="tag key"):
        audiokit.write(tmp_path / "t.ogg", audio, tags={key: "value"})
    assert list(tmp_path.iterdir()) == []


def test_unusual_but_legal_tag_keys_and_multiline_values_round_trip(tmp_path):
    audio = audiokit.Audio(_corpus.music(48000, 0.5), 48000)
    tags = {"REPLAYGAIN_TRACK_GAIN": "-6.00 dB", "my key (v2)": "one\ntwo = three"}
    path = audiokit.write(tmp_path / "t.ogg", audio, tags=tags)
    read_back = audiokit.probe(path).tags
    assert read_back["replaygain_track_gain"] == "-6.00 dB"
    assert read_back["my key (v2)"] == "one\ntwo = three"


def test_hashing_a_fifo_fails_at_once_and_listing_a_symlink_loop_does_not_raise(special_paths):
    """Ingest hashes each input before probing it; discovery resolves every input path."""
    from audiokit._files import resolve_input

    code = ("import sys; from audiokit._files import file_sha256\n"
            "try:\n    file_sha256(sys.argv[1])\nexcept Exception as error:\n    print(type(error).__name__, error)")
    result = subprocess.run([sys.executable, "-c", code, str(special_paths["FIFO"][0])], capture_output=True, check=False,
                            text=True, timeout=60)
    assert result.stdout.startswith("FormatError") and "FIFO" in result.stdout
    loop = special_paths["symlink loop"][0]
    assert resolve_input(loop) == loop
    with pytest.raises(FormatError, match="symbolic link loop"):
        check_input_file(resolve_input(loop))


def test_a_file_rewritten_in_place_at_the_same_size_is_probed_again(tmp_path):
    """probe remembers results per file; the same bytes count at another rate and layout must show."""
    import soundfile

    path = tmp_path / "rewritten.wav"
    soundfile.write(path, _corpus.music(44100, 1.0, channels=1)[0], 44100, subtype="PCM_16")
    assert (audiokit.probe(path).sample_rate, audiokit.probe(path).num_channels) == (44100, 1)
    size = path.stat().st_size
    soundfile.write(path, _corpus.music(22050, 1.0).T, 22050, subtype="PCM_16")
    assert path.stat().st_size == size
    info = audiokit.probe(path)
    assert (info.sample_rate, info.num_channels, info.num_frames) == (22050, 2, 22050)
    assert audiokit.read(path).samples.shape == (2, 22050)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("container", ["WAV", "AIFF"])
def test_a_float_file_holding_non_finite_samples_is_a_format_error(tmp_path, bad, container):
    import soundfile

    samples = _corpus.music(48000, 0.5).T.copy()
    samples[12_345, 1] = bad
    path = tmp_path / f"float.{container.lower()}"
    soundfile.write(path, samples, 48000, subtype="FLOAT", format=container)
    for entry in (audiokit.read, lambda p: list(audiokit.open(p).blocks())):
        with pytest.raises(FormatError, match=r"sample 12345 of channel 1 is (nan|inf); audio must be finite"):
            entry(path)
