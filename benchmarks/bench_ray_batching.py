"""Cross-track batching in the Ray model actor: tags-stage throughput with 1 track at a time versus several.

One model actor (``--ray-cpus`` CPUs, torch using the cores it may run on)
tags the same generated tracks per round, once with ``tracks_per_actor=1``
(the anchor: each track's patches in batches of 32, one track after the
other) and once with each larger count (the tracks run in threads and their
forward passes are merged, :mod:`audiokit.pipeline.cross_batching`),
interleaved, warm-up round discarded. The core half is the probe alone, so
the actor's tags stage is what is timed; each round starts a fresh actor, so
every contender pays the model load once. Writes ``results/ray_batching.json``.

    python benchmarks/bench_ray_batching.py --tracks 4 --duration 120 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from _harness import summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.pipeline import IngestOptions
from audiokit.pipeline.model_stages import MODEL_STAGES
from audiokit.pipeline.ray_executor import run_ray
from audiokit.pipeline.stages import resolve_stages

SAMPLE_RATE = 44100
NOTE = re.compile(r"model actors: (\d+) of (\d+) tagger forward passes held patches of several tracks \(up to (\d+) in one\)")


def _generated(folder: Path, tracks: int, duration_s: float) -> list[Path]:
    """Stereo harmonic notes (tests/_signals.py's generator), one seed per track."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from _signals import notes

    return [audiokit.write(folder / f"track {seed}.flac", audiokit.Audio(
        (0.25 * notes(SAMPLE_RATE, duration_s, np.random.default_rng(seed))).astype(np.float32), SAMPLE_RATE))
        for seed in range(tracks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of audio per track")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-actor", type=int, nargs="+", default=[2], help="tracks_per_actor counts besides 1")
    parser.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs of the track tasks and of the actor")
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}})
    stages = resolve_stages("probe") + tuple(stage for stage in MODEL_STAGES if stage.name == "tags")
    settings = IngestOptions(stages="tags").track_settings()
    merging: dict[str, list[list[int]]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        paths = _generated(Path(scratch), args.tracks, args.duration)
        runs = iter(range(10**6))

        def contender(per_actor: int):
            name = f"tracks_per_actor={per_actor}"

            def run() -> None:
                told: list[str] = []
                results = {}
                run_ray(paths, Path(scratch) / f"out-{next(runs)}", settings, stages, results.__setitem__,
                        num_cpus=args.ray_cpus, model_actors=1, tracks_per_actor=per_actor, on_note=told.append,
                        max_in_flight=args.tracks)
                assert [result.status for result in results.values()] == ["ingested"] * args.tracks, results
                counts = [NOTE.fullmatch(line) for line in told]
                merging.setdefault(name, []).append([int(value) for match in counts if match for value in match.groups()])
            return name, run

        contenders = dict(contender(count) for count in [1, *args.per_actor])
        times = time_interleaved(contenders, repeats=args.repeats, warmup=1)
    load_after = os.getloadavg()
    ray.shutdown()
    audio_seconds = args.tracks * args.duration
    document = {
        "input": {"tracks": args.tracks, "duration_s": args.duration, "sample_rate": SAMPLE_RATE,
                  "generator": "tests/_signals.py notes(), seeds 0..tracks-1", "stages": "probe,tags",
                  "ray_cpus": args.ray_cpus, "model_actors": 1},
        "versions": versions("torch", "ray"),
        "repeats": args.repeats,
        "times_s": times,
        "summary": summarize(times, audio_seconds=audio_seconds, subject="tracks_per_actor=1"),
        # the headline: tags throughput with k tracks at a time over 1 at a time (> 1: merging pays)
        "throughput_vs_one_at_a_time": {name: statistics.median(times["tracks_per_actor=1"]) / statistics.median(values)
                                        for name, values in times.items()},
        # per run (warm-up first): [merged forwards, forwards, most tracks in one]; empty for 1 track at a time
        "merging": merging,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    print(write_json("ray_batching", document))


if __name__ == "__main__":
    main()
