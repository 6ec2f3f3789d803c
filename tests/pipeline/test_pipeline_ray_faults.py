"""The Ray executor under faults, and its model actor pool, on a local 2-CPU Ray runtime.

The tests add stages of their own to the real ones (pickled by value, so
Ray workers need not import this module): one that hangs the first time it
sees a given track, so that the test can kill the worker running it, and
model stages that log which process loaded and ran them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from _batch import manifests, music, partial_folders

from audiokit._files import file_sha256
from audiokit.errors import ParameterError
from audiokit.pipeline import Catalog, IngestOptions, ingest, read_manifest
from audiokit.pipeline.claims import process_alive
from audiokit.pipeline.identity import track_id
from audiokit.pipeline.ray_executor import run_ray
from audiokit.pipeline.stages import STAGES, Stage, resolve_stages
from audiokit.pipeline.track import TRACKS_DIR

ray = pytest.importorskip("ray", reason="needs the optional extra audiokit[ray]")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

CORE = resolve_stages("core")
VICTIM = "victim.flac"
HANG_S = 120.0


def _hang_once(context) -> None:
    """Hang on the victim's first attempt (after the ladder wrote its files); later attempts pass."""
    marker = context.path.with_name(context.path.name + ".pid")
    if context.path.name == VICTIM and not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(HANG_S)


def _log_pid(log: Path, context=None) -> None:
    with open(log, "a") as file:
        file.write(f"{os.getpid()}\n")


