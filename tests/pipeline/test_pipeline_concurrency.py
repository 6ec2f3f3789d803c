"""Several ingest processes on one output folder: each track is built once (per-track claims)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _batch import ROOT, manifests, music, partial_folders

from audiokit.pipeline import Catalog, IngestOptions, claims, ingest
from audiokit.pipeline.claims import CLAIM_STALE_S, claim_path
from audiokit.pipeline.stages import resolve_stages
from audiokit.pipeline.track import TEST_FAULT_ENV, TRACKS_DIR, ingest_track, start_track

OPTIONS = IngestOptions(ladder="hls-aac", qa="off")


def _tracks(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [music(folder / f"song{index}.wav", seconds=1.0, seed=2 * index) for index in range(count)]


def _cli(paths: list[Path], out: Path, *options: str, env: dict | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "audiokit.cli.main", "ingest", *map(str, paths), "-o", str(out),
               "--ladder", "hls-aac", "--qa", "off", "--jsonl", *options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _claim_files(out: Path) -> list[Path]:
    return sorted((out / TRACKS_DIR).glob(".*.claim*"))


def _track_dir(out: Path, path: Path) -> Path:
    from audiokit._files import file_sha256
    from audiokit.pipeline.identity import track_id

    return out / TRACKS_DIR / track_id(file_sha256(path), OPTIONS.track_settings())


def test_two_ingest_processes_build_each_track_once(tmp_path):
    """Overlapping lists (tracks 0-4 and 1-5) started together: 6 tracks, 6 builds, both exit 0.

    Without claims this very setup built 9 and 10 times (docs/reliability.md).
    """
    paths = _tracks(tmp_path / "in", 6)
    out = tmp_path / "out"
    first = _cli(paths[:5], out, "--jobs", "1")
    second = _cli(paths[1:], out, "--jobs", "1")
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    for process, (_, stderr) in zip((first, second), outputs):
        assert process.returncode == 0, stderr
    reports = [[json.loads(line) for line in stdout.splitlines()] for stdout, _ in outputs]
    assert [len(report) for report in reports] == [5, 5]
    built: dict[str, list[int]] = {}
    for run, report in enumerate(reports):
        for result in report:
            assert result["status"] in ("ingested", "unchanged"), result
            if result["status"] == "ingested":
                built.setdefault(Path(result["input_path"]).name, []).append(run)
    # Every track built by exactly one of the two processes; the other reported it unchanged.
    assert sorted(built) == sorted(path.name for path in paths)
    assert all(len(runs) == 1 for runs in built.values()), built
    assert len(manifests(out)) == 6
    with Catalog(out) as catalog:
        assert sorted(row["file_name"] for row in catalog.tracks()) == sorted(path.name for path in paths)
        assert catalog.failures() == []
    assert not partial_folders(out) and not _claim_files(out), "claims and partial folders are released"


def _open_catalog_at(out_dir: str, start_s: float) -> str | None:
    """Open (and so create) the catalog at a wall-clock instant; the error text if that failed."""
    while time.time() < start_s:
        pass
    try:
        with Catalog(out_dir) as catalog:
            catalog.known_failures()
    except Exception as error:  # the test reports whatever the opener raised
        return f"{type(error).__name__}: {error}"
    return None


def test_processes_creating_one_catalog_at_once_all_open_it(tmp_path):
    """Two processes create the same new catalog at the same instant, 40 times: every open succeeds.

    Switching a new database to WAL mode needs an exclusive lock that SQLite
    refuses at once (no busy wait); before the catalog retried it, about one
    open in five failed here with "database is locked".
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        errors = []
        for attempt in range(40):
            out_dir = str(tmp_path / f"out{attempt}")
            start_s = time.time() + 0.05
            errors += [error for error in pool.starmap(_open_catalog_at, [(out_dir, start_s)] * 2) if error]
    assert errors == []


