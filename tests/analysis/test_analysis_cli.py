"""``audiokit analyze`` and ``audiokit tag`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiokit.cli.analyze import analyze
from audiokit.cli.tag import tag

EXAMPLE = str(Path(__file__).parents[2] / "examples" / "example.flac")


def test_analyze_json_is_one_list_with_one_object_per_file():
    result = CliRunner().invoke(analyze, [EXAMPLE, "--json"])
    assert result.exit_code == 0, result.output
    (document,) = json.loads(result.stdout)
    assert document["file"] == EXAMPLE and document["key"]["key"] == "C major"
    assert abs(document["tempo"]["bpm"] - 100) <= 1 and "beat_times_s" not in document["tempo"]


def test_analyze_human_output_and_partial_failure(tmp_path):
    missing = str(tmp_path / "missing.flac")
    result = CliRunner().invoke(analyze, [EXAMPLE, missing])
    assert result.exit_code == 3
    assert "C major" in result.stdout and "missing.flac" in result.stderr


def test_tag_json_shape_and_order():
    pytest.importorskip("torch", reason="the ml extra is required")
    result = CliRunner().invoke(tag, [EXAMPLE, "--json", "--top", "4", "--model", "all"])
    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert [d["model"] for d in documents] == ["MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg"]
    for document in documents:
        assert document["file"] == EXAMPLE and len(document["tags"]) == 4
        scores = [t["score"] for t in document["tags"]]
        assert scores == sorted(scores, reverse=True)


def test_tag_json_embedding_is_opt_in():
    pytest.importorskip("torch", reason="the ml extra is required")
    plain = json.loads(CliRunner().invoke(tag, [EXAMPLE, "--json"]).stdout)
    assert set(plain[0]) == {"file", "model", "tags"}
    result = CliRunner().invoke(tag, [EXAMPLE, "--json", "--embedding"])
    assert result.exit_code == 0, result.output
    (document,) = json.loads(result.stdout)
    assert len(document["embedding"]) == len(document["embedding_std"]) == 200
    assert min(document["embedding_std"]) >= 0 and max(document["embedding_std"]) > 0


def test_tag_all_files_failing_exits_1(tmp_path):
    bad = tmp_path / "not-audio.flac"
    bad.write_bytes(b"nope")
    result = CliRunner().invoke(tag, [str(bad)])
    assert result.exit_code == 1 and "not-audio.flac" in result.stderr
