"""``audiokit ladder``, through click's test runner on the command object."""

from __future__ import annotations

import json

from _ladder_signals import music
from click.testing import CliRunner

import audiokit
from audiokit.cli.ladder import ladder
from audiokit.errors import FormatError, ParameterError


def _source(tmp_path):
    path = tmp_path / "in.wav"
    audiokit.write(path, audiokit.Audio(music(48000, duration_s=1.5), 48000))
    return path


def test_json_output_and_custom_rungs(tmp_path):
    rungs = tmp_path / "rungs.json"
    rungs.write_text(json.dumps([{"name": "lo", "codec": "aac", "bitrate_bps": 96000, "sample_rate": 48000},
                                 {"name": "hi", "codec": "aac", "bitrate_bps": 160000, "sample_rate": 48000}]))
    out = tmp_path / "out"
    result = CliRunner().invoke(ladder, [str(_source(tmp_path)), "-o", str(out), "--rungs", str(rungs), "--hls", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [r["path"] for r in document["renditions"]] == ["lo.m4a", "hi.m4a"]
    assert document["hls_master"] == "master.m3u8" and (out / "master.m3u8").exists()


def test_human_output_and_force(tmp_path):
    source, out = _source(tmp_path), tmp_path / "out"
    args = [str(source), "-o", str(out), "--preset", "podcast"]
    first = CliRunner().invoke(ladder, args)
    assert first.exit_code == 0, first.output
    assert "mp3-128.mp3" in first.output and "QA checks passed" in first.output
    again = CliRunner().invoke(ladder, args)
    assert again.exit_code != 0 and isinstance(again.exception, ParameterError)
    assert CliRunner().invoke(ladder, [*args, "--force"]).exit_code == 0


def test_usage_and_bad_input(tmp_path):
    both = CliRunner().invoke(ladder, ["x.wav", "-o", str(tmp_path / "o"), "--preset", "podcast", "--rungs", "r.json"])
    assert both.exit_code == 2
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + bytes(100))
    failed = CliRunner().invoke(ladder, [str(bad), "-o", str(tmp_path / "o")])
    assert isinstance(failed.exception, FormatError)
    assert not (tmp_path / "o").exists()


def test_qa_off_and_a_degraded_ladder(tmp_path, monkeypatch):
    source = _source(tmp_path)
    off = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "off"), "--preset", "hls-aac", "--qa", "off"])
    assert off.exit_code == 0 and "QA off" in off.output and "LUFS" not in off.output
    from audiokit.transcode import qa

    monkeypatch.setitem(qa.MEL_DISTANCE_LIMITS_DB, "aac", ((80_000, 1.0), (0, 0.0)))  # aac-64, aac-96 fail
    degraded = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "d"), "--preset", "hls-aac", "--json"])
    assert degraded.exit_code == 3
    assert "left out aac-64: mel distance" in degraded.stderr
    document = json.loads(degraded.stdout)
    assert document["degraded"] and [r["name"] for r in document["renditions"]] == ["aac-160"]
    bad = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "x"), "--qa", "strict"])
    assert bad.exit_code == 2
