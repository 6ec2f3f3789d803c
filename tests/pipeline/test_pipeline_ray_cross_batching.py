"""The batching proxy of the Ray model actor, in one process: merged passes, parity, stages one at a time.

Threads stand for the tracks a model actor runs at once. The network is the
MTT musicnn architecture freshly built (random weights, eval mode; not the
cached tagger, which other tests use): what matters is that no layer mixes
the patches of a batch, whatever the weights.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from audiokit.pipeline.context import Stage, TrackContext
from audiokit.pipeline.cross_batching import BatchingStats, CrossTrackBatching

torch = pytest.importorskip("torch", reason="needs the optional extra audiokit[ml]")

#: Patches per track in the merged pass (three tracks, unequal like the last batches of unequal tracks).
PATCHES = (2, 3, 4)
#: float32 outputs of one pass on 9 patches against three passes on 2, 3 and 4 (summation order only).
PARITY_ABS = 1e-5


def _context(name: str) -> TrackContext:
    return TrackContext(path=Path(name), work_dir=Path("unused"), settings={})


def _run_as_tracks(stage: Stage, count: int) -> list[object]:
    """Run ``stage`` for ``count`` tracks at once, one thread each; what each returned (or raised)."""
    results: list[object] = [None] * count

    def track(index: int) -> None:
        try:
            results[index] = stage.run(_context(f"track {index}.flac"))
        except Exception as error:  # handed to the test
            results[index] = error

    threads = [threading.Thread(target=track, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_tracks_share_one_forward_pass_and_get_their_own_rows():
    from audiokit.models.tagging.frontend import PATCH_FRAMES
    from audiokit.models.tagging.registry import build_network

    torch.manual_seed(0)
    network = build_network("MTT_musicnn")
    rng = np.random.default_rng(7)
    inputs = [torch.from_numpy(rng.uniform(0, 3, (count, PATCH_FRAMES, 96)).astype(np.float32)) for count in PATCHES]
    with torch.inference_mode():
        alone = [network(batch) for batch in inputs]
    batching = CrossTrackBatching(window_s=60.0)  # never reached: the pass starts once all three have called
    batching.install(network)
    all_in = threading.Barrier(len(PATCHES))

    def tags(context: TrackContext) -> object:
        all_in.wait()  # every track is in its tags stage before any calls the network
        with torch.inference_mode():
            return network(inputs[int(context.path.stem.split()[1])])

    (stage,) = batching.stages((Stage("tags", tags, core=False),))
    merged = _run_as_tracks(stage, len(PATCHES))

    assert batching.stats() == BatchingStats(forwards=1, merged_forwards=1, most_tracks=3, patches=sum(PATCHES))
    for got, expected, count in zip(merged, alone, PATCHES, strict=True):
        assert isinstance(got, tuple) and len(got) == len(expected) == 2  # (logits, embedding)
        for part, reference in zip(got, expected, strict=True):
            assert part.shape[0] == count
            torch.testing.assert_close(part, reference, rtol=0, atol=PARITY_ABS)


def test_one_track_alone_runs_its_pass_at_once():
    batching = CrossTrackBatching(window_s=60.0)  # a wait would show: the test would take a minute
    calls: list[int] = []

    class Double(torch.nn.Module):
        def forward(self, batch):
            calls.append(len(batch))
            return 2 * batch

    network = Double()
    batching.install(network)
    (stage,) = batching.stages((Stage("tags", lambda context: network(torch.ones(5, 3)), core=False),))
    (result,) = _run_as_tracks(stage, 1)
    assert torch.equal(result, torch.full((5, 3), 2.0)) and calls == [5]
    assert batching.stats() == BatchingStats(forwards=1, merged_forwards=0, most_tracks=1, patches=5)


def test_an_error_in_a_merged_pass_reaches_every_track():
    batching = CrossTrackBatching(window_s=60.0)

    class Broken(torch.nn.Module):
        def forward(self, batch):
            raise RuntimeError(f"out of memory for {len(batch)} patches")

    network = Broken()
    batching.install(network)
    all_in = threading.Barrier(2)

    def tags(context: TrackContext) -> object:
        all_in.wait()
        return network(torch.ones(4, 3))

    (stage,) = batching.stages((Stage("tags", tags, core=False),))
    errors = _run_as_tracks(stage, 2)
    assert all(isinstance(error, RuntimeError) and str(error) == "out of memory for 8 patches" for error in errors)


def test_other_model_stages_run_one_track_at_a_time_and_their_waits_are_announced():
    inside, most_inside, waits = [0], [0], []
    lock = threading.Lock()
    first_in, release = threading.Event(), threading.Event()

    @contextmanager
    def waiting():
        waits.append(threading.current_thread().name)
        release.set()  # the second track waits: let the first one finish
        yield

    def speech(context: TrackContext) -> object:
        with lock:
            inside[0] += 1
            most_inside[0] = max(most_inside[0], inside[0])
        first_in.set()
        release.wait(timeout=60)
        with lock:
            inside[0] -= 1
        return context.path.name

    batching = CrossTrackBatching(waiting=waiting)
    (stage,) = batching.stages((Stage("speech", speech, core=False),))
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(stage.run(_context("first.flac"))), name="first")
    first.start()
    first_in.wait(timeout=60)
    second = threading.Thread(target=lambda: results.append(stage.run(_context("second.flac"))), name="second")
    second.start()
    for thread in (first, second):
        thread.join(timeout=120)
    assert sorted(results) == ["first.flac", "second.flac"]
    assert most_inside[0] == 1, "never two tracks in the stage at once"
    assert waits == ["second"], "only the track that had to wait announced it"
