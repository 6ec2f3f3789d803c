"""`audiokit generate` through click's CliRunner: files, MIDI, JSON, reproducibility, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from audiokit.cli.generate import generate
from audiokit.errors import ParameterError


def _run(*args):
    return CliRunner().invoke(generate, list(args), catch_exceptions=True)


def test_writes_wav_and_midi_reproducibly(tmp_path):
    outputs = []
    for name in ("a", "b"):
        wav, mid = tmp_path / f"{name}.wav", tmp_path / f"{name}.mid"
        result = _run("-o", str(wav), "--seconds", "4", "--seed", "3", "--key", "D", "--tempo", "96",
                      "--midi", str(mid), "--json")
        assert result.exit_code == 0, result.output
        outputs.append((wav.read_bytes(), mid.read_bytes(), json.loads(result.output)))
    (wav_a, mid_a, doc), (wav_b, mid_b, _) = outputs
    assert wav_a == wav_b and mid_a == mid_b  # same seed: byte-identical files
    assert mid_a[:4] == b"MThd"
    assert doc["key"] == "D" and doc["sample_rate"] == 48000 and doc["steps"] == 4 * round(4 * 96 / 60)
    data, rate = soundfile.read(tmp_path / "a.wav", always_2d=True)
    assert rate == 48000 and data.shape[1] == 2
    assert data.shape[0] / rate == pytest.approx(doc["duration_s"], abs=1e-3)
    assert 0.01 < np.abs(data).max() <= 10 ** (-1 / 20) + 0.01  # normalized under -1 dBTP (sample peak)


def test_seed_changes_the_piece_and_human_output(tmp_path):
    first, second = tmp_path / "1.flac", tmp_path / "2.flac"
    result = _run("-o", str(first), "--bars", "2", "--seed", "1", "--timbre", "strings")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(str(first)) and "seed 1" in result.output
    assert _run("-o", str(second), "--bars", "2", "--seed", "2", "--timbre", "strings").exit_code == 0
    a, _ = soundfile.read(first)
    b, _ = soundfile.read(second)
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_spatial_renders_binaural_stereo(tmp_path):
    out = tmp_path / "s.wav"
    result = _run("-o", str(out), "--bars", "1", "--seed", "4", "--spatial", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["spatial"] is True
    data, rate = soundfile.read(out, always_2d=True)
    assert rate == 48000 and data.shape[1] == 2
    assert not np.allclose(data[:, 0], data[:, 1])


def test_usage_and_parameter_errors(tmp_path):
    assert _run("--seconds", "3").exit_code == 2  # -o is required
    assert _run("-o", str(tmp_path / "x.wav"), "--seconds", "0").exit_code == 2
    result = _run("-o", str(tmp_path / "x.wav"), "--seconds", "2", "--key", "H")
    assert isinstance(result.exception, ParameterError) and "key is 'H'" in str(result.exception)
    assert not (tmp_path / "x.wav").exists()
