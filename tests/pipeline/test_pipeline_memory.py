"""Peak memory of ``audiokit ingest`` does not grow with the track's duration.

The core stages decode the track once in blocks and stream it to the loudness
meter and every encoder (audiokit.transcode.engine); the catalog stages
(peaks, fingerprint, report) ride that pass as block consumers. The model
stages (``--stages all``) keep their shared 16 kHz mono signal in a temporary
file and read it in windows (audiokit/pipeline/model_stages.py). Peak RSS is
therefore set by block, batch and model sizes. Each ingest runs in a fresh
process that reports its own peak RSS (``getrusage``, itself and any worker it
waited for), its RSS once the CLI module is imported (the
heavy modules load later, lazily), and ``/proc/self/smaps_rollup``
read when its RSS reached its peak (a sampling thread polls ``/proc/self/status``).

The slow 3-hour case writes its figures to ``benchmarks/results/memory_3h.json``
(one entry per stage selection), the file docs/benchmarks.md cites.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from _results import record
from _signals import notes
from scipy.signal import lfilter

import audiokit
from audiokit.io.resample import resample
from audiokit.pipeline import read_manifest
from audiokit.pipeline.context import StageSkipped, TrackContext
from audiokit.pipeline.model_stages import MODEL_STAGES

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RATE = 48000
#: Programme generated and written this many seconds at a time (the generator is bounded too).
CHUNK_S = 10
#: The old whole-file ingest grew by about 155 MB per minute of 48 kHz stereo; streaming must stay within this
#: of the 2-minute track's peak on a 12-minute one (about 1.5 MB/min for the meters' 10 ms energies and QA's
#: mel segments is what legitimately grows).
GROWTH_ALLOWANCE_MB = 40
#: With the model stages, what legitimately grows from a 2- to a 12-minute talk programme is small: the
#: transcript's segments and words, the analysis's per-frame features (23.2 ms hop), the tags' 3 s timelines
#: and Silero's 32 ms probabilities (test_model_stages_hold_no_whole_track_signal traces them); the rest of
#: the allowance is the core stages' growth (GROWTH_ALLOWANCE_MB) and allocator noise between runs of torch,
#: ONNX Runtime and CTranslate2. The whole-track signals the model stages used to hold grew by 3.8 MB a minute
#: (16 kHz mono, twice that while it was joined from blocks) and 23 MB a minute (48 kHz stereo, decoded
#: whole for moderation's audio checks).
ALL_STAGES_GROWTH_ALLOWANCE_MB = 40
#: The model stages run in this process on 100 s and 180 s of the music-like programme (both fill the tagger's
#: batch of 32 patches, 96 s): each stage's peak of traced (Python and numpy) memory may grow by this much.
#: 80 s more of the shared 16 kHz mono signal are 5.1 MB (10.2 MB while it was joined from blocks), of the
#: 48 kHz stereo track 31 MB; what legitimately grows is per-frame results: the analysis's features at a
#: 23.2 ms hop, the tags' 3 s timelines, the 32 ms VAD scores and the audio checks' 50 ms frame sums.
TRACED_GROWTH_ALLOWANCE_MB = 2.0
#: The stage selections measured: the core stages, the core with the catalog stages riding its pass, and
#: every stage (the model stages too).
CORE = "core"
CATALOG = "core,peaks,fingerprint,report"
ALL = "all"
#: The issue's targets for a 3-hour 48 kHz stereo episode, by stage selection.
THREE_HOUR_LIMIT_MB = {CORE: 300, CATALOG: 900, ALL: 900}
THREE_HOUR_S = 3 * 3600
#: Where the slow 3-hour case records what it measured.
THREE_HOUR_RESULTS = ROOT / "benchmarks" / "results" / "memory_3h.json"
#: Where the 2- and 12-minute growth tests record theirs, by stage selection.
GROWTH_RESULTS = ROOT / "benchmarks" / "results" / "memory_growth.json"
#: The figures of a measured run kept in GROWTH_RESULTS.
_GROWTH_FIELDS = ("peak_rss_mb", "peak_rss_by_process_mb", "sampled_tree_peak_mb", "workers_at_tree_peak", "seconds",
                  "cpu_s")

#: Set in a measured process's environment, it also traces Python's allocations (tracemalloc) and keeps the
#: largest at each new peak of RSS: what numpy and Python hold, as against native memory (codecs, muxers).
TRACE_ENV = "AUDIOKIT_MEMORY_TRACE"

_MEASURE = """
import json, os, resource, sys, threading, time, tracemalloc
tracing = bool(os.environ.get("AUDIOKIT_MEMORY_TRACE"))
if tracing:
    tracemalloc.start()
