"""``audiokit ladder``, through click's test runner on the command object."""

from __future__ import annotations

import hashlib
import json

import pytest
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
    args = [str(source), "-o", str(out), "--ladder", "podcast"]
    first = CliRunner().invoke(ladder, args)
    assert first.exit_code == 0, first.output
    assert "mp3-128.mp3" in first.output and "QA checks passed" in first.output
    again = CliRunner().invoke(ladder, args)
    assert again.exit_code != 0 and isinstance(again.exception, ParameterError)
    assert CliRunner().invoke(ladder, [*args, "--force"]).exit_code == 0


def test_usage_and_bad_input(tmp_path):
    both = CliRunner().invoke(ladder, ["x.wav", "-o", str(tmp_path / "o"), "--ladder", "podcast", "--rungs", "r.json"])
    assert both.exit_code == 2 and "pass --ladder or --rungs, not both" in both.output
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + bytes(100))
    failed = CliRunner().invoke(ladder, [str(bad), "-o", str(tmp_path / "o")])
    assert isinstance(failed.exception, FormatError)
    assert not (tmp_path / "o").exists()


def test_qa_off_and_a_degraded_ladder(tmp_path, monkeypatch):
    source = _source(tmp_path)
    off = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "off"), "--ladder", "hls-aac", "--qa", "off"])
    assert off.exit_code == 0 and "QA off" in off.output and "LUFS" not in off.output
    from audiokit.transcode import qa

    monkeypatch.setitem(qa.MEL_DISTANCE_LIMITS_DB, "aac", ((80_000, 1.0), (0, 0.0)))  # aac-64, aac-96 fail
    degraded = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "d"), "--ladder", "hls-aac", "--json"])
    assert degraded.exit_code == 3
    assert "left out aac-64: mel distance" in degraded.stderr
    document = json.loads(degraded.stdout)
    assert document["degraded"] and [r["name"] for r in document["renditions"]] == ["aac-160"]
    bad = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "x"), "--qa", "strict"])
    assert bad.exit_code == 2


def _renditions(out) -> dict[str, str]:
    """Rendition file name -> sha256 of its bytes, as ladder.json lists them."""
    document = json.loads((out / "ladder.json").read_text())
    return {r["path"]: hashlib.sha256((out / r["path"]).read_bytes()).hexdigest() for r in document["renditions"]}


def test_preset_is_a_hidden_deprecated_spelling_of_ladder(tmp_path):
    source = _source(tmp_path)
    assert "--preset" not in CliRunner().invoke(ladder, ["--help"]).output
    new = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "new"), "--ladder", "hls-aac", "--qa", "off"])
    assert new.exit_code == 0, new.output
    assert new.stderr == ""
    old = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "old"), "--preset", "hls-aac", "--qa", "off"])
    assert old.exit_code == 0, old.output
    (line,) = old.stderr.splitlines()
    assert line.startswith("audiokit: warning: --preset is deprecated") and "--ladder hls-aac" in line
    assert _renditions(tmp_path / "old") == _renditions(tmp_path / "new")
    assert len(_renditions(tmp_path / "new")) == 3
    assert json.loads((tmp_path / "old" / "ladder.json").read_text())["ladder"] == "hls-aac"
    both = CliRunner().invoke(ladder, [str(source), "-o", str(tmp_path / "both"), "--preset", "hls-aac",
                                       "--ladder", "podcast"])
    assert both.exit_code == 2 and "give --ladder only" in both.output
    assert not (tmp_path / "both").exists()


def test_an_unknown_ladder_lists_the_ladders(tmp_path):
    for option in ("--ladder", "--preset"):
        result = CliRunner().invoke(ladder, [str(_source(tmp_path)), "-o", str(tmp_path / "o"), option, "spotify"])
        assert result.exit_code == 2
        assert "'spotify' is not a ladder; expected one of spotify-like, hls-aac, podcast" in result.output
        assert not (tmp_path / "o").exists()


class _Bar:
    """Stands for the tqdm bar: adds up what the consumer reports."""

    def __init__(self) -> None:
        self.n = 0.0

    def update(self, seconds: float) -> None:
        self.n += seconds


def test_the_progress_consumer_counts_the_seconds_of_the_encoding_pass_once(tmp_path):
    from audiokit.cli.ladder import _PassProgress
    from audiokit.transcode import build_ladder

    source = _source(tmp_path)  # 1.5 s at 48 kHz
    for normalize in (None, "podcast"):  # normalize adds a measuring pass, which the bar does not count
        bar = _Bar()
        build_ladder(source, tmp_path / f"out-{normalize}", ladder="hls-aac", qa="off", normalize=normalize,
                     consumers=[_PassProgress(bar, 48000)])
        assert bar.n == pytest.approx(1.5, abs=1e-9)
