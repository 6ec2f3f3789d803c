"""``IngestOptions(ladder=)`` and ``audiokit ingest --ladder``; ``preset`` is the deprecated spelling of both.

The track settings keep their key ``"preset"``: it is hashed into every track id,
so a catalog built before the rename keeps its tracks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from _batch import music

from audiokit.errors import ParameterError
from audiokit.pipeline import IngestOptions, ingest
from audiokit.pipeline.manifest import read_manifest


def test_preset_keyword_warns_and_sets_the_ladder():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = IngestOptions(ladder="podcast", qa="off")
    with pytest.warns(FutureWarning, match="pass ladder=") as caught:
        old = IngestOptions(preset="podcast", qa="off")
    assert caught[0].filename == __file__
    assert old == new and old.ladder == "podcast"
    assert old.track_settings() == new.track_settings()
    assert new.track_settings()["preset"] == "podcast"  # the hashed key keeps its name


def test_both_keywords_or_an_unknown_ladder_are_refused():
    with pytest.raises(ParameterError, match="pass ladder= only"):
        IngestOptions(ladder="hls-aac", preset="podcast")
    with pytest.raises(ParameterError, match="expected one of spotify-like, hls-aac, podcast"):
        IngestOptions(ladder="spotify").track_settings()


def test_the_renamed_option_keeps_the_track_id(tmp_path):
    """A track ingested with the old spelling is complete for the new one: same settings, same id."""
    song = music(tmp_path / "song.wav", seconds=1.0)
    with pytest.warns(FutureWarning):
        before = ingest([str(song)], tmp_path / "out", IngestOptions(preset="hls-aac", qa="off"), jobs=1)
    after = ingest([str(song)], tmp_path / "out", IngestOptions(ladder="hls-aac", qa="off"), jobs=1)
    (first,), (second,) = before.results, after.results
    assert (first.status, second.status) == ("ingested", "unchanged")
    assert first.track_id == second.track_id
    manifest = read_manifest(tmp_path / "out" / "tracks" / first.track_id / "manifest.json")
    assert manifest["settings"]["preset"] == "hls-aac" and manifest["ladder"]["ladder"] == "hls-aac"


def _ingest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audiokit.cli.main", "ingest", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_ladder_option_and_its_hidden_deprecated_spelling(tmp_path):
    song = music(tmp_path / "song.wav", seconds=1.0)
    assert "--preset" not in _ingest("--help").stdout
    old = _ingest(str(song), "-o", str(tmp_path / "out"), "-j", "1", "--qa", "off", "--preset", "podcast", "--jsonl")
    assert old.returncode == 0, old.stderr
    assert "audiokit: warning: --preset is deprecated for a ladder; use --ladder podcast" in old.stderr
    new = _ingest(str(song), "-o", str(tmp_path / "out"), "-j", "1", "--qa", "off", "--ladder", "podcast", "--jsonl")
    assert new.returncode == 0, new.stderr
    assert "deprecated" not in new.stderr
    ingested, unchanged = json.loads(old.stdout), json.loads(new.stdout)  # one JSON line each
    assert (ingested["status"], unchanged["status"]) == ("ingested", "unchanged")
    assert ingested["track_id"] == unchanged["track_id"]
    unknown = _ingest(str(song), "-o", str(tmp_path / "other"), "--ladder", "spotify")
    assert unknown.returncode == 2 and "expected one of spotify-like, hls-aac, podcast" in unknown.stderr
