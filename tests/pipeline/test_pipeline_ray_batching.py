"""Cross-track batching in the Ray model actor: the taggers' forward passes of concurrent tracks merged.

Three different generated tracks go through ``run_ray`` with the tags stage
and one model actor that runs three tracks at once. A core stage of the test
(pickled by value) holds each track's task until all three have reached it,
so that the tracks reach the actor together, as they do in a busy batch.
Each track's tags must equal ``audiokit.models.tag`` run alone on it: the
same top 10, scores within 0.01.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _batch import partial_folders
from _signals import notes

import audiokit
from audiokit.pipeline import IngestOptions, read_manifest
from audiokit.pipeline.context import Stage, TrackContext
from audiokit.pipeline.model_stages import TAG_MODELS, TAG_TOP_K
from audiokit.pipeline.ray_executor import run_ray
from audiokit.pipeline.stages import resolve_stages
from audiokit.pipeline.track import TrackResult

ray = pytest.importorskip("ray", reason="needs the optional extra audiokit[ray]")
pytest.importorskip("torch", reason="needs the optional extra audiokit[ml]")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

SAMPLE_RATE = 44100
#: Unequal, each under one 32-patch (96 s) batch of the tagger: alone, a track makes one pass per network.
DURATIONS_S = (20.0, 25.0, 30.0)
#: The parity the tags keep, batched across tracks or not: scores within this of tagging the track alone.
SCORE_TOLERANCE = 0.01
TRACKS = len(DURATIONS_S)


def _arrive_together(context: TrackContext) -> dict:
    """Mark this track's arrival, then wait (at most a minute) until every track of the batch has arrived."""
    context.path.with_name(context.path.name + ".arrived").touch()
    give_up = time.monotonic() + 60.0
    while len(list(context.path.parent.glob("*.arrived"))) < TRACKS and time.monotonic() < give_up:
        time.sleep(0.02)
    return {}


def _generated(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for seed, duration_s in enumerate(DURATIONS_S):
        samples = 0.25 * notes(SAMPLE_RATE, duration_s, np.random.default_rng(seed))
        paths.append(audiokit.write(folder / f"generated {seed}.flac",
                                    audiokit.Audio(samples.astype(np.float32), SAMPLE_RATE)))
    return paths


# About a minute of Ray start-up and tagging on 2 cores: the slow lane. The merge itself is checked in
# make test by test_pipeline_ray_cross_batching.py (one process, the same CrossTrackBatching).
@pytest.mark.slow
def test_tags_batched_across_tracks_match_tagging_each_track_alone(ray_runtime, tmp_path):
    from audiokit.models import tag

    paths = _generated(tmp_path / "in")
    options = IngestOptions(ladder="hls-aac", qa="off", stages="tags")
    stages = resolve_stages("tags") + (Stage("arrive_together", _arrive_together, core=True),)
    results: dict[int, TrackResult] = {}
    told: list[str] = []
    run_ray(paths, tmp_path / "out", options.track_settings(), stages, results.__setitem__, num_cpus=0.5,
            model_actors=1, tracks_per_actor=TRACKS, on_note=told.append)

    assert [results[index].status for index in range(TRACKS)] == ["ingested"] * TRACKS, results
    (note,) = [line for line in told if "tagger forward passes" in line]
    merged, forwards, most = map(int, re.fullmatch(
        r"model actors: (\d+) of (\d+) tagger forward passes held patches of several tracks \(up to (\d+) in one\)",
        note).groups())
    assert merged >= 1 and most >= 2, note
    assert forwards < len(TAG_MODELS) * sum(-(-int(d / 3) // 32) for d in DURATIONS_S), "fewer passes than alone"
    for index, path in enumerate(paths):
        manifest = read_manifest(Path(results[index].manifest_path))
        alone = tag(path, model=list(TAG_MODELS), top_k=TAG_TOP_K)
        for model, expected in zip(TAG_MODELS, alone, strict=True):
            batched = [(pair["label"], pair["score"]) for pair in manifest["tags"][model]["tags"]]
            assert [label for label, _ in batched] == [label for label, _ in expected.tags], (path.name, model)
            assert [score for _, score in batched] == pytest.approx([score for _, score in expected.tags],
                                                                     abs=SCORE_TOLERANCE)
    assert not partial_folders(tmp_path / "out")