def _pids(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


@pytest.fixture
def batch(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    paths = [music(folder / "one.flac", seed=1), music(folder / VICTIM, seed=2), music(folder / "three.flac", seed=3)]
    return sorted(paths)


def _kill_victim_when_it_hangs(folder: Path) -> threading.Thread:
    """SIGKILL the worker process that hangs in _hang_once (as the OOM killer or a lost node would)."""
    def kill() -> None:
        marker = folder / (VICTIM + ".pid")
        deadline = time.monotonic() + HANG_S
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline, "the victim never started"
            time.sleep(0.05)
        os.kill(int(marker.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def _run(paths, out: Path, stages, **options) -> dict:
    results = {}
    settings = IngestOptions().track_settings()
    run_ray(paths, out, settings, stages, lambda index, result: results.__setitem__(Path(paths[index]).name, result),
            num_cpus=0.5, **options)
    return results


def test_a_worker_killed_mid_track_is_retried_and_the_track_completes(ray_runtime, batch, tmp_path):
    stages = CORE + (Stage("hang_once", _hang_once, core=True),)
    killer = _kill_victim_when_it_hangs(batch[0].parent)
    results = _run(batch, tmp_path / "out", stages, max_retries=1)
    killer.join(timeout=5)
    assert {name: result.status for name, result in results.items()} == dict.fromkeys(
        ("one.flac", VICTIM, "three.flac"), "ingested")
    assert not partial_folders(tmp_path / "out"), "the killed attempt's partial folder was removed by the retry"
    victim = read_manifest(Path(results[VICTIM].manifest_path))
    assert victim["stages"]["hang_once"]["status"] == "ok"
    assert all(Path(path).stat().st_size > 0 for path in (Path(results[VICTIM].manifest_path).parent / "renditions").iterdir())


def test_a_killed_worker_without_retries_fails_its_track_and_a_rerun_completes_it(ray_runtime, batch, tmp_path):
    stages = CORE + (Stage("hang_once", _hang_once, core=True),)
    out = tmp_path / "out"
    killer = _kill_victim_when_it_hangs(batch[0].parent)
    first = _run(batch, out, stages, max_retries=0)
    killer.join(timeout=5)
    assert first[VICTIM].status == "failed" and "ray task failed" in first[VICTIM].error
    # The failure names the track (from the input's sha256), so the catalog remembers it under its id.
    sha = file_sha256(batch[0].parent / VICTIM)
    assert (first[VICTIM].input_sha256, first[VICTIM].track_id) == (sha, track_id(sha, IngestOptions().track_settings()))
    assert first["one.flac"].status == first["three.flac"].status == "ingested"
    # The dead worker's work is only in its hidden partial folder: no track folder, no manifest.
    assert len(partial_folders(out)) == 1
    track_folders = [path for path in (out / TRACKS_DIR).iterdir() if not path.name.startswith(".")]
    assert len(track_folders) == 2 and all((path / "manifest.json").is_file() for path in track_folders)
    # Ray reports the task lost as soon as the worker's socket closes, which can be before the kernel has
    # finished tearing the SIGKILLed process down; a rerun takes its partial folder for abandoned only after.
    victim_pid = int((batch[0].parent / (VICTIM + ".pid")).read_text())
    deadline = time.monotonic() + 30
    while process_alive(victim_pid) and time.monotonic() < deadline:
        time.sleep(0.1)

    again = _run(batch, out, stages, max_retries=0)
    assert {name: result.status for name, result in again.items()} == {
        "one.flac": "unchanged", VICTIM: "ingested", "three.flac": "unchanged"}
    assert not partial_folders(out)
    assert len(manifests(out)) == 3


def test_model_stages_run_in_actors_that_load_once(ray_runtime, batch, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    stages = CORE + (Stage("core_pid", partial(_log_pid, logs / "core"), core=True),
                     Stage("model_pid", partial(_log_pid, logs / "runs"), core=False,
                           load=partial(_log_pid, logs / "loads")))
    results = _run(batch, tmp_path / "out", stages, model_actors=1)
    assert [result.status for result in results.values()] == ["ingested"] * 3
    [actor] = _pids(logs / "loads")  # one actor, which loaded its model once
    assert _pids(logs / "runs") == [actor] * 3  # and ran every track's model stage
    assert actor not in _pids(logs / "core") and len(_pids(logs / "core")) == 3  # the core stages ran in tasks
    for result in results.values():
        manifest = read_manifest(Path(result.manifest_path))
        assert list(manifest["stages"]) == [stage.name for stage in stages]
        assert (Path(result.manifest_path).parent / "renditions").is_dir()
    assert not partial_folders(tmp_path / "out")


def test_real_model_stages_under_ray_match_local(ray_runtime, batch, tmp_path):
    options = IngestOptions(stages="tags,speech")
    local = ingest([str(path) for path in batch], tmp_path / "local", options, jobs=1)
    remote = ingest([str(path) for path in batch], tmp_path / "ray", options, executor="ray", ray_num_cpus=0.5,
                    model_actors=1)
    assert local.counts == remote.counts == {"ingested": 3}
    local_manifests, ray_manifests = manifests(tmp_path / "local"), manifests(tmp_path / "ray")
    for track, manifest in ray_manifests.items():
        assert {name: report["status"] for name, report in manifest["stages"].items()} == dict.fromkeys(
            ("probe", "decode", "loudness", "ladder", "tags", "speech"), "ok")
        # The networks' float32 sums depend on the thread count (Ray actors get one per CPU they ask for).
        expected = local_manifests[track]
        assert manifest["tags"]["MTT_musicnn"]["embedding"] == pytest.approx(
            expected["tags"]["MTT_musicnn"]["embedding"], abs=1e-4)
        assert [label for label, _ in manifest["tags"]["MTT_musicnn"]["tags"]] == [
            label for label, _ in expected["tags"]["MTT_musicnn"]["tags"]]
        assert manifest["speech"] == pytest.approx(expected["speech"], abs=1e-4)
        assert {key: value for key, value in manifest.items() if key not in ("tags", "speech")} == {
            key: value for key, value in expected.items() if key not in ("tags", "speech")}


@pytest.mark.parametrize("options, message", [
    ({"model_actors": 4, "num_cpus": 0.5}, "leave no room"),
    ({"gpus_per_model": 1}, "has 0 GPUs"),
    ({"gpus_per_model": -1}, "expected a number >= 0"),
    ({"model_actors": 0}, "model_actors is 0"),
])
def test_model_pools_the_cluster_cannot_hold_are_refused(ray_runtime, batch, tmp_path, options, message):
    with pytest.raises(ParameterError, match=message):
        run_ray(batch, tmp_path / "out", {}, STAGES, lambda index, result: None, **options)
    assert not (tmp_path / "out").exists()


def test_ray_options_need_the_ray_executor(batch, tmp_path):
    for option in ({"model_actors": 2}, {"gpus_per_model": 1.0}, {"address": "auto"}):
        with pytest.raises(ParameterError, match="only for executor='ray'"):
            ingest([str(path) for path in batch], tmp_path / "out", **option)


def _session_processes(session_id: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp session
        except OSError:  # the process has exited
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _kill_session(session_id: int) -> None:
    """SIGKILL every process of a session: a driver started with start_new_session, its Ray runtime and workers
    (each worker has a process group of its own, but stays in the driver's session), until none is left."""
    deadline = time.monotonic() + 30
    while pids := _session_processes(session_id):
        assert time.monotonic() < deadline, f"processes {pids} survived SIGKILL"
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def test_a_killed_driver_is_resumed_by_a_rerun(tmp_path):
    """SIGKILL mid-batch the CLI driver, the local Ray runtime it started and its workers (a lost machine)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in range(4):
        music(folder / f"song {seed}.flac", seconds=8.0, seed=seed)
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "audiokit.cli.main", "ingest", str(folder), "-o", str(out),
                               "--executor", "ray", "--ray-cpus", "1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    # Two 1-CPU tasks at a time on 2 CPUs: when the first manifest lands, the last two tracks have barely begun.
    deadline = time.monotonic() + 300
    while not list(out.glob("tracks/*/manifest.json")) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.poll() is None, "the batch finished before its driver could be killed; make the songs longer"
    _kill_session(driver.pid)
    driver.wait()
    done_before = {path.parent.name for path in out.glob("tracks/*/manifest.json")}
    assert 1 <= len(done_before) < 4

    again = ingest(str(folder), out, jobs=2)
    assert again.counts.get("unchanged", 0) == len(done_before) and again.failed == 0
    assert {path.parent.name for path in out.glob("tracks/*/manifest.json")} >= done_before
    assert len(manifests(out)) == 4 and not partial_folders(out)
    with Catalog(out) as catalog:  # the rerun also recorded the tracks the killed driver never did
        assert len(catalog.tracks()) == 4
