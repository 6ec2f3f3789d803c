"""The per-track time limit under the Ray executor: a hung task is cancelled, a hung model actor replaced.

The tests add stages of their own (pickled by value, so Ray workers need not
import this module) that hang on one named input, as a decoder stuck in a
loop or a deadlocked model would; the other tracks must complete and the
batch must end.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from _batch import manifests, music, partial_folders

from audiokit.pipeline import Catalog, IngestOptions, ingest
from audiokit.pipeline.claims import process_alive
from audiokit.pipeline.context import Stage, TrackContext
from audiokit.pipeline.ray_executor import run_ray
from audiokit.pipeline.stages import resolve_stages
from audiokit.pipeline.track import RUN_GUARD_STAGES, TEST_FAULT_ENV, TIME_LIMIT_STAGE, TRACKS_DIR, TrackResult

ray = pytest.importorskip("ray", reason="needs the optional extra audiokit[ray]")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

SETTINGS = IngestOptions(ladder="hls-aac", qa="off").track_settings()
#: The probe alone stands for the core stages: the tracks are about the time limit, not the ladder.
PROBE = resolve_stages("probe")
HANG_S = 3600.0
#: The batch's fixed time limit, s: a good 0.5 s track took 0.8-3.1 s (its ``seconds``, both halves) on the
#: shared 2-core machine at a load average of 14.
LIMIT_S = 15.0


def _hang_on(name: str, context: TrackContext) -> dict:
    """Hang (sleep) on the input named ``name``, writing this process's id next to it first."""
    if context.path.name == name:
        context.path.with_name(name + ".pid").write_text(str(os.getpid()))
        time.sleep(HANG_S)
    return {}


def _leftovers(out: Path) -> list[Path]:
    """Partial folders and claim files under ``out/tracks``."""
    return partial_folders(out) + sorted((out / TRACKS_DIR).glob(".*.claim*"))


@pytest.fixture(scope="module")
def faulty_ray():
    """A local Ray runtime of 2 CPUs whose workers hang in the probe stage of any input named hung.wav
    (the fault is in the environment the runtime gives its workers)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_FAULT_ENV, "probe:HANG:hung.wav")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield ray
        ray.shutdown()


def test_hung_core_and_model_stages_fail_on_their_time_limit_and_the_batch_ends(faulty_ray, tmp_path):
    """Four tracks on 2 CPUs, one model actor: one hangs in a task, one in the actor; the other two ship,
    among them one whose model stages waited behind the hung one in the actor that was killed."""
    from functools import partial

    folder = tmp_path / "in"
    folder.mkdir()
    names = ("a.wav", "b_core_hangs.wav", "c_model_hangs.wav", "d.wav")
    paths = [music(folder / name, seconds=0.5, seed=index) for index, name in enumerate(names)]
    stages = PROBE + (Stage("core_hang", partial(_hang_on, names[1]), core=True),
                      Stage("model_hang", partial(_hang_on, names[2]), core=False))
    out = tmp_path / "out"
    results: dict[str, TrackResult] = {}
    run_ray(paths, out, SETTINGS, stages, lambda index, result: results.__setitem__(paths[index].name, result),
            num_cpus=0.5, model_actors=1, track_timeout_s=LIMIT_S)

    assert {name: result.status for name, result in results.items()} == {
        "a.wav": "ingested", names[1]: "failed", names[2]: "failed", "d.wav": "ingested"}, \
        [result.error for result in results.values()]
    for name, how in ((names[1], "its Ray task (worker process"), (names[2], "its model actor (process")):
        failure = results[name]
        assert failure.stage == TIME_LIMIT_STAGE and failure.stage in RUN_GUARD_STAGES
        assert failure.error.startswith(f"took longer than {LIMIT_S:g} s, the time limit of a track"), failure.error
        assert how in failure.error
        assert failure.track_id is not None and failure.input_sha256 is not None
        hung_pid = int((folder / (name + ".pid")).read_text())
        assert not process_alive(hung_pid), f"the process hung on {name} was stopped"
    assert len(manifests(out)) == 2
    assert not _leftovers(out), "the stopped attempts' partial folders and claims were removed"


def test_ingest_passes_its_track_timeout_to_ray_and_the_catalog_does_not_remember_the_timeout(faulty_ray, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for index, name in enumerate(("good.wav", "hung.wav")):
        music(folder / name, seconds=0.5, seed=index)
    out = tmp_path / "out"
    summary = ingest(str(folder), out, IngestOptions(ladder="hls-aac", qa="off", track_timeout_s=LIMIT_S),
                     executor="ray", ray_num_cpus=0.5)
    assert summary.counts == {"ingested": 1, "failed": 1}
    (failure,) = summary.to_dict()["failures"]
    assert Path(failure["input_path"]).name == "hung.wav" and failure["stage"] == TIME_LIMIT_STAGE
    with Catalog(out) as catalog:
        (row,) = catalog.failures()
        assert row["stage"] == TIME_LIMIT_STAGE and row["track_id"] is None, "listed, not remembered"
        assert catalog.known_failures() == {}
    assert not _leftovers(out)
