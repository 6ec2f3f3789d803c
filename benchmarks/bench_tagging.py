"""Benchmark tagging and analysis on CPU against librosa, in one run.

Inputs: examples/example.flac (20 s, 44.1 kHz stereo) looped to a 300 s track,
and three 120 s FLAC files cut from it at different offsets. Contenders,
interleaved round by round (warm-up round discarded):

- ``audiokit_tag_musicnn_pair``: ``tag(track, model=["MTT_musicnn", "MSD_musicnn"])``,
  both musicnn models on one front end, in-process, torch at ``THREADS`` threads;
- ``audiokit_analyze``: ``analyze(track)`` as a user calls it (its speech/music
  segmentation runs Silero VAD and the MTT tagger);
- ``audiokit_analyze_with_tags``: ``analyze(track, tags=...)`` given the MTT
  result, as the ingest pipeline calls it;
- ``audiokit_analyze_energy``: ``analyze(track, segment_method="energy")``
  (no model at all: tempo, key, spectral, silence and the energy segmentation);
- ``librosa_beat_track`` and ``librosa_chroma_cqt_key``: the anchors;
- ``audiokit_tag_cli_3x120s``: ``audiokit tag`` on the three files, a whole
  process (interpreter start, imports, weights, decode, tagging) per round,
  with ``AUDIOKIT_TORCH_THREADS=THREADS``.

Each contender's CPU seconds (``os.times``: this process and its children) are
recorded beside the wall time: ``x_realtime_per_cpu_second`` is audio seconds per
CPU second, what one idle core would manage at perfect efficiency.

Run ``python benchmarks/bench_tagging.py``; writes benchmarks/results/tagging.json.
``python benchmarks/bench_tagging.py --profile`` writes benchmarks/results/tagging_profile.json
instead (:func:`profile`): where ``tag()``'s CPU time goes on the 300 s track, the
GMAC per CPU second of each front-end branch against float32 and bfloat16 matrix
products of the same machine, and how far bfloat16 and dynamic int8 move the scores
on the parity clips.
The machine these numbers come from is shared: read the load average in the
JSON next to the timings.
"""

from __future__ import annotations

import copy
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _harness import summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.analysis import analyze
from audiokit.analysis.tonality import PITCH_CLASSES, PROFILES
from audiokit.models.tagging import tag
from audiokit.models.tagging.tagger import THREADS_ENV, configure_threads

DURATION_S = 300.0
CLI_TRACK_S = 120.0
CLI_TRACKS = 3
REPEATS = 3
THREADS = 2
PAIR = ["MTT_musicnn", "MSD_musicnn"]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "example.flac"



def librosa_cqt_key(mono_22k: np.ndarray) -> str:
    """The key anchor: librosa has no key estimator, so its CQT chroma with the same 24 Krumhansl-Kessler templates."""
    import librosa

    chroma = librosa.feature.chroma_cqt(y=mono_22k, sr=22050).sum(axis=1)
    scores = [(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1], PITCH_CLASSES[tonic], mode)
              for mode, profile in zip(("major", "minor"), PROFILES["krumhansl"]) for tonic in range(12)]
    _, tonic, mode = max(scores)
    return f"{tonic} {mode}"

def _loop(clip: audiokit.Audio, duration_s: float, offset_s: float = 0.0) -> np.ndarray:
    start = int(offset_s * clip.sample_rate)
    frames = int(duration_s * clip.sample_rate)
    loops = int(np.ceil((start + frames) / clip.num_frames))
    return np.tile(clip.samples, loops)[:, start : start + frames]


def _cpu_timed(run, into: list[float]):
    """Wrap ``run`` to append its CPU seconds (this process and its children, user + system) to ``into``.

    On a loaded machine wall time measures the neighbours as much as the code;
    CPU seconds are what the code itself spent (OpenMP threads spinning while
    descheduled inflate them a little, so they err on the slow side).
    """

    def timed():
        before = os.times()
        run()
        after = os.times()
        into.append(sum(after[i] - before[i] for i in range(4)))

    return timed


#: multiply-accumulates of one 187-frame patch through each musicnn front-end branch
#: (filters x output frames x mel positions x kernel taps)
BRANCH_MACS = {
    "timbral_7x38": 204 * 187 * 59 * 38 * 7,
    "timbral_7x67": 204 * 187 * 30 * 67 * 7,
    "temporal_128x1": 51 * 187 * 96 * 128,
    "temporal_64x1": 51 * 187 * 96 * 64,
    "temporal_32x1": 51 * 187 * 96 * 32,
}
#: batch sizes the profile runs both networks at; the branches are timed at BRANCH_BATCH patches
PROFILE_BATCHES = (8, 16, 32)
BRANCH_BATCH = 16
#: multiply-accumulates of one patch through a whole musicnn network (branches, mid end, dense)
MUSICNN_MACS = 1.40e9
GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "models" / "golden" / "musicnn_reference.npz"


