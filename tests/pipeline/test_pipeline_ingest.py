"""`audiokit ingest` end to end: manifests, idempotence, failures, crash recovery, catalog."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from _batch import EXAMPLE, ROOT, music

import audiokit
from audiokit.pipeline import Catalog, IngestOptions, ingest, read_manifest
from audiokit.pipeline import track as track_module

SCHEMA = json.loads((ROOT / "docs" / "manifest.schema.json").read_text())
ALSA_SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")


def _run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audiokit.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One ingest of two good songs and a corrupt file, through the CLI, two jobs."""
    folder = tmp_path_factory.mktemp("ingest")
    inputs = folder / "in"
    inputs.mkdir()
    music(inputs / "song one.flac", seed=1)
    music(inputs / "song two.wav", seed=2, sample_rate=48000)
    (inputs / "broken.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    out = folder / "out"
    result = _run_cli("ingest", str(inputs), "-o", str(out), "--jobs", "2", "--json")
    return inputs, out, result


def test_partial_failure_exits_3_and_keeps_the_good_tracks(batch):
    inputs, out, result = batch
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"ingested": 2, "failed": 1}
    failed = [r for r in summary["results"] if r["status"] == "failed"]
    assert failed[0]["input_path"].endswith("broken.mp3") and failed[0]["error"]
    assert "[3/3, 1 failed," in result.stderr and "tracks/min" in result.stderr  # progress on stderr


def test_manifests_validate_and_describe_the_outputs(batch):
    _, out, _ = batch
    manifests = sorted(out.glob("tracks/*/manifest.json"))
    assert len(manifests) == 2
    for path in manifests:
        manifest = read_manifest(path)
        jsonschema.validate(manifest, SCHEMA)
        source = audiokit.probe(manifest["source"]["input_path"])
        assert manifest["source"]["num_frames"] == source.num_frames
        assert manifest["stages"]["ladder"]["status"] == "ok"
        for rendition in manifest["ladder"]["renditions"]:
            file = path.parent / "renditions" / rendition["path"]
            assert file.stat().st_size == rendition["size_bytes"]
        assert not list(out.glob("tracks/.*")), "no partial folders left behind"


def test_catalog_lists_tracks_and_failures(batch):
    _, out, _ = batch
    with Catalog(out) as catalog:
        tracks = catalog.tracks()
        assert sorted(t["file_name"] for t in tracks) == ["song one.flac", "song two.wav"]
        assert all(t["integrated_lufs"] < -5 for t in tracks)
        assert [f["input_path"].endswith("broken.mp3") for f in catalog.failures()] == [True]
        shown = catalog.show(tracks[0]["track_id"][:6])
        assert len(shown["renditions"]) >= 1
        loudest = max(t["integrated_lufs"] for t in tracks)
        assert [t["integrated_lufs"] for t in catalog.search(min_lufs=loudest - 0.01)] == [loudest]
        assert catalog.search(min_duration_s=10) == []
    listing = _run_cli("catalog", "list", str(out), "--json")
    assert listing.returncode == 0 and len(json.loads(listing.stdout)) == 2


def test_rerun_is_a_no_op(batch, monkeypatch):
    inputs, out, _ = batch
    before = {p: p.stat().st_mtime_ns for p in out.glob("tracks/*/manifest.json")}

    def no_stage_may_run(stage, context):
        raise AssertionError(f"stage {stage.name} ran on an unchanged track")

    monkeypatch.setattr(track_module, "_run_stage", no_stage_may_run)
    summary = ingest([str(inputs / "song one.flac"), str(inputs / "song two.wav")], out, jobs=1)
    assert summary.counts == {"unchanged": 2}
    assert {p: p.stat().st_mtime_ns for p in out.glob("tracks/*/manifest.json")} == before


