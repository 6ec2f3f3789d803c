"""The streaming engine: decode once in blocks, fan each block out to consumers.

One pass reads the source in blocks of :data:`~audiokit._arrays.BLOCK_FRAMES`
frames and hands each block to every consumer in turn (``process(block)``,
then ``flush()`` at the end). The consumers the ladder and ingest use:

- a :class:`~audiokit.loudness.LoudnessMeter` (the source's BS.1770 report);
- one :class:`MasterChain` per (rate, channels) pair: BS.775 downmix
  (:func:`audiokit.channels.downmix`), one streaming
  :class:`~audiokit.io.resample.Resampler`, an optional gain, then fixed-size
  blocks to its sinks (the rung encoders, the QA reference);
- a :class:`BlockWorker` per rung: a thread fed through a bounded queue
  (PyAV releases the GIL while encoding, so encoders run beside the decode).

Memory is set by the block size and the queue depth, never by the duration:
each worker holds at most :data:`QUEUE_DEPTH` blocks. That also takes an
allocator that gives freed blocks back: glibc keeps freed memory in one arena
per thread and, after the first large block is freed, raises its mmap
threshold above the block size, so with eight threads allocating 512 KB blocks
a ladder's peak RSS grew from 260 to 337 MB over 4 minutes of audio (and by
60 MB from 2 to 12 minutes). A pass therefore fixes the threshold
(:data:`MMAP_THRESHOLD_BYTES`, glibc ``mallopt``; 271 MB and flat, measured)
between the QA's STFT temporaries (256 KB a batch) and a stereo block (512 KB):
at glibc's initial 128 KB every STFT batch was mapped and unmapped, and a
3-minute ladder with QA spent 4.2 s in the kernel on 1.75 million page faults
(1.9 s and 0.72 million at 384 KB, peak RSS unchanged).
An error anywhere stops
the pass: a failed worker makes the next ``put`` raise its error, and a failed
pass cancels the workers, whose consumers then raise :class:`PassCancelled`.
"""

from __future__ import annotations

import ctypes
import functools
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

import numpy as np

from .._arrays import BLOCK_FRAMES
from ..channels import ChannelLayout, downmix
from ..io.resample import Resampler

__all__ = ["MMAP_THRESHOLD_BYTES", "QUEUE_DEPTH", "BlockConsumer", "BlockWorker", "MasterChain", "PassCancelled",
           "run_pass"]

#: Blocks a worker's queue holds before the pass waits for it.
QUEUE_DEPTH = 4
#: Allocations at least this large are mmapped, and unmapped when freed: every block of two or more channels.
MMAP_THRESHOLD_BYTES = 384 * 1024
#: Free memory glibc keeps at the top of a heap before giving it back. Fixing the mmap threshold also
#: stops glibc raising this one from its 128 KB default, and the heap top was then given back and faulted
#: in again after every block. A 3-minute stereo ladder, whole process: 0.95-1.15 million page faults and
#: 20.9-21.3 CPU s at 128 KB, 0.08 million and 18.4-19.3 s at 8 MiB, peak RSS 221 -> 228-231 MB.
TRIM_THRESHOLD_BYTES = 8 * 1024 * 1024
#: glibc's malloc arenas at most (one per thread otherwise, each keeping what its thread freed).
ARENA_MAX = 2
#: mallopt parameter numbers, glibc malloc.h.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: How often a blocked put/get looks whether the other side gave up, seconds.
_POLL_S = 0.05
_END = object()

T = TypeVar("T")


class PassCancelled(Exception):
    """Raised inside a worker whose pass failed elsewhere; the pass's own error is what callers see."""


class BlockConsumer(Protocol):
    """Anything a pass feeds: ``process(block)`` for each block, ``flush()`` once at the end."""

    def process(self, block: np.ndarray) -> None: ...  # noqa: D102 - the protocol's two calls

    def flush(self) -> None: ...  # noqa: D102