def test_a_claim_left_by_a_killed_process_is_taken_over(tmp_path):
    """SIGKILL mid-track (jobs 1, no limit: the ingest process itself) leaves its claim; the next run takes it over."""
    (path,) = _tracks(tmp_path / "in", 1)
    out = tmp_path / "out"
    # no time limit: the track runs in the ingest process, so the SIGKILL hits the claim's holder, not a worker
    killed = _cli([path], out, "--jobs", "1", "--track-timeout", "inf",
                  env={TEST_FAULT_ENV: f"ladder:KILL:{path.name}"})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    claim = json.loads(claim_path(_track_dir(out, path)).read_text())
    assert (claim["host"], claim["pid"]) == (socket.gethostname(), killed.pid)
    summary = ingest([str(path)], out, OPTIONS, jobs=1)
    assert summary.counts == {"ingested": 1}
    assert not partial_folders(out) and not _claim_files(out)


def test_a_pool_puts_a_claimed_track_off_and_builds_it_when_its_holder_dies(tmp_path):
    """jobs 2: the claimed track goes to the end of the queue, is waited for, and taken over."""
    paths = _tracks(tmp_path / "in", 3)
    out = tmp_path / "out"
    holder = subprocess.Popen(["sleep", "300"])
    try:
        _write_claim(_track_dir(out, paths[0]), socket.gethostname(), holder.pid)
        order: list[str] = []

        def progress(result, done, total):
            order.append(Path(result.input_path).name)
            if len(order) == 2:  # the others are done; the first track's holder dies now
                holder.kill()

        summary = ingest([str(path) for path in paths], out, OPTIONS, jobs=2, on_result=progress)
    finally:
        holder.kill()
        holder.wait()
    assert summary.counts == {"ingested": 3}
    assert order[-1] == paths[0].name, "built after its holder died"
    assert not partial_folders(out) and not _claim_files(out)


def _write_claim(final_dir: Path, host: str, pid: int, age_s: float = 0.0) -> Path:
    path = claim_path(final_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "token": "0badc0de", "claimed_utc": "2026-12-05T00:00:00"}))
    if age_s:
        stamp = time.time() - age_s
        os.utime(path, (stamp, stamp))
    return path


def test_a_claim_from_another_host_is_respected_until_stale(tmp_path):
    """A claim made on another host sharing the folder holds while its heartbeat is fresh."""
    (path,) = _tracks(tmp_path / "in", 1)
    out = tmp_path / "out"
    core = resolve_stages("core")
    claim = _write_claim(_track_dir(out, path), "another-host.example", 1)
    held = start_track(path, out, OPTIONS.track_settings(), core, wait_for_claim=False)
    assert held.status == "claimed" and held.track_id == _track_dir(out, path).name
    assert not partial_folders(out), "nothing was built"
    stamp = time.time() - CLAIM_STALE_S - 60  # its host stopped touching it: the process there is gone
    os.utime(claim, (stamp, stamp))
    result = ingest_track(path, out, OPTIONS.track_settings(), core, wait_for_claim=False)
    assert result.status == "ingested", result.error
    assert not _claim_files(out)


def test_a_live_claim_is_waited_for_and_taken_over_when_its_process_dies(tmp_path):
    (path,) = _tracks(tmp_path / "in", 1)
    out = tmp_path / "out"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        _write_claim(_track_dir(out, path), socket.gethostname(), holder.pid)
        results = []
        waiter = threading.Thread(target=lambda: results.append(
            ingest_track(path, out, OPTIONS.track_settings(), resolve_stages("core"))))
        waiter.start()
        waiter.join(timeout=2.0)
        assert waiter.is_alive() and not results, "it waits while the holder lives"
        holder.kill()  # a zombie until reaped: already counts as dead
        waiter.join(timeout=120)
        assert [result.status for result in results] == ["ingested"]
    finally:
        holder.kill()
        holder.wait()
    assert not _claim_files(out)


