"""A pool that survives its workers, failure memory, the catalog migration, a corrupt Numba cache."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from _batch import ROOT, alive, ingest_workers, music

from audiokit.errors import FormatError
from audiokit.pipeline import Catalog, IngestOptions, ingest, read_manifest
from audiokit.pipeline.catalog import SCHEMA_VERSION
from audiokit.pipeline.track import TEST_FAULT_ENV

SCHEMA = json.loads((ROOT / "docs" / "manifest.schema.json").read_text())
#: The catalog schema before versioning (audiokit 0.x up to the failure memory), as those versions created it.
VERSION_0_SCHEMA = """
CREATE TABLE tracks (
    track_id TEXT PRIMARY KEY, input_path TEXT NOT NULL, input_sha256 TEXT NOT NULL, file_name TEXT NOT NULL,
    ingested_utc TEXT NOT NULL, manifest_path TEXT NOT NULL,
    container TEXT, codec TEXT, sample_rate INTEGER, num_channels INTEGER, num_frames INTEGER, duration_s REAL,
    title TEXT, artist TEXT, album TEXT, integrated_lufs REAL, loudness_range_lu REAL, true_peak_dbtp REAL,
    explicit INTEGER
);
CREATE TABLE renditions (
    track_id TEXT NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    path TEXT NOT NULL, codec TEXT, container TEXT, bitrate_bps INTEGER,
    sample_rate INTEGER, num_channels INTEGER, size_bytes INTEGER, sha256 TEXT, PRIMARY KEY (track_id, path)
);
CREATE TABLE tags (track_id TEXT NOT NULL, model TEXT NOT NULL, label TEXT NOT NULL, score REAL NOT NULL,
                   PRIMARY KEY (track_id, model, label));
CREATE TABLE flags (track_id TEXT NOT NULL, category TEXT NOT NULL, severity TEXT, start_s REAL, end_s REAL,
                    text TEXT, rule_id TEXT);
