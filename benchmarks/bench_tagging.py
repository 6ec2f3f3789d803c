"""Benchmark tagging and analysis of a 5-minute track on CPU.

Input: examples/example.flac (20 s, 44.1 kHz stereo) looped to 300 s. Contenders,
interleaved on the same audio: audiokit's ``tag`` (MTT_musicnn) and ``analyze``;
librosa's own ``beat.beat_track`` (tempo) and a chroma + Krumhansl key estimate
(``chroma_cqt``), where they overlap with ``analyze``. Torch uses its default
thread count. Reports median seconds and x-realtime.

Run ``python benchmarks/bench_tagging.py``; writes benchmarks/results/tagging.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _harness import summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.analysis import analyze
from audiokit.analysis.tonality import PITCH_CLASSES, PROFILES
from audiokit.models.tagging import tag

DURATION_S = 300.0
REPEATS = 3
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "example.flac"


def main() -> None:
    import librosa
    import torch

    clip = audiokit.read(EXAMPLE)
    loops = int(np.ceil(DURATION_S * clip.sample_rate / clip.num_frames))
    samples = np.tile(clip.samples, loops)[:, : int(DURATION_S * clip.sample_rate)]
    track = audiokit.Audio(samples, clip.sample_rate)
    mono_22k = librosa.resample(samples.mean(axis=0), orig_sr=clip.sample_rate, target_sr=22050)

    def librosa_key() -> str:
        # librosa has no key estimator: its CQT chroma with the same 24 Krumhansl-Kessler templates
        chroma = librosa.feature.chroma_cqt(y=mono_22k, sr=22050).sum(axis=1)
        scores = [(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1], PITCH_CLASSES[tonic], mode)
                  for mode, profile in zip(("major", "minor"), PROFILES["krumhansl"]) for tonic in range(12)]
        _, tonic, mode = max(scores)
        return f"{tonic} {mode}"

    contenders = {
        "audiokit_tag_MTT_musicnn": lambda: tag(track, model="MTT_musicnn"),
        "audiokit_analyze": lambda: analyze(track),
        "librosa_beat_track": lambda: librosa.beat.beat_track(y=mono_22k, sr=22050),
        "librosa_chroma_cqt_key": librosa_key,
    }
    times = time_interleaved(contenders, repeats=REPEATS, warmup=1)
    summary = summarize(times, audio_seconds=DURATION_S, subject="audiokit_analyze")
    result = analyze(track)
    tags = tag(track, model="MTT_musicnn", top_k=5)
    librosa_tempo = float(np.atleast_1d(librosa.beat.beat_track(y=mono_22k, sr=22050)[0])[0])
    document = {
        "versions": versions("torch", "librosa", "safetensors"),
        "torch_threads": torch.get_num_threads(),
        "input": {"file": EXAMPLE.name, "duration_s": DURATION_S, "sample_rate": clip.sample_rate, "channels": 2},
        "repeats": REPEATS,
        "results": summary,
        "outputs": {
            "audiokit_bpm": result.tempo.bpm,
            "librosa_bpm": librosa_tempo,
            "audiokit_key": result.key.name,
            "librosa_chroma_cqt_key": librosa_key(),
            "top_tags": [label for label, _ in tags.tags],
        },
    }
    path = write_json("tagging", document)
    for name, row in summary.items():
        print(f"{name:28s} {row['median_s']:8.3f} s  {row['x_realtime']:7.1f}x realtime")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
