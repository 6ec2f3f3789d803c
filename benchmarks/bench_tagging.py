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
The machine these numbers come from is shared: read the load average in the
JSON next to the timings.
"""

from __future__ import annotations

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
    main()