started = time.monotonic()
import audiokit
if os.environ.get("AUDIOKIT_MEASURE_TREE"):  # that checkout's cli/ too, not the one the install maps
    audiokit.__path__.append(os.environ["AUDIOKIT_MEASURE_TREE"])
from audiokit.cli.main import cli

def rss_kb(pid="self", field="VmRSS:"):
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))
    except (OSError, StopIteration):  # the process ended, or is a zombie without VmRSS
        return 0

def descendants(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += [child] + descendants(child)
    except OSError:
        pass
    return found

def tree_rss_kb():  # this process and every process it started (ingest's worker): what the ingest needs
    return rss_kb() + sum(rss_kb(child) for child in descendants(os.getpid()))

def smaps_kb(pid="self"):
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return {fields[0].rstrip(":"): int(fields[1]) for fields in map(str.split, rollup) if fields[-1] == "kB"}

def rss_by_mapping_kb(pid):  # resident memory by what is mapped: Numba's LLVM, other files, anonymous memory
    groups = {"llvmlite": 0, "other files": 0, "anonymous": 0}
    kind = None
    try:
        with open(f"/proc/{pid}/smaps") as smaps:
            for line in smaps:
                fields = line.split()
                if not fields[0].endswith(":"):  # a mapping's header: address range, perms, offset, dev, inode, path
                    path = fields[5] if len(fields) > 5 else ""
                    kind = ("llvmlite" if "libllvmlite" in path else
                            "other files" if path.startswith("/") else "anonymous")
                elif fields[0] == "Rss:":
                    groups[kind] += int(fields[1])
    except OSError:
        return {}
    return groups

figures = {"rss_after_cli_import_mb": rss_kb() / 1024, "timeline": [], "cli": sys.modules["audiokit.cli.main"].__file__}
import audiokit.pipeline  # what the ingest process imports first (its worker imports the rest)
figures["rss_after_core_imports_mb"] = rss_kb() / 1024
peak = {"rss_kb": 0, "traced_kb": 0, "tree_rss_kb": 0}
children_hwm_kb = {}
done = threading.Event()

def trace(rss):
    snapshot = tracemalloc.take_snapshot()
    top = snapshot.statistics("lineno")[:20]
    peak.update(traced_kb=rss, traced={
        "rss_mb": round(rss / 1024, 1), "traced_mb": round(tracemalloc.get_traced_memory()[0] / 2**20, 1),
        "largest": [[str(stat.traceback[0]), round(stat.size / 2**20, 2)] for stat in top]})

def sample():
    last_logged = -60.0
    while not done.wait(0.5):
        now, rss, tree = time.monotonic() - started, rss_kb(), tree_rss_kb()
        for child in descendants(os.getpid()):  # each child's own peak so far (VmHWM only rises)
            children_hwm_kb[child] = max(children_hwm_kb.get(child, 0), rss_kb(child, "VmHWM:"))
        if tree > peak["tree_rss_kb"]:
            peak["tree_rss_kb"] = tree
            processes = [child for child in descendants(os.getpid()) if rss_kb(child)]
            if processes:  # the largest worker's memory by mapping at the tree's peak
                largest = max(processes, key=rss_kb)
                peak["worker"] = {"seconds": round(now), "rss_by_process_mb": {
                    child: round(rss_kb(child) / 1024, 1) for child in processes}, "largest_mb_by_mapping": {
                    kind: round(kb / 1024, 1) for kind, kb in rss_by_mapping_kb(largest).items()}}
        if rss > peak["rss_kb"]:
            peak.update(rss_kb=rss, seconds=now, smaps=smaps_kb())
            if tracing and rss > peak["traced_kb"] + 4096:
                trace(rss)
        if now - last_logged >= 60:
            figures["timeline"].append([round(now), round(tree / 1024, 1)])
            last_logged = now

threading.Thread(target=sample, daemon=True).start()
try:
    cli(sys.argv[2:], prog_name="audiokit")
finally:
    done.set()
    workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    # The ingest process and the processes it started run side by side. Their peak is the sum of each one's
    # own peak (VmHWM, which the kernel keeps exactly; getrusage's for the largest child, which also covers
    # a rise after the last sample): an upper bound of the summed RSS that a 0.5 s sampling of the sum
    # would catch or miss by luck on a short rise (the tagger's forward pass). This process's own peak is its
    # VmHWM: getrusage's would include the RSS of the process it was forked from (kept across exec).
    own_kb = rss_kb(field="VmHWM:")
    child_peaks_kb = sorted(children_hwm_kb.values(), reverse=True) or [0]
    child_peaks_kb[0] = max(child_peaks_kb[0], workers_kb)
    figures.update(peak_rss_mb=max(own_kb + sum(child_peaks_kb), peak["tree_rss_kb"]) / 1024,
                   peak_rss_by_process_mb={"ingest": own_kb / 1024, "largest_worker": child_peaks_kb[0] / 1024,
                                           "other_children": sum(child_peaks_kb[1:]) / 1024},
                   sampled_tree_peak_mb=peak["tree_rss_kb"] / 1024, seconds=time.monotonic() - started,
                   cpu_s=sum(use.ru_utime + use.ru_stime for use in cpu),
                   sampled_peak={"seconds": peak.get("seconds"),
                                 "smaps_rollup_mb": {key: round(value / 1024, 1)
                                                     for key, value in peak.get("smaps", {}).items()},
                                 "tracemalloc": peak.get("traced")},
                   workers_at_tree_peak=peak.get("worker"))
    with open(sys.argv[1], "w") as handle:
        json.dump(figures, handle)
"""


def programme(path: Path, duration_s: float, *, seed: int = 0) -> Path:
    """Music-like stereo FLAC of ``duration_s``: harmonic notes over a low-passed noise bed, written in chunks."""
    rng = np.random.default_rng(seed)
    state = np.zeros((2, 1))
    with audiokit.io.writer.AudioWriter(path, SAMPLE_RATE, 2, bit_depth=16) as writer:
        for start in np.arange(0.0, duration_s, CHUNK_S):
            seconds = min(CHUNK_S, duration_s - start)
            bed, state = lfilter([0.05], [1.0, -0.95], rng.standard_normal((2, round(seconds * SAMPLE_RATE))),
                                 axis=1, zi=state)
            chunk = 0.2 * notes(SAMPLE_RATE, seconds, rng) + 0.5 * bed
            writer.write(np.clip(chunk, -1.0, 1.0).astype(np.float32))
    return path


def talk_programme(path: Path, minutes: float, *, seed: int = 0) -> Path:
    """The espeak-ng episode of at least ``minutes`` (tests/_episodes.py) as a 48 kHz stereo FLAC: speech-dominant."""
    from _episodes import episode

    spoken = episode(minutes, seed)
    samples = resample(spoken.samples, spoken.sample_rate, SAMPLE_RATE)[0]
    step = CHUNK_S * SAMPLE_RATE
    with audiokit.io.writer.AudioWriter(path, SAMPLE_RATE, 2, bit_depth=16) as writer:
        for start in range(0, samples.size, step):
            chunk = samples[start : start + step]
            writer.write(np.stack([chunk, 0.8 * chunk]))
    return path


def ingest_memory(source: Path, out: Path, stages: str = CORE, *, trace: bool = False,
                  environment: dict | None = None, tree: Path = ROOT) -> dict:
    """What a fresh process running ``audiokit ingest SOURCE -o OUT --stages STAGES`` measured of itself.

    ``peak_rss_mb`` (the ingest process and those it started together: the sum of each one's own peak,
    an upper bound of their summed RSS), ``peak_rss_by_process_mb`` (the ingest process, its largest
    child (the worker) and the other children summed: multiprocessing's resource tracker and any warm-up),
    ``rss_after_cli_import_mb``, ``rss_after_core_imports_mb``, ``seconds`` and ``cpu_s`` (user + system,
    worker included), a ``timeline`` of [seconds, summed RSS MB] once a minute, ``sampled_peak``
    (the ingest process's own smaps_rollup at its sampled peak and, with ``trace``, tracemalloc's largest
    allocation sites there), ``workers_at_tree_peak`` (each child's RSS when the summed RSS peaked, and the
    largest one's resident memory split into Numba's LLVM library, other mapped files and anonymous memory) and ``stage_seconds`` from the manifest. The manifest is
    checked: the whole source decoded, loudness measured, every rendition shipped, and
    each selected stage done (the transcript skipped only when the track is not
    speech-dominant). The process runs in ``tree``, whose ``audiokit`` it imports.
    """
    report = out.with_suffix(".rss.json")
    command = [sys.executable, "-c", _MEASURE, str(report), "ingest", str(source), "-o", str(out), "--stages", stages]
    environment = {**os.environ, **(environment or {}), **({TRACE_ENV: "1"} if trace else {})}
    run = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=4 * 3600, env=environment)
    assert run.returncode == 0, run.stderr
    (manifest_path,) = out.glob("tracks/*/manifest.json")
    manifest = read_manifest(manifest_path)
    assert manifest["source"]["num_frames"] == audiokit.probe(source).num_frames
    assert manifest["loudness"]["integrated_lufs"] is not None
    assert len(manifest["ladder"]["renditions"]) == 7 and not manifest["degraded"]
    selected = set(manifest["stages"]) if stages == ALL else set(stages.split(",")) - {CORE}
    for name in selected:
        speech_dominant = (manifest.get("speech") or {}).get("speech_dominant")
        expected = "skipped" if name == "transcript" and not speech_dominant else "ok"
        assert manifest["stages"][name]["status"] == expected, (name, manifest["stages"][name])
    figures = json.loads(report.read_text())
    figures["stage_seconds"] = {name: stage["seconds"] for name, stage in manifest["stages"].items()}
    return figures


@pytest.mark.parametrize("stages", [CORE, CATALOG])
def test_memory_does_not_grow_with_duration(tmp_path, stages):
    runs = {"2 min": ingest_memory(programme(tmp_path / "short.flac", 120), tmp_path / "short", stages),
            "12 min": ingest_memory(programme(tmp_path / "long.flac", 720, seed=1), tmp_path / "long", stages)}
    short, long = record_growth(stages, "music-like programme", runs)
    assert long - short < GROWTH_ALLOWANCE_MB, f"peak RSS {short:.0f} MB at 2 min, {long:.0f} MB at 12 min"


def record_growth(stages: str, material: str, runs: dict[str, dict]) -> tuple[float, float]:
    """Record the 2- and 12-minute runs of ``stages`` in GROWTH_RESULTS; their peak RSS, MB."""
    record(GROWTH_RESULTS, stages, {"material": f"{material}, 48 kHz stereo FLAC", "growth_allowance_mb":
                                    ALL_STAGES_GROWTH_ALLOWANCE_MB if stages == ALL else GROWTH_ALLOWANCE_MB,
                                    **{length: {field: run[field] for field in _GROWTH_FIELDS}
                                       for length, run in runs.items()}})
    return runs["2 min"]["peak_rss_mb"], runs["12 min"]["peak_rss_mb"]


@pytest.mark.slow
def test_all_stages_memory_does_not_grow_with_duration(tmp_path):
    """Every stage, the model stages transcribing a talk programme: the 12-minute peak stays near the 2-minute one."""
    runs = {}
    for minutes, seed in ((2, 0), (12, 1)):
        source = talk_programme(tmp_path / f"talk-{minutes}.flac", minutes, seed=seed)
        runs[f"{minutes} min"] = ingest_memory(source, tmp_path / f"out-{minutes}", ALL)
        (manifest_path,) = (tmp_path / f"out-{minutes}").glob("tracks/*/manifest.json")
        assert read_manifest(manifest_path)["stages"]["transcript"]["status"] == "ok"  # it really transcribed
    short, long = record_growth(ALL, "espeak-ng talk programme", runs)
    assert long - short < ALL_STAGES_GROWTH_ALLOWANCE_MB, (short, long)


def model_stage_peaks_mb(source: Path, work_dir: Path) -> dict[str, float]:
    """Each model stage's peak of traced memory, MB, run on ``source`` in this process (tracemalloc)."""
    work_dir.mkdir()
    context = TrackContext(path=source, work_dir=work_dir, settings={"stages": [stage.name for stage in MODEL_STAGES]})
    peaks = {}
    tracemalloc.start()
    try:
        for stage in MODEL_STAGES:
            tracemalloc.reset_peak()
            try:
                context.results[stage.name] = stage.run(context)
            except StageSkipped:  # the transcript of music
                pass
            peaks[stage.name] = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert {stage.name for stage in MODEL_STAGES} - set(context.results) == {"transcript"}
    return peaks


def test_model_stages_hold_no_whole_track_signal(tmp_path):
    """Tags, analysis, speech and moderation on 180 s trace about what they trace on 100 s."""
    for stage in MODEL_STAGES:
        if stage.load is not None:
            stage.load()
    # a first short run makes the stages' lazy imports, which tracemalloc would count
    model_stage_peaks_mb(programme(tmp_path / "warm-up.flac", 5), tmp_path / "warm-up")
    short = model_stage_peaks_mb(programme(tmp_path / "short.flac", 100), tmp_path / "short")
    long = model_stage_peaks_mb(programme(tmp_path / "long.flac", 180, seed=1), tmp_path / "long")
    print("traced peaks (MB) at 100 s and 180 s:", {name: (round(short[name], 1), round(long[name], 1))
                                                    for name in short})
    for name in short:
        assert long[name] - short[name] < TRACED_GROWTH_ALLOWANCE_MB, (name, short[name], long[name])


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def record_three_hours(episode: Path, out: Path, stages: str) -> dict:
    """:func:`ingest_memory` of the 3-hour ``episode`` (:func:`programme`, seed 0), recorded in THREE_HOUR_RESULTS."""
    commit, date = _commit(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    figures = ingest_memory(episode, out, stages)
    figures.update(stages=stages, duration_s=THREE_HOUR_S, sample_rate=SAMPLE_RATE, channels=2,
                   limit_mb=THREE_HOUR_LIMIT_MB[stages], commit=commit, date=date)
    record(THREE_HOUR_RESULTS, stages, figures, machine=False)
    return figures


@pytest.mark.slow
@pytest.mark.parametrize("stages", [CORE, CATALOG, ALL])
def test_three_hour_episode_memory(tmp_path, stages):
    figures = record_three_hours(programme(tmp_path / "episode.flac", THREE_HOUR_S), tmp_path / "out", stages)
    print(f"peak RSS of ingest --stages {stages} on a 3-hour 48 kHz stereo episode: {figures['peak_rss_mb']:.0f} MB "
          f"({figures['rss_after_core_imports_mb']:.0f} MB once the core modules were imported)")
    assert figures["peak_rss_mb"] <= THREE_HOUR_LIMIT_MB[stages]


def profile(duration_s: float, stages: str, folder: Path) -> dict:
    """:func:`ingest_memory` of a generated programme of ``duration_s``, tracing Python's allocations."""
    figures = ingest_memory(programme(folder / "programme.flac", duration_s), folder / "out", stages, trace=True)
    figures.update(stages=stages, duration_s=duration_s, sample_rate=SAMPLE_RATE, channels=2, commit=_commit(),
                   date=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return figures


def compare(before_tree: Path, after_tree: Path, duration_s: float, stages: str, rounds: int, folder: Path) -> dict:
    """Whole-process ingest of one programme with the library of ``before_tree`` and of ``after_tree``, interleaved.

    Each tree is a clean checkout of a commit (``git worktree add``); the same interpreter
    runs in it and imports its ``audiokit``. A first round of
    each warms the kernel caches (one per tree) and is discarded. Returns every round's
    figures and the medians' ratios after/before.
    """
    source = programme(folder / "programme.flac", duration_s)
    trees = {"before": before_tree.resolve(), "after": after_tree.resolve()}
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for round_index in range(rounds + 1):
        for name, tree in trees.items():
            cache = f"{os.environ.get('NUMBA_CACHE_DIR', '/tmp/numba')}-{name}"
            measured = ingest_memory(source, folder / f"{name}-{round_index}", stages, tree=tree,
                                     environment={"PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": cache,
                                                  "AUDIOKIT_MEASURE_TREE": str(tree)})
            if round_index:
                runs[name].append({key: measured[key] for key in ("seconds", "cpu_s", "peak_rss_mb", "stage_seconds",
                                                                  "cli")})
    medians = {name: {key: float(np.median([run[key] for run in runs[name]])) for key in ("seconds", "cpu_s",
                                                                                          "peak_rss_mb")}
               for name in runs}
    commit = {name: subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True,
                                   text=True).stdout.strip() for name, tree in trees.items()}
    return {"stages": stages, "duration_s": duration_s, "sample_rate": SAMPLE_RATE, "channels": 2, "rounds": rounds,
            "commit": commit, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "runs": runs,
            "medians": medians, "after_over_before": {key: medians["after"][key] / medians["before"][key]
                                                     for key in medians["after"]}}


if __name__ == "__main__":
    # PYTHONPATH=tests python tests/pipeline/test_pipeline_memory.py profile MINUTES [STAGES]: where the memory
    #   of one ingest goes, into benchmarks/results/memory_profile.json under "STAGES@MINUTES min" (tracing
    #   slows the run).
    # PYTHONPATH=tests python tests/pipeline/test_pipeline_memory.py compare BEFORE_TREE AFTER_TREE MINUTES STAGES
    #   ROUNDS: two commits' whole-process ingest, into memory_before_after.json.
    import tempfile

    results_dir = ROOT / "benchmarks" / "results"
    with tempfile.TemporaryDirectory() as scratch:
        if sys.argv[1] == "profile":
            minutes, selection = float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else CORE
            measured = profile(minutes * 60, selection, Path(scratch))
            record(results_dir / "memory_profile.json", f"{selection}@{minutes:g} min", measured, machine=False)
        else:
            minutes, selection = float(sys.argv[4]), sys.argv[5]
            measured = compare(Path(sys.argv[2]), Path(sys.argv[3]), minutes * 60, selection, int(sys.argv[6]),
                               Path(scratch))
            record(results_dir / "memory_before_after.json", f"{selection}@{minutes:g} min", measured, machine=False)
    print(json.dumps({key: value for key, value in measured.items() if key not in ("timeline", "runs")}, indent=1))