def _cpu_seconds(run, repeats: int = 3) -> float:
    """Median CPU seconds (user + system, this process) of ``run`` after one discarded call."""
    run()
    spent = []
    for _ in range(repeats):
        before = os.times()
        run()
        after = os.times()
        spent.append(after.user - before.user + after.system - before.system)
    return statistics.median(spent)


def profile() -> None:
    """Where ``tag()`` spends its CPU, the machine's matrix-product peaks, and what lower precision does to tags."""
    import torch

    from audiokit.models.tagging.frontend import MelFrontEnd, patches
    from audiokit.models.tagging.registry import load_network
    from audiokit.models.tagging.tagger import _mono_blocks

    configure_threads(THREADS)
    clip = audiokit.read(EXAMPLE)
    track = audiokit.Audio(_loop(clip, DURATION_S), clip.sample_rate)
    load_before = os.getloadavg()
    steps: dict[str, float] = {}
    mono = np.concatenate(list(_mono_blocks(track)))
    steps["decode_resample_mono"] = _cpu_seconds(lambda: np.concatenate(list(_mono_blocks(track))))

    def front_end() -> np.ndarray:
        front = MelFrontEnd()
        return np.concatenate([front.process(mono), front.flush()])

    steps["log_mel_front_end"] = _cpu_seconds(front_end)
    inputs = torch.from_numpy(patches(front_end()))
    networks = [load_network(name, "cpu") for name in PAIR]

    def run_networks(batch: int, dtype: torch.dtype | None = None) -> None:
        with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            for first in range(0, inputs.shape[0], batch):
                for network in networks:
                    network(inputs[first : first + batch])

    for batch in PROFILE_BATCHES:
        steps[f"both_networks_batch_{batch}"] = _cpu_seconds(lambda batch=batch: run_networks(batch), repeats=1)
    steps[f"both_networks_batch_{BRANCH_BATCH}_bfloat16_autocast"] = _cpu_seconds(
        lambda: run_networks(BRANCH_BATCH, torch.bfloat16), repeats=1)
    patches_per_track = inputs.shape[0]

    network = networks[0]
    batch = inputs[:BRANCH_BATCH]
    branches = {}
    with torch.inference_mode():
        normalized = network.input_bn(batch.unsqueeze(1))
        for (name, macs), branch in zip(BRANCH_MACS.items(), [*network.timbral, *network.temporal], strict=True):
            seconds = _cpu_seconds(lambda branch=branch: branch(normalized))
            branches[name] = {"cpu_s_per_batch": seconds, "gmac_per_batch": macs * BRANCH_BATCH / 1e9,
                              "gmac_per_cpu_s": macs * BRANCH_BATCH / 1e9 / seconds}
        whole = _cpu_seconds(lambda: network(batch))
    branches["whole_network"] = {"cpu_s_per_batch": whole, "gmac_per_batch": MUSICNN_MACS * BRANCH_BATCH / 1e9,
                                 "gmac_per_cpu_s": MUSICNN_MACS * BRANCH_BATCH / 1e9 / whole}

    peaks = {}
    left, right = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        a, b = left.to(dtype), right.to(dtype)
        with torch.inference_mode():
            peaks[f"matmul_2048_{name}_gmac_per_cpu_s"] = 2048**3 / 1e9 / _cpu_seconds(lambda a=a, b=b: a @ b)

    golden = np.load(GOLDEN)
    precision = {}
    for name, network in zip(PAIR, networks, strict=True):
        quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(network), {torch.nn.Linear, torch.nn.Conv1d},
                                                           dtype=torch.qint8)
        for clip_name in ("drum_loop", "string_section", "example", "golden"):
            patch = torch.from_numpy(golden[f"{clip_name}/patches"])
            with torch.inference_mode():
                exact = torch.sigmoid(network(patch)[0]).numpy()
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    half = torch.sigmoid(network(patch)[0].float()).numpy()
                int8 = torch.sigmoid(quantized(patch)[0]).numpy()

            def top10(scores: np.ndarray) -> list[int]:
                return np.argsort(-scores.mean(axis=0), kind="stable")[:10].tolist()

            precision[f"{name}/{clip_name}"] = {
                "bfloat16_max_score_difference": float(np.abs(half - exact).max()),
                "bfloat16_top10_identical": top10(half) == top10(exact),
                "dynamic_int8_max_score_difference": float(np.abs(int8 - exact).max()),
                "dynamic_int8_top10_identical": top10(int8) == top10(exact),
            }
    document = {
        "versions": versions("torch"),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        "input": {"file": EXAMPLE.name, "duration_s": DURATION_S, "patches": patches_per_track,
                  "models": PAIR, "branch_batch_patches": BRANCH_BATCH},
        "tag_pair_cpu_seconds_by_step": steps,
        f"branches_one_network_batch_{BRANCH_BATCH}": branches,
        "matmul_peaks": peaks,
        "precision_on_parity_clips": precision,
    }
    path = write_json("tagging_profile", document)
    for name, seconds in steps.items():
        print(f"{name:44s} {seconds:7.2f} CPU s")
    for name, row in branches.items():
        print(f"{name:16s} {row['cpu_s_per_batch']:6.3f} CPU s per 16 patches  {row['gmac_per_cpu_s']:5.1f} GMAC per CPU s")
    print(peaks)
    for name, row in precision.items():
        print(name, row)
    print(f"wrote {path}")


