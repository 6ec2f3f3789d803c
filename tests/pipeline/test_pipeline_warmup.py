"""The warm-up loads every kernel signature the core stages use, so no worker compiles one beside another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _batch import EXAMPLE, ROOT, compiler_resident_kb, music

from audiokit.pipeline import IngestOptions, read_manifest
from audiokit.pipeline.context import Stage, TrackContext
from audiokit.pipeline.executors import run_local
from audiokit.pipeline.stages import resolve_stages
from audiokit.pipeline.track import TrackResult

SCRIPT = """
import json, sys
from audiokit.pipeline.warmup import KERNEL_MODULES, warm_kernels
import importlib

def signatures():
    found = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if hasattr(value, "signatures") and hasattr(value, "py_func"):
                found[name + "." + attribute] = sorted(str(signature) for signature in value.signatures)
    return found

warm_kernels()
warmed = signatures()
from audiokit.transcode import build_ladder
for ladder in ("spotify-like", "podcast"):
    build_ladder(sys.argv[1], sys.argv[2] + "/" + ladder, ladder=ladder, qa="fast")
after = signatures()
print(json.dumps({name: sorted(set(after[name]) - set(warmed.get(name, []))) for name in after}))
"""


def test_a_ladder_after_the_warm_up_needs_no_new_kernel_signature(tmp_path):
    """Each signature a ladder dispatches (read-only blocks from the engine among them) is one the warm-up
    compiled or loaded: a worker never compiles, so two workers never write one cache entry at once."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(EXAMPLE), str(tmp_path)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    new = {name: found for name, found in json.loads(done.stdout.splitlines()[-1]).items() if found}
    assert new == {}, new


def _compiler_resident(context: TrackContext) -> dict:
    """A stage that reports how much of LLVM's library the process running it holds resident, KB."""
    return {"pid": os.getpid(), "llvm_kb": compiler_resident_kb(os.getpid())}


def _loads_analysis_kernels(context: TrackContext) -> dict:
    """A stage that runs kernels the warm-up does not load (the analysis front end's): LLVM links them."""
    import numpy as np

    from audiokit.analysis._frames import frames_of

    frames = frames_of(np.zeros((1, 22050), np.float32), 22050)
    return {"frames": int(frames.rms.shape[0]), "llvm_kb": compiler_resident_kb(os.getpid())}


def test_a_worker_holds_no_compiler_pages_after_its_warm_up_and_each_stage(tmp_path):
    """The worker loads the pipeline's kernels (about 70 MB of LLVM resident) and gives those pages back; a
    stage that loads more kernels has them given back when it ends: the stage after it finds almost none."""
    path = music(tmp_path / "in.flac", seconds=3.0, sample_rate=48000)
    stages = (*resolve_stages("core"), Stage("analysis-kernels", _loads_analysis_kernels, core=True),
              Stage("compiler", _compiler_resident, core=True))
    settings = IngestOptions(qa="fast").track_settings()
    results: list[TrackResult] = []
    run_local([path], tmp_path / "out", settings, stages, lambda index, result: results.append(result), jobs=1)
    (result,) = results
    assert result.status == "ingested", result.error
    manifest = read_manifest(Path(result.manifest_path or ""))
    measured = manifest["compiler"]
    assert measured["pid"] != os.getpid()
    assert manifest["analysis-kernels"]["llvm_kb"] > 4_000, manifest["analysis-kernels"]  # linking ran LLVM
    assert measured["llvm_kb"] < 4_000, measured


IN_PROCESS = """
import json, math, os, sys
from _batch import compiler_resident_kb, music
from pathlib import Path
from audiokit.pipeline import IngestOptions, read_manifest
from audiokit.pipeline.context import Stage
from audiokit.pipeline.executors import run_local
from audiokit.pipeline.stages import resolve_stages

def first(context):
    import numpy as np
    from audiokit.loudness import measure
    measure(np.zeros((2, 48000), np.float32), 48000)  # a kernel every track runs
    return {"pid": os.getpid(), "llvm_kb": compiler_resident_kb(os.getpid())}

folder = Path(sys.argv[1])
path = music(folder / "in.flac", seconds=3.0, sample_rate=48000)
results = []
run_local([path], folder / "out", IngestOptions(qa="off").track_settings(),
          (Stage("first", first, core=True), *resolve_stages("core")),
          lambda index, result: results.append(result), jobs=1, track_timeout_s=math.inf)
print(json.dumps(read_manifest(Path(results[0].manifest_path))["first"]))
"""


def test_without_a_time_limit_the_driver_warms_the_kernels_and_gives_llvm_back_before_the_first_track(tmp_path):
    """--jobs 1 --track-timeout inf runs the track in the driver: a kernel its first stage runs is loaded already and
    LLVM holds almost nothing (loading it there left 70 MB of LLVM resident through the first stage)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "pipeline"), str(ROOT / "tests"),
                                                        os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", IN_PROCESS, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    assert measured["llvm_kb"] < 4_000, measured