class BlockWorker(Generic[T]):
    """Run ``consume(blocks)`` in its own thread, fed through a bounded queue.

    Parameters
    ----------
    consume : callable(Iterator[np.ndarray]) -> T
        Reads every block the pass puts (the iterator ends after
        :meth:`flush`), then may go on working (e.g. decode its output back);
        its return value is :meth:`result`.
    name : str
        Thread name (shows in tracebacks and profilers).
    depth : int
        Queue depth, blocks.
    """

    def __init__(self, consume: Callable[[Iterator[np.ndarray]], T], *, name: str, depth: int = QUEUE_DEPTH) -> None:
        _give_freed_blocks_back()  # before the thread makes its arena
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._result: T | None = None
        self._error: BaseException | None = None
        self._consume = consume
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._consume(self._blocks())
        except BaseException as error:  # handed to the pass's thread by put() and result()
            self._error = error
        finally:
            self._done.set()

    def _blocks(self) -> Iterator[np.ndarray]:
        while True:
            try:
                block = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if self._cancelled.is_set():
                    raise PassCancelled from None
                continue
            if block is _END:
                return
            yield block

    def process(self, block: np.ndarray) -> None:
        """Queue one block, waiting while the queue is full; raises the worker's error if it failed."""
        self._put(block)

    def flush(self) -> None:
        """Tell the worker the blocks are over."""
        self._put(_END)

    def _put(self, item: object) -> None:
        while True:
            if self._done.is_set():
                if self._error is not None:
                    raise self._error
                if item is _END:
                    return
                raise RuntimeError(f"worker {self._thread.name} returned before its blocks ended")
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def cancel(self) -> None:
        """Make the worker's block iterator raise :class:`PassCancelled` (the pass failed elsewhere)."""
        self._cancelled.set()

    def result(self) -> T:
        """Wait for the worker and return what ``consume`` returned, or raise its error."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # set when consume returned


class MasterChain:
    """One (rate, channels) master, streaming: downmix, resample, gain, fixed-size blocks to the sinks.

    Parameters
    ----------
    in_rate, in_channels : int
        The source's rate (Hz) and channel count.
    sample_rate, num_channels : int
        The master's.
    sinks : sequence of BlockConsumer
        Each gets every master block (read-only: sinks share it) and ``flush()``.
    gain_db : float
        Applied after resampling (e.g. headroom for a downmix over full scale).
    layout : str or sequence of str, optional
        The source's channel layout, for the downmix.
    block_frames : int
        Frames of every block sent on (the last may be shorter): with the
        default, a master arrives in the blocks a whole-array write would cut.
    """

    def __init__(self, in_rate: int, in_channels: int, sample_rate: int, num_channels: int,
                 sinks: Sequence[BlockConsumer], *, gain_db: float = 0.0, layout: ChannelLayout | None = None,
                 block_frames: int = BLOCK_FRAMES) -> None:
        self.sample_rate, self.num_channels = sample_rate, num_channels
        self.gain_db = gain_db
        self._gain = np.float32(10.0 ** (gain_db / 20.0)) if gain_db != 0.0 else None
        self._in_channels, self._layout = in_channels, layout
        self._resampler = Resampler(in_rate, sample_rate, num_channels) if in_rate != sample_rate else None
        self._sinks = tuple(sinks)
        self._block_frames = block_frames
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0

    def process(self, block: np.ndarray) -> None:
        """Take one source block ``(in_channels, frames)``."""
        mixed = downmix(block, self.num_channels, layout=self._layout)
        self._push(self._resampler.process(mixed) if self._resampler is not None else mixed)

    def flush(self) -> None:
        """Drain the resampler, send the last short block and flush every sink."""
        if self._resampler is not None:
            self._push(self._resampler.flush())
        if self._pending_frames:
            self._send(np.concatenate(self._pending, axis=1) if len(self._pending) > 1 else self._pending[0])
            self._pending, self._pending_frames = [], 0
        for sink in self._sinks:
            sink.flush()

    def _push(self, chunk: np.ndarray) -> None:
        if not chunk.shape[1]:
            return
        self._pending.append(chunk)
        self._pending_frames += chunk.shape[1]
        if self._pending_frames < self._block_frames:
            return
        joined = np.concatenate(self._pending, axis=1) if len(self._pending) > 1 else self._pending[0]
        start = 0
        while self._pending_frames - start >= self._block_frames:
            self._send(joined[:, start:start + self._block_frames])
            start += self._block_frames
        self._pending = [joined[:, start:]] if start < self._pending_frames else []
        self._pending_frames -= start

    def _send(self, master: np.ndarray) -> None:
        master = np.ascontiguousarray(master if self._gain is None else master * self._gain, dtype=np.float32)
        master.setflags(write=False)  # shared by every sink, some in other threads
        for sink in self._sinks:
            sink.process(master)


@functools.cache
def _give_freed_blocks_back() -> None:
    """Fix glibc's mmap and trim thresholds and cap its arenas, once per process (nothing elsewhere)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: its allocator is its own
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    mallopt(_M_ARENA_MAX, ARENA_MAX)


def run_pass(blocks: Iterator[np.ndarray], consumers: Sequence[BlockConsumer],
             workers: Sequence[BlockWorker] = ()) -> None:
    """Feed every block to every consumer in order, then flush them.

    Parameters
    ----------
    blocks : iterator of np.ndarray [shape=(channels, frames)]
        The decode, e.g. ``audiokit.io.source.open_source(path).blocks()``.
    consumers : sequence of BlockConsumer
    workers : sequence of BlockWorker
        The threads fed (directly or through a chain) by this pass: on an
        error they are cancelled before it propagates, so none waits forever.
    """
    _give_freed_blocks_back()
    try:
        for block in blocks:
            for consumer in consumers:
                consumer.process(block)
        for consumer in consumers:
            consumer.flush()
    except BaseException:
        for worker in workers:
            worker.cancel()
        raise