def test_a_claim_file_left_empty_is_taken_over_once_stale(tmp_path):
    """A claimant that died between creating its claim file and writing it: waited for while young, then taken."""
    final_dir = tmp_path / "tracks" / "0123456789abcdef"
    final_dir.parent.mkdir(parents=True)
    claim_path(final_dir).touch()
    assert claims.take(final_dir, "young000", wait=False) is None
    stamp = time.time() - CLAIM_STALE_S - 1
    os.utime(claim_path(final_dir), (stamp, stamp))
    mine = claims.take(final_dir, "mine0000", wait=False)
    assert mine is not None and (mine.host, mine.pid) == (socket.gethostname(), os.getpid())
    assert json.loads(claim_path(final_dir).read_text())["token"] == "mine0000"
    claims.release(final_dir, "someone")  # another attempt's token: the claim stays
    assert claim_path(final_dir).exists()
    claims.release(final_dir, "mine0000")
    assert not claim_path(final_dir).exists() and not list(final_dir.parent.iterdir())


def test_the_heartbeat_touches_the_claims_held_and_forgets_lost_ones(tmp_path):
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    kept, lost = tracks / "aaaaaaaaaaaaaaaa", tracks / "bbbbbbbbbbbbbbbb"
    for final_dir, token in ((kept, "keep0000"), (lost, "lose0000")):
        assert claims.take(final_dir, token, wait=False) is not None
        stamp = time.time() - 120
        os.utime(claim_path(final_dir), (stamp, stamp))
    _write_claim(lost, "another-host.example", 1)  # taken over meanwhile (as if this process had stalled)
    claims.touch_held()
    assert time.time() - claim_path(kept).stat().st_mtime < 60, "a held claim is touched"
    assert json.loads(claim_path(lost).read_text())["host"] == "another-host.example", "the new holder's is kept"
    stamp = time.time() - 120
    os.utime(claim_path(lost), (stamp, stamp))
    claims.touch_held()
    assert time.time() - claim_path(lost).stat().st_mtime > 60, "another's claim is not kept alive by this process"
    claims.release(kept, "keep0000")
    assert not claim_path(kept).exists()


@pytest.mark.parametrize("limit_s, status", [(0.5, "failed"), (5.0, "ingested")])
def test_max_duration_refuses_longer_inputs_without_remembering(tmp_path, limit_s, status):
    """The limit is a guard of the run: not in the track id, and a refusal is retried without it."""
    path = music(tmp_path / "song.flac", seconds=1.0)
    out = tmp_path / "out"
    guarded = ingest([str(path)], out, IngestOptions(ladder="hls-aac", qa="off", max_duration_s=limit_s), jobs=1)
    (result,) = guarded.results
    assert result.status == status
    if status == "failed":
        assert result.stage == "max-duration" and str(path) in result.error and "0.5 s" in result.error
        assert not (out / TRACKS_DIR / result.track_id).exists() and not partial_folders(out)
        with Catalog(out) as catalog:
            assert catalog.known_failures() == {} and len(catalog.failures()) == 1
    unguarded = ingest([str(path)], out, OPTIONS, jobs=1)
    assert unguarded.results[0].track_id == result.track_id, "the limit does not change the track id"
    assert unguarded.results[0].status == ("ingested" if status == "failed" else "unchanged")


def test_a_damaged_input_under_a_limit_fails_as_damaged_and_is_remembered(tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + bytes(range(256)) * 40)
    out = tmp_path / "out"
    (result,) = ingest([str(broken)], out, IngestOptions(ladder="hls-aac", max_duration_s=60), jobs=1).results
    assert result.status == "failed" and result.stage == "probe"
    with Catalog(out) as catalog:
        assert list(catalog.known_failures()) == [result.track_id]


def test_cli_max_duration(tmp_path):
    path = music(tmp_path / "song.wav", seconds=1.5)
    done = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "ingest", str(path), "-o", str(tmp_path / "out"),
                           "--max-duration", "1", "--json"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stderr
    (failure,) = json.loads(done.stdout)["failures"]
    assert failure["stage"] == "max-duration"
    assert failure["error"] == (f"{path}: lasts 1.5 s, longer than the limit of 1 s (max_duration_s, audiokit ingest "
                                "--max-duration); raise the limit to accept it")
    usage = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "ingest", str(path), "-o", str(tmp_path / "o2"),
                            "--max-duration", "0"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert usage.returncode == 2
