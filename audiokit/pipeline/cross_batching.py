"""Cross-track batching in a Ray model actor: the taggers' forward passes of concurrent tracks merged into one.

A model actor (:mod:`.ray_executor`) may run several tracks at once, each in
a thread of its own. Their tags stages then run side by side, and every
forward pass of a tagging network goes through :class:`CrossTrackBatching`:
the first call to arrive waits (at most :data:`BATCH_WINDOW_S`) for the
other tracks in their tags stage to call the same network, then runs one
forward on the concatenation of all their patches and hands each caller its
own rows. A larger batch keeps a GPU busier; on a CPU the arithmetic is the
same either way (docs/scale-out.md has the figures measured on CPUs).

The tagging networks have no layer that mixes the patches of a batch (their
batch normalization is in eval mode), so a track's scores do not depend on
the patches beside it, up to float32 summation order. The actor's other
model stages run one track at a time: their models may keep state between
calls (Silero VAD's recurrent state) or are not known to be thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import AudiokitError
from .context import Stage, TrackContext

__all__ = ["BATCH_WINDOW_S", "CONCURRENT_STAGES", "BatchingStats", "CrossTrackBatching"]

#: How long the first forward call of a batch waits for the other tracks in their tags stage, s. It
#: covers the front end of their next patches (a 32-patch block's log-mel takes tens of ms); a forward
#: pass of 32 patches through both musicnn networks takes about a second on one CPU core.
BATCH_WINDOW_S = 0.25
#: The model stages that run concurrently in an actor: the ones whose forward passes are merged.
CONCURRENT_STAGES = ("tags",)


@dataclass(frozen=True)
class BatchingStats:
    """What the merging did in one actor."""

    #: forward passes run (each network counted apart)
    forwards: int = 0
    #: of those, the ones that held patches of two tracks or more
    merged_forwards: int = 0
    #: the most tracks whose patches shared one forward pass
    most_tracks: int = 0
    #: patches through the networks (each network counted apart)
    patches: int = 0

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return {"forwards": self.forwards, "merged_forwards": self.merged_forwards,
                "most_tracks": self.most_tracks, "patches": self.patches}

    def __add__(self, other: BatchingStats) -> BatchingStats:
        return BatchingStats(self.forwards + other.forwards, self.merged_forwards + other.merged_forwards,
                             max(self.most_tracks, other.most_tracks), self.patches + other.patches)


@dataclass
class _Batch:
    """The forward calls of one network gathered for one pass."""

    #: each caller's input tensor, in arrival order
    inputs: list = field(default_factory=list)
    #: each caller's outputs, once the pass ran
    outputs: list = field(default_factory=list)
    #: what the pass raised, raised again in every caller
    error: BaseException | None = None
    #: set once ``outputs`` or ``error`` is
    done: threading.Event = field(default_factory=threading.Event)


class CrossTrackBatching:
    """Merges the forward passes of the tracks that run their tags stages at once in this process.

    :meth:`stages` wraps an actor's model stages (counting the tracks in their
    tags stage, and running the others one at a time; a track that must wait
    for one of those waits inside ``waiting()``); :meth:`install_taggers`
    routes the tagging networks' forward passes through the merge
    (:meth:`install` any other network).
    """

    def __init__(self, window_s: float = BATCH_WINDOW_S,
                 waiting: Callable[[], AbstractContextManager[object]] = nullcontext) -> None:
        self._window_s = window_s
        self._waiting = waiting
        self._condition = threading.Condition()
        self._tagging = 0  # tracks in their tags stage now
        self._open: dict[int, _Batch] = {}  # id(network) -> the batch still taking calls
        self._exclusive = threading.Lock()  # held by the stages that run one track at a time
        self._stats = BatchingStats()

    def stats(self) -> BatchingStats:
        """The merging so far."""
        with self._condition:
            return self._stats

    def stages(self, stages: tuple[Stage, ...]) -> tuple[Stage, ...]:
        """``stages`` run from concurrent threads: the tags stage side by side, the others one at a time."""
        return tuple(replace(stage, run=self._concurrent(stage.run) if stage.name in CONCURRENT_STAGES
                             else self._one_at_a_time(stage.run)) for stage in stages)

    def install_taggers(self) -> None:
        """Route the forward passes of the tags stage's networks (loaded and cached here) through the merge.

        Does nothing where the networks cannot load (no ``ml`` extra): the tags stage reports that itself.
        """
        try:
            from ..models._registry import torch_device
            from ..models.tagging.registry import load_network
            from .model_stages import TAG_MODELS

            networks = [load_network(name, torch_device("auto")) for name in TAG_MODELS]
        except (AudiokitError, ImportError):
            return
        for network in networks:
            self.install(network)

    def install(self, network: Any) -> None:
        """Route ``network``'s forward passes (a torch module taking a batch of patches) through the merge.

        Its outputs (a tensor, or a tuple of tensors) must have the batch on their first axis.
        """
        # an instance attribute: torch.nn.Module.__call__ runs self.forward, so every caller of this module
        # (for the cached taggers, audiokit.models.tag in this process) goes through the merge
        network.forward = self._merged(network.forward)

    def _concurrent(self, run: Callable[[TrackContext], object]) -> Callable[[TrackContext], object]:
        def counted(context: TrackContext) -> object:
            with self._condition:
                self._tagging += 1
            try:
                return run(context)
            finally:
                with self._condition:
                    self._tagging -= 1
                    self._condition.notify_all()  # a batch waiting for this track waits no more

        return counted

    def _one_at_a_time(self, run: Callable[[TrackContext], object]) -> Callable[[TrackContext], object]:
        def exclusive(context: TrackContext) -> object:
            if not self._exclusive.acquire(blocking=False):
                with self._waiting():  # e.g. the track's time limit does not count this wait
                    self._exclusive.acquire()
            try:
                return run(context)
            finally:
                self._exclusive.release()

        return exclusive

    def _merged(self, forward: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``forward``, with the calls that arrive together from several tracks run as one pass."""
        key = id(forward)

        def merged(inputs: Any) -> Any:
            with self._condition:
                batch = self._open.get(key)
                first = batch is None
                if batch is None:
                    batch = self._open[key] = _Batch()
                index = len(batch.inputs)
                batch.inputs.append(inputs)
                self._condition.notify_all()
                if first:  # wait for the other tracks in their tags stage (each calls at most once per batch)
                    self._condition.wait_for(lambda: len(batch.inputs) >= self._tagging, timeout=self._window_s)
                    del self._open[key]  # later calls start the next batch
            if first:
                self._run(forward, batch)
            else:
                batch.done.wait()
            if batch.error is not None:
                raise batch.error
            return batch.outputs[index]

        return merged

    def _run(self, forward: Callable[[Any], Any], batch: _Batch) -> None:
        import torch

        try:
            if len(batch.inputs) == 1:
                batch.outputs = [forward(batch.inputs[0])]
            else:
                sizes = [len(inputs) for inputs in batch.inputs]
                outputs = forward(torch.cat(batch.inputs))
                parts = [torch.split(output, sizes) for output in (outputs if isinstance(outputs, tuple) else (outputs,))]
                batch.outputs = [tuple(part[caller] for part in parts) if isinstance(outputs, tuple) else parts[0][caller]
                                 for caller in range(len(sizes))]
            with self._condition:
                tracks = len(batch.inputs)
                self._stats = self._stats + BatchingStats(1, int(tracks > 1), tracks,
                                                          sum(len(inputs) for inputs in batch.inputs))
        except BaseException as error:  # every caller of the pass gets it
            batch.error = error
        finally:
            batch.done.set()