def main() -> None:
    import librosa
    import soundfile
    import torch

    configure_threads(THREADS)
    clip = audiokit.read(EXAMPLE)
    samples = _loop(clip, DURATION_S)
    track = audiokit.Audio(samples, clip.sample_rate)
    mono_22k = librosa.resample(samples.mean(axis=0), orig_sr=clip.sample_rate, target_sr=22050)
    folder = Path(tempfile.mkdtemp(prefix="bench_tagging_"))
    files = []
    for index in range(CLI_TRACKS):
        path = folder / f"track{index}.flac"
        soundfile.write(path, _loop(clip, CLI_TRACK_S, offset_s=5.0 * index).T, clip.sample_rate)
        files.append(str(path))
    cli = [sys.executable, "-m", "audiokit.cli.main", "tag", *files, "--json"]
    env = {**os.environ, THREADS_ENV: str(THREADS)}

    def librosa_key() -> str:
        return librosa_cqt_key(mono_22k)

    mtt = tag(track, model="MTT_musicnn")
    contenders = {
        "audiokit_tag_musicnn_pair": lambda: tag(track, model=PAIR),
        "audiokit_analyze": lambda: analyze(track),
        "audiokit_analyze_with_tags": lambda: analyze(track, tags=mtt),
        "audiokit_analyze_energy": lambda: analyze(track, segment_method="energy"),
        "librosa_beat_track": lambda: librosa.beat.beat_track(y=mono_22k, sr=22050),
        "librosa_chroma_cqt_key": librosa_key,
        "audiokit_tag_cli_3x120s": lambda: subprocess.run(cli, env=env, check=True, capture_output=True),
    }
    load_before = os.getloadavg()
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    times = time_interleaved({name: _cpu_timed(run, cpu[name]) for name, run in contenders.items()},
                             repeats=REPEATS, warmup=1)
    load_after = os.getloadavg()
    cli = "audiokit_tag_cli_3x120s"
    cli_times = {cli: times.pop(cli)}
    summary = summarize(times, audio_seconds=DURATION_S, subject="audiokit_analyze_energy")
    summary |= summarize(cli_times, audio_seconds=CLI_TRACKS * CLI_TRACK_S, subject=cli)
    for name, row in summary.items():
        audio_s = CLI_TRACKS * CLI_TRACK_S if name == cli else DURATION_S
        row["median_cpu_s"] = statistics.median(cpu[name][1:])  # the warm-up round is dropped, as for wall time
        row["x_realtime_per_cpu_second"] = audio_s / row["median_cpu_s"]
    result = analyze(track, tags=mtt)
    pair = tag(track, model=PAIR, top_k=10)
    librosa_tempo = float(np.atleast_1d(librosa.beat.beat_track(y=mono_22k, sr=22050)[0])[0])
    document = {
        "versions": versions("torch", "librosa", "safetensors"),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
        "input": {"file": EXAMPLE.name, "duration_s": DURATION_S, "sample_rate": clip.sample_rate, "channels": 2,
                  "cli_files": CLI_TRACKS, "cli_file_duration_s": CLI_TRACK_S},
        "repeats": REPEATS,
        "results": summary,
        "outputs": {
            "audiokit_bpm": result.tempo.bpm,
            "librosa_bpm": librosa_tempo,
            "audiokit_key": result.key.name,
            "librosa_chroma_cqt_key": librosa_key(),
            "top_tags": {result.model: [label for label, _ in result.tags] for result in pair},
        },
    }
    path = write_json("tagging", document)
    for name, row in summary.items():
        print(f"{name:28s} {row['median_s']:8.3f} s  {row['x_realtime']:7.1f}x realtime   "
              f"{row['median_cpu_s']:8.3f} CPU s  {row['x_realtime_per_cpu_second']:7.1f}x per CPU second")
    print(f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after; wrote {path}")


if __name__ == "__main__":
    profile() if "--profile" in sys.argv[1:] else main()
