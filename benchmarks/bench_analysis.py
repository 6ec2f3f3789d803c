"""Benchmark ``analyze()`` on CPU against librosa's beat tracker and a chroma + key anchor, in one run.

Input: examples/example.flac (20 s, 44.1 kHz stereo) looped to a 300 s track,
the track bench_tagging.py uses. Contenders, interleaved round by round
(warm-up round discarded):

- ``audiokit_analyze_energy``: ``analyze(track, segment_method="energy")``:
  tempo and beats, key, spectral summary, silence and the energy speech/music
  segmentation, no model (the subject);
- ``audiokit_analyze_with_tags``: ``analyze(track, tags=...)`` given the
  MTT_musicnn result, as the ingest pipeline calls it: the learned segmentation
  runs Silero VAD on the 16 kHz signal and reuses the tags;
- ``audiokit_analyze``: ``analyze(track)`` as a user calls it: the learned
  segmentation also runs the MTT_musicnn tagger;
- ``librosa_beat_track``: ``librosa.beat.beat_track`` on the 22.05 kHz mono
  (tempo and beats only);
- ``librosa_chroma_cqt_key``: librosa's CQT chroma with the same 24
  Krumhansl-Kessler templates (librosa has no key estimator).

CPU seconds (``os.times``: user + system of this process and its children) are
recorded beside the wall time, as in bench_tagging.py: on a shared machine
they say what the code itself spent.

Run ``python benchmarks/bench_analysis.py``; writes benchmarks/results/analysis.json.
"""

from __future__ import annotations

import os
import statistics
import warnings

import numpy as np
from _harness import summarize, time_interleaved, versions, write_json
from bench_tagging import DURATION_S, EXAMPLE, THREADS, _cpu_timed, _loop, librosa_cqt_key

import audiokit
from audiokit.analysis import analyze
from audiokit.models.tagging import tag
from audiokit.models.tagging.tagger import configure_threads

REPEATS = 3
SUBJECT = "audiokit_analyze_energy"


def main() -> None:
    import librosa
    import torch

    warnings.simplefilter("ignore", RuntimeWarning)
    configure_threads(THREADS)
    clip = audiokit.read(EXAMPLE)
    track = audiokit.Audio(_loop(clip, DURATION_S), clip.sample_rate)
    mono_22k = librosa.resample(track.samples.mean(axis=0), orig_sr=clip.sample_rate, target_sr=22050)

    def librosa_key() -> str:
        return librosa_cqt_key(mono_22k)

    mtt = tag(track, model="MTT_musicnn")
    contenders = {
        SUBJECT: lambda: analyze(track, segment_method="energy"),
        "audiokit_analyze_with_tags": lambda: analyze(track, tags=mtt),
        "audiokit_analyze": lambda: analyze(track),
        "librosa_beat_track": lambda: librosa.beat.beat_track(y=mono_22k, sr=22050),
        "librosa_chroma_cqt_key": librosa_key,
    }
    load_before = os.getloadavg()
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    times = time_interleaved({name: _cpu_timed(run, cpu[name]) for name, run in contenders.items()},
                             repeats=REPEATS, warmup=1)
    load_after = os.getloadavg()
    summary = summarize(times, audio_seconds=DURATION_S, subject=SUBJECT)
    for name, row in summary.items():
        row["median_cpu_s"] = statistics.median(cpu[name][1:])  # the warm-up round is dropped, as for wall time
        row["x_realtime_per_cpu_second"] = DURATION_S / row["median_cpu_s"]
        row["audiokit_cpu_speedup"] = row["median_cpu_s"] / summary[SUBJECT]["median_cpu_s"]
    energy, learned = analyze(track, segment_method="energy"), analyze(track, tags=mtt)
    librosa_bpm = float(np.atleast_1d(librosa.beat.beat_track(y=mono_22k, sr=22050)[0])[0])
    document = {
        "versions": versions("torch", "librosa", "onnxruntime"),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
        "input": {"file": EXAMPLE.name, "duration_s": DURATION_S, "sample_rate": clip.sample_rate, "channels": 2},
        "repeats": REPEATS,
        "results": summary,
        "outputs": {
            "audiokit_bpm": energy.tempo.bpm,
            "librosa_bpm": librosa_bpm,
            "audiokit_key": energy.key.name,
            "librosa_chroma_cqt_key": librosa_key(),
            "energy_segments": {"speech": energy.segments.speech_ratio, "music": energy.segments.music_ratio,
                                "silence": energy.segments.silence_ratio},
            "learned_segments": {"speech": learned.segments.speech_ratio, "music": learned.segments.music_ratio,
                                 "silence": learned.segments.silence_ratio, "method": learned.segments.method},
        },
    }
    path = write_json("analysis", document)
    for name, row in summary.items():
        print(f"{name:28s} {row['median_s']:8.3f} s  {row['x_realtime']:7.1f}x realtime   "
              f"{row['median_cpu_s']:8.3f} CPU s  {row['x_realtime_per_cpu_second']:7.1f}x per CPU second")
    print(f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after; wrote {path}")


if __name__ == "__main__":
    main()