CREATE TABLE failures (input_path TEXT PRIMARY KEY, error TEXT NOT NULL, failed_utc TEXT NOT NULL);
CREATE INDEX tags_by_label ON tags(label);
"""


def _inputs(folder: Path, names=("a.wav", "b.wav", "c.wav")) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [music(folder / name, seconds=1.5, seed=index) for index, name in enumerate(names)]


OPTIONS = IngestOptions(ladder="hls-aac")


@pytest.mark.parametrize("action", ["KILL", "SEGV"])
def test_a_worker_that_dies_fails_only_its_input(tmp_path, monkeypatch, action):
    """SIGKILL (the OOM killer) or SIGSEGV (a crashing codec) mid-track: that input fails, the batch goes on."""
    inputs = _inputs(tmp_path / "in", ("a.wav", "b.wav", "c.wav", "d.wav"))
    monkeypatch.setenv(TEST_FAULT_ENV, f"ladder:{action}:b.wav")
    summary = ingest([str(p) for p in inputs], tmp_path / "out", OPTIONS, jobs=2)
    by_name = {Path(r.input_path).name: r for r in summary.results}
    assert summary.counts == {"ingested": 3, "failed": 1}
    dead = by_name["b.wav"]
    assert dead.stage == "worker" and f"SIG{action}" in dead.error and dead.track_id is not None
    for name in ("a.wav", "c.wav", "d.wav"):
        jsonschema.validate(read_manifest(Path(by_name[name].manifest_path)), SCHEMA)
    assert not list((tmp_path / "out" / "tracks").glob(".*")), "the dead worker's partial folder is removed"
    with Catalog(tmp_path / "out") as catalog:
        (failure,) = catalog.failures()
        assert failure["stage"] == "worker" and failure["track_id"] == dead.track_id


def test_a_failure_is_remembered_until_retried(tmp_path, monkeypatch):
    inputs = _inputs(tmp_path / "in", ("a.wav", "b.wav"))
    broken = tmp_path / "in" / "broken.mp3"
    broken.write_bytes(b"ID3" + bytes(range(256)) * 40)
    paths = [str(p) for p in [*inputs, broken]]
    monkeypatch.setenv(TEST_FAULT_ENV, "ladder:KILL:b.wav")
    first = ingest(paths, tmp_path / "out", OPTIONS, jobs=2)
    assert first.counts == {"ingested": 1, "failed": 2}
    reasons = {Path(r.input_path).name: (r.stage, r.error) for r in first.results if r.status == "failed"}
    assert reasons["broken.mp3"][0] == "probe"
    monkeypatch.delenv(TEST_FAULT_ENV)
    # Same content, same settings: not redone; the summary and catalog say what failed where.
    second = ingest(paths, tmp_path / "out", OPTIONS, jobs=1)
    again = {Path(r.input_path).name: r for r in second.results}
    assert again["a.wav"].status == "unchanged"
    for name in ("b.wav", "broken.mp3"):
        assert again[name].status == "failed" and again[name].remembered
        assert (again[name].stage, again[name].error) == reasons[name]
    assert [f["stage"] for f in second.to_dict()["failures"]] == ["worker", "probe"]
    with Catalog(tmp_path / "out") as catalog:
        assert sorted((Path(f["input_path"]).name, f["stage"]) for f in catalog.failures()) == [
            ("b.wav", "worker"), ("broken.mp3", "probe")]
    # Changed settings are another track: tried afresh.
    other = ingest([paths[1]], tmp_path / "out", IngestOptions(ladder="hls-aac", qa="off"), jobs=1)
    assert other.results[0].status == "ingested"
    # --retry-failed: the killed track is redone and now succeeds; its failure row goes.
    third = ingest(paths, tmp_path / "out", OPTIONS, jobs=1, retry_failed=True)
    statuses = {Path(r.input_path).name: (r.status, r.remembered) for r in third.results}
    assert statuses == {"a.wav": ("unchanged", False), "b.wav": ("ingested", False), "broken.mp3": ("failed", False)}
    with Catalog(tmp_path / "out") as catalog:
        assert [Path(f["input_path"]).name for f in catalog.failures()] == ["broken.mp3"]


def test_cli_retry_failed_and_summary(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF" + bytes(300))
    command = [sys.executable, "-m", "audiokit.cli.main", "ingest", str(broken), "-o", str(tmp_path / "out"), "--json"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == second.returncode == 1
    (failure,) = json.loads(second.stdout)["failures"]
    assert failure["remembered"] and failure["stage"] == "probe"
    assert "failed before; --retry-failed to retry" in second.stderr
    third = subprocess.run(command + ["--retry-failed"], capture_output=True, text=True, timeout=300)
    assert not json.loads(third.stdout)["failures"][0]["remembered"]
    good = music(tmp_path / "good.wav", seconds=1.0)
    off = subprocess.run([*command[:4], str(good), "-o", str(tmp_path / "out"), "--qa", "off", "--ladder", "hls-aac"],
                         capture_output=True, text=True, timeout=300)
    assert off.returncode == 0, off.stderr
    manifest = read_manifest(Path(off.stdout.strip()))
    assert manifest["settings"]["qa"] == "off" and manifest["ladder"]["qa_mode"] == "off"
    assert all(rendition["qa"] is None for rendition in manifest["ladder"]["renditions"])


def test_catalog_of_version_0_is_migrated_in_place(tmp_path):
    database = sqlite3.connect(tmp_path / "catalog.sqlite")
    database.executescript(VERSION_0_SCHEMA)
    database.execute("INSERT INTO failures VALUES ('/in/x.wav', 'not audio', '2026-01-01T00:00:00+00:00')")
    database.execute("INSERT INTO tracks (track_id, input_path, input_sha256, file_name, ingested_utc, manifest_path) "
                     "VALUES ('abc', '/in/y.wav', 'ff', 'y.wav', '2026-01-01T00:00:00+00:00', '/out/m.json')")
    database.commit()
    database.close()
    with Catalog(tmp_path) as catalog:
        (failure,) = catalog.failures()
        assert failure["error"] == "not audio" and failure["stage"] is None and failure["track_id"] is None
        assert catalog.known_failures() == {}  # no track id: an old failure is retried once, then remembered
        (track,) = catalog.tracks()
        assert track["degraded"] == 0
        catalog.add_failure("/in/z.wav", "boom", track_id="t1", input_sha256="aa", stage="ladder")
        assert catalog.known_failures()["t1"]["stage"] == "ladder"
    check = sqlite3.connect(tmp_path / "catalog.sqlite")
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    check.commit()
    check.close()
    with pytest.raises(FormatError, match="newer than this audiokit"):
        Catalog(tmp_path)


def test_degraded_track_ships_and_is_marked(tmp_path):
    """A rung that fails QA is left out; the track is ingested, degraded in the summary, manifest and catalog."""
    script = (
        "import sys; from audiokit.transcode import qa; qa.MEL_DISTANCE_LIMITS_DB['aac'] = ((80_000, 1.0), (0, 0.0))\n"
        "from audiokit.pipeline import ingest, IngestOptions\n"
        # no time limit: the track runs in this process, where the patched QA limits apply (a worker re-imports)
        "options = IngestOptions(ladder='hls-aac', track_timeout_s=float('inf'))\n"
        "s = ingest(sys.argv[1:2], sys.argv[2], options, jobs=1)\n"
        "print(s.degraded, s.counts)\n")
    track = music(tmp_path / "song.wav", seconds=2.0)
    done = subprocess.run([sys.executable, "-c", script, str(track), str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.split("\n")[0] == "1 {'ingested': 1}", done.stderr
    (manifest_path,) = (tmp_path / "out").glob("tracks/*/manifest.json")
    manifest = read_manifest(manifest_path)
    jsonschema.validate(manifest, SCHEMA)
    assert manifest["degraded"] is True
    assert [r["name"] for r in manifest["ladder"]["renditions"]] == ["aac-160"]
    assert sorted(r["name"] for r in manifest["ladder"]["excluded"]) == ["aac-64", "aac-96"]
    with Catalog(tmp_path / "out") as catalog:
        (row,) = catalog.tracks()
        assert row["degraded"] == 1 and "aac-64: mel distance" in row["degraded_reasons"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker processes through procfs")
def test_workers_exit_when_their_driver_dies(tmp_path):
    inputs = _inputs(tmp_path / "in", ("a.wav", "b.wav"))
    script = ("import sys; from audiokit.pipeline import ingest, IngestOptions\n"
              "ingest(sys.argv[1:3], sys.argv[3], IngestOptions(ladder='hls-aac'), jobs=2)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), TEST_FAULT_ENV: "ladder:HANG:a.wav"}
    driver = subprocess.Popen([sys.executable, "-c", script, *map(str, inputs), str(tmp_path / "out")], env=env)
    try:
        deadline = time.monotonic() + 300
        workers: list[int] = []
        while time.monotonic() < deadline and not (tmp_path / "out" / "tracks").glob(".*partial*") or not workers:
            workers = ingest_workers(driver.pid)
            if workers and any((tmp_path / "out" / "tracks").glob(".*partial*")):
                break
            time.sleep(0.5)
        assert workers, "no worker started"
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(pid) for pid in workers)
    finally:
        if driver.poll() is None:
            driver.kill()


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [2, 1])  # a warm-up child before the workers; the one worker loading them itself
def test_a_corrupt_numba_cache_is_rebuilt_before_the_workers_start(tmp_path, monkeypatch, jobs):
    """Numba issue 10128: two workers compiling at once corrupted the cache and every later run crashed."""
    from audiokit.pipeline.warmup import prepare_kernels

    cache = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    assert prepare_kernels().ready
    data = sorted(cache.rglob("*.nbc"))
    assert data, "the warm-up wrote the cache"
    for path in data:  # flip bytes in every compiled kernel
        blob = bytearray(path.read_bytes())
        blob[len(blob) // 3::97] = bytes(b ^ 0x5A for b in blob[len(blob) // 3::97])
        path.write_bytes(bytes(blob))
    notes = []
    inputs = _inputs(tmp_path / "in", ("a.wav", "b.wav"))
    summary = ingest([str(p) for p in inputs], tmp_path / "out", OPTIONS, jobs=jobs, on_note=notes.append)
    assert summary.counts == {"ingested": 2}, summary.to_dict()["failures"]
    # which error the flipped bytes raise depends on what they hit in the pickled kernels (UnpicklingError,
    # ModuleNotFoundError for a mangled module name, ...): the note must say the warm-up failed and was repaired
    assert len(notes) == 1 and "the first warm-up failed" in notes[0] and "cache was rebuilt" in notes[0]
    assert summary.notes == tuple(notes)
    again = prepare_kernels()  # the rebuilt cache loads cleanly in a fresh process
    assert again.ready and not again.repaired


@pytest.mark.slow
def test_a_warm_up_that_crashes_is_repaired(tmp_path, monkeypatch):
    """Loading a corrupt cache can kill the process (exit 139): the driver survives it and rebuilds the cache."""
    from audiokit.pipeline.warmup import prepare_kernels

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))  # a cache of its own to empty
    monkeypatch.setenv(TEST_FAULT_ENV, "warmup:SEGV:warm")
    prepared = prepare_kernels()
    assert prepared.ready and prepared.repaired
    assert "killed by SIGSEGV" in prepared.detail and "rebuilt" in prepared.detail


@pytest.mark.slow
def test_one_job_runs_the_warm_up_too(tmp_path, monkeypatch):
    """--jobs 1: the one worker loads the kernels itself, and a crash there has the cache repaired before a fresh
    worker runs the tracks. Without a time limit the tracks run in the driver, which prepares once per process."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    monkeypatch.setenv(TEST_FAULT_ENV, "warmup:SEGV:warm")
    notes: list[str] = []
    inputs = _inputs(tmp_path / "in", ("a.wav", "b.wav"))
    summary = ingest([str(p) for p in inputs], tmp_path / "out", OPTIONS, jobs=1, on_note=notes.append)
    assert summary.counts == {"ingested": 2}, summary.to_dict()["failures"]
    assert len(notes) == 1 and "loading them in the worker failed (killed by SIGSEGV)" in notes[0], notes
    assert "the first warm-up failed (killed by SIGSEGV); the kernel cache was rebuilt" in notes[0]
    assert any((tmp_path / "numba-cache").rglob("*.nbi")), "the warm-up wrote the cache the workers load"
    in_process = IngestOptions(ladder="hls-aac", track_timeout_s=math.inf)
    for run in ("out2", "out3"):
        again = ingest([str(p) for p in inputs], tmp_path / run, in_process, jobs=1, on_note=notes.append)
        assert again.counts == {"ingested": 2}
    assert len(notes) == 2 and "cache was rebuilt" in notes[1], "prepared once per process and cache folder"