def test_catalog_rebuild_from_manifests(batch):
    _, out, _ = batch
    (out / "catalog.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (out / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    result = _run_cli("catalog", "rebuild", str(out))
    assert result.returncode == 0, result.stderr
    with Catalog(out) as catalog:
        assert len(catalog.tracks()) == 2


def test_different_settings_make_a_different_track(tmp_path):
    song = music(tmp_path / "s.flac", seconds=3.0)
    first = ingest(str(song), tmp_path / "out", IngestOptions(ladder="podcast"), jobs=1)
    assert first.counts == {"ingested": 1}
    # the same settings again (forced): the same track
    again = ingest(str(song), tmp_path / "out", IngestOptions(ladder="podcast"), jobs=1, force=True)
    assert again.counts == {"ingested": 1} and again.results[0].track_id == first.results[0].track_id
    # other settings: another track beside it, the first one untouched
    other = ingest(str(song), tmp_path / "out", IngestOptions(ladder="hls-aac"), jobs=1)
    assert other.counts == {"ingested": 1} and other.results[0].track_id != first.results[0].track_id
    assert len(list((tmp_path / "out").glob("tracks/*/manifest.json"))) == 2


def test_killed_ingest_leaves_no_manifest_and_the_rerun_completes(tmp_path):
    song = music(tmp_path / "long.flac", seconds=20.0)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "audiokit.cli.main", "ingest", str(song), "-o", str(out),
                                "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("tracks/.*.partial-*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "ingest finished before it could be killed; make the input longer"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not list(out.glob("tracks/*/manifest.json"))
    summary = ingest(str(song), out, jobs=1)
    assert summary.counts == {"ingested": 1}
    assert not list(out.glob("tracks/.*")), "the abandoned partial folder was removed"


@pytest.mark.skipif(not ALSA_SPEECH.exists(), reason="needs Debian package alsa-utils (real speech WAVs)")
def test_all_stages_on_real_speech_and_the_bundled_example(tmp_path):
    summary = ingest([str(ALSA_SPEECH), str(EXAMPLE)], tmp_path / "out", IngestOptions(stages="all"), jobs=1)
    assert summary.counts == {"ingested": 2}, summary.to_dict()
    speech, music = (read_manifest(Path(result.manifest_path)) for result in summary.results)
    for manifest in (speech, music):
        jsonschema.validate(manifest, SCHEMA)
        assert {name: report["status"] for name, report in manifest["stages"].items() if name != "transcript"} \
            == {name: "ok" for name in manifest["settings"]["stages"] if name != "transcript"}
        assert len(manifest["tags"]["MTT_musicnn"]["tags"]) == 10
    assert speech["speech"]["speech_dominant"] and not music["speech"]["speech_dominant"]
    assert speech["transcript"]["text"].lower().replace(".", "").split() == ["front", "center"]
    transcript_dir = Path(summary.results[0].manifest_path).parent
    assert (transcript_dir / speech["transcript"]["paths"]["srt"]).read_text().startswith("1\n")
    assert music["stages"]["transcript"]["status"] == "skipped"
    assert "not speech-dominant" in music["stages"]["transcript"]["reason"]
    assert 99 <= music["analysis"]["tempo"]["bpm"] <= 101  # the example is at 100 BPM
    assert speech["explicit"] is False and music["explicit"] is None  # "front center" is clean; music has no transcript
    assert all(flag["source"] == "audio" for flag in speech["flags"] + music["flags"])
    with Catalog(tmp_path / "out") as catalog:
        assert [row["file_name"] for row in catalog.search(tag="piano")] == ["example.flac"]


def test_unknown_stage_is_a_usage_error(tmp_path):
    result = _run_cli("ingest", str(EXAMPLE), "-o", str(tmp_path / "out"), "--stages", "loudness,colour")
    assert result.returncode == 2 and "unknown stage(s) colour" in result.stderr


def test_rerun_removes_only_abandoned_partial_folders(tmp_path):
    song = music(tmp_path / "song.flac")
    out = tmp_path / "out"
    first = ingest(str(song), out, jobs=1)
    track = first.results[0].track_id
    shutil.rmtree(out / "tracks" / track)  # as if the first run had died before the rename
    here, elsewhere = socket.gethostname(), "other-node.example"
    dead_here = out / "tracks" / f".{track}.partial-{here}-{_unused_pid()}-0001"
    live_elsewhere = out / "tracks" / f".{track}.partial-{elsewhere}-{os.getpid()}-0002"
    stale_elsewhere = out / "tracks" / f".{track}.partial-{elsewhere}-{os.getpid()}-0003"
    for folder in (dead_here, live_elsewhere, stale_elsewhere):
        folder.mkdir()
        (folder / "half-written.opus").write_bytes(b"OggS")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale_elsewhere, (two_days_ago, two_days_ago))

    again = ingest(str(song), out, jobs=1)
    assert again.counts == {"ingested": 1}
    assert sorted(path.name for path in (out / "tracks").glob(".*")) == [live_elsewhere.name]


def _unused_pid() -> int:
    pid = 2 ** 22 - 1  # above Linux's default pid_max (4,194,304 on 64-bit is the ceiling)
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid
