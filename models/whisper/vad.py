"""Long-form front end: stream 16 kHz mono audio, find speech with Silero VAD, cut <= 30 s chunks.

Memory stays bounded whatever the input's length: audio arrives in blocks,
Silero VAD (the ``silero-vad`` package's ONNX sequence model, which ships its
weights) scores each 32 ms frame carrying its LSTM state across blocks, a
hysteresis state machine turns the scores into speech regions, and the
chunker merges consecutive regions into windows of at most ``max_chunk_s``
whose audio is handed out as soon as no later region can join them. Only the
audio of the window being assembled is kept.

A chunk is a contiguous span of the input, silence between its regions
included, so a time inside it maps back to the input by adding its start.

This module is also the one home of Silero VAD's input rate and thresholds
(:data:`VAD_SAMPLE_RATE`, :data:`SPEECH_THRESHOLD`, :data:`PAUSE_THRESHOLD`)
and of the whole-signal helpers other model stages share:
:func:`mono_16k` decodes a source to the 16 kHz mono signal that
:func:`~audiokit.models.transcribe` and :func:`~audiokit.models.tag` decode
(the same samples, bit for bit), and :func:`speech_probabilities` scores it
once; :func:`speech_chunks` (``probabilities=``) and the learned segmenter
(:mod:`audiokit.models.segmentation`) take those scores instead of running
Silero again.

For a long track the shared signal is not held in memory: :func:`spill_mono_16k`
writes the same samples, block by block as they are decoded, to a temporary
32-bit float RF64 WAV (:class:`Mono16kFile`, 64 kB a second of input, with no
name on Linux, so a killed process leaves nothing behind), which the tagger
and the transcriber open as an ordinary file and the VAD and the segmenter
read in windows. Reads go through the page cache, so the signal
never counts in the process's resident memory (a memory map's pages would,
once touched).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from audiokit.errors import ModelError, ParameterError

from .._registry import require
from .registry import SAMPLE_RATE

if TYPE_CHECKING:
    from audiokit.io.source import AudioSource

__all__ = [
    "VAD_SAMPLE_RATE",
    "FRAME_SAMPLES",
    "SPEECH_THRESHOLD",
    "PAUSE_THRESHOLD",
    "VadOptions",
    "Chunk",
    "SpeechDetector",
    "AllSpeech",
    "KnownSpeech",
    "SpeechChunker",
    "speech_chunks",
    "Mono16kFile",
    "mono_16k",
    "spill_mono_16k",
    "speech_probabilities",
]

#: Silero VAD's input rate, Hz: Whisper's 16 kHz, so one resampled signal serves both
VAD_SAMPLE_RATE = SAMPLE_RATE
#: a frame whose speech probability is at or above this is speech (Silero's default threshold)
SPEECH_THRESHOLD = 0.5
#: inside speech, a frame below this counts as a pause (Silero's ``threshold - 0.15``)
PAUSE_THRESHOLD = 0.35

#: Samples per Silero VAD frame at 16 kHz (32 ms).
FRAME_SAMPLES = 512
#: Samples of the previous frame prepended to each frame (Silero's context).
CONTEXT_SAMPLES = 64
#: Frames scored per ONNX call.
FRAMES_PER_CALL = 512
#: Samples decoded per block by :func:`mono_16k` (one ONNX call's worth, 16.384 s).
DECODE_BLOCK_SAMPLES = FRAMES_PER_CALL * FRAME_SAMPLES
#: A pause at least this long inside over-long speech is a preferred split point, ms.
MIN_SPLIT_SILENCE_MS = 96
#: Where a process reopens by path a file it holds open (Linux's procfs, proc(5)): how the consumers
#: of an unnamed temporary file open it.
_OWN_DESCRIPTORS = Path("/proc/self/fd")


@dataclass(frozen=True)
class VadOptions:
    """How speech probabilities become regions and regions become chunks."""

    #: a frame with speech probability >= this starts (or continues) speech
    threshold: float = SPEECH_THRESHOLD
    #: a frame below this counts as silence inside speech (Silero's threshold - 0.15)
    neg_threshold: float = PAUSE_THRESHOLD
    #: speech shorter than this is dropped, ms
    min_speech_ms: int = 250
    #: silence at least this long ends a speech region, ms
    min_silence_ms: int = 500
    #: audio kept on each side of a region, ms
    speech_pad_ms: int = 200
    #: longest chunk handed to the model, seconds (Whisper's window is 30 s)
    max_chunk_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 < self.neg_threshold <= self.threshold < 1.0:
            raise ParameterError(
                f"thresholds are threshold={self.threshold}, neg_threshold={self.neg_threshold}; "
                "expected 0 < neg_threshold <= threshold < 1"
            )
        if not 1.0 <= self.max_chunk_s <= 30.0:
            raise ParameterError(f"max_chunk_s is {self.max_chunk_s}; expected 1 to 30 seconds")
        if min(self.min_speech_ms, self.min_silence_ms, self.speech_pad_ms) < 0:
            raise ParameterError("min_speech_ms, min_silence_ms and speech_pad_ms must be >= 0")

    def to_dict(self) -> dict:
        """The options as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of the input that holds speech, at 16 kHz mono."""

    #: first sample of the span in the input (16 kHz)
    start: int
    #: the span's samples, shape (n,), float32, n <= max_chunk_s * 16000
    samples: np.ndarray
    #: speech regions found by the detector, (start, end) samples from the chunk's start,
    #: before padding; empty means "all of it" (a chunk made by hand)
    regions: tuple[tuple[int, int], ...] = ()

    def speech_after(self, sample: int) -> int | None:
        """Where the first speech at or after ``sample`` (chunk-relative) starts, or None."""
        if not self.regions:
            return sample if sample < self.samples.shape[0] else None
        for start, end in self.regions:
            if end > sample:
                return max(start, sample)
        return None

    @property
    def start_s(self) -> float:
        """Start of the span, seconds from the start of the input."""
        return self.start / SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        """Length of the span, seconds."""
        return self.samples.shape[0] / SAMPLE_RATE

    def to_dict(self) -> dict:
        """Start and duration in seconds as a JSON-ready dict (no samples)."""
        return {"start_s": self.start_s, "duration_s": self.duration_s}


class SpeechDetector:
    """Silero VAD speech probability per 32 ms frame, streaming.

    ``process(samples)`` returns the probabilities of the frames completed so
    far; ``flush()`` scores the last partial frame (zero-padded). The LSTM
    state and the 64-sample context carry across calls, so any block split
    gives the same probabilities as one call on the whole signal.
    """

    def __init__(self) -> None:
        self._session = _silero_session()
        self._state = (np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32))
        self._context = np.zeros(CONTEXT_SAMPLES, np.float32)
        self._pending = np.zeros(0, np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Score the complete frames of ``samples`` (shape (n,), 16 kHz) and those carried over.

        Returns
        -------
        np.ndarray [shape=(frames,), dtype=float32]
        """
        samples = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        usable = samples.shape[0] // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = samples[usable:]
        return self._score(samples[:usable])

    def flush(self) -> np.ndarray:
        """Score what is left, zero-padded to a whole frame."""
        if self._pending.shape[0] == 0:
            return np.zeros(0, np.float32)
        frame = np.zeros(FRAME_SAMPLES, np.float32)
        frame[: self._pending.shape[0]] = self._pending
        self._pending = np.zeros(0, np.float32)
        return self._score(frame)

    def _score(self, samples: np.ndarray) -> np.ndarray:
        frames = samples.reshape(-1, FRAME_SAMPLES)
        scores = []
        for first in range(0, frames.shape[0], FRAMES_PER_CALL):
            block = frames[first : first + FRAMES_PER_CALL]
            contexts = np.empty((block.shape[0], CONTEXT_SAMPLES), np.float32)
            contexts[0] = self._context
            contexts[1:] = block[:-1, -CONTEXT_SAMPLES:]
            self._context = block[-1, -CONTEXT_SAMPLES:].copy()
            probs, hidden, cell = self._session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.concatenate([contexts, block], axis=1), "h": self._state[0], "c": self._state[1]},
            )
            self._state = (hidden, cell)
            scores.append(np.asarray(probs, np.float32).reshape(-1))
        return np.concatenate(scores) if scores else np.zeros(0, np.float32)


class SpeechChunker:
    """Frame probabilities + audio in, :class:`Chunk` s of at most ``max_chunk_s`` out.

    Call ``process(samples, probs)`` with each block of 16 kHz samples and the
    speech probability of every 512-sample frame it completes, then
    ``flush(probs)`` with the scores of the last partial frame. Both return
    the chunks that are complete.
    """

    def __init__(self, options: VadOptions = VadOptions()) -> None:
        self.options = options
        ms = SAMPLE_RATE // 1000
        self._pad = options.speech_pad_ms * ms
        self._min_speech = options.min_speech_ms * ms
        self._min_silence = options.min_silence_ms * ms
        self._max_chunk = int(options.max_chunk_s * SAMPLE_RATE)
        # longest region before padding, so that a padded region fits in a chunk
        self._max_region = max(self._max_chunk - 2 * self._pad - FRAME_SAMPLES, FRAME_SAMPLES)
        self._frame = 0  # index of the next frame to classify
        self._speech_start: int | None = None  # start of the open region
        self._silence_start: int | None = None  # start of the silence inside it
        self._split: tuple[int, int] | None = None  # last pause >= MIN_SPLIT_SILENCE_MS inside it
        self._last_end = 0  # padded end of the last closed region
        self._window: tuple[int, int] | None = None  # chunk being assembled [start, end)
        self._regions: list[tuple[int, int]] = []  # unpadded speech regions inside the window
        self._buffer = np.zeros(0, np.float32)  # audio from sample _buffer_start on
        self._buffer_start = 0
        self._received = 0  # samples received so far

    def process(self, samples: np.ndarray, probs: np.ndarray) -> list[Chunk]:
        """Add a block of samples (shape (n,)) and the probabilities of the frames it completes."""
        self._buffer = np.concatenate([self._buffer, samples])
        self._received += samples.shape[0]
        chunks = []
        for prob in probs:
            chunks += self._classify(float(prob))
        chunks += self._release_stale()
        self._trim()
        return chunks

    def flush(self, probs: np.ndarray) -> list[Chunk]:
        """Classify the last frames, close the open region and hand out every remaining chunk."""
        chunks = []
        for prob in probs:
            chunks += self._classify(float(prob))
        if self._speech_start is not None:
            end = self._silence_start if self._silence_start is not None else self._received
            chunks += self._close_region(self._speech_start, end)
            self._speech_start = None
        if self._window is not None:
            chunks.append(self._emit())
        return chunks

    def _classify(self, prob: float) -> list[Chunk]:
        options, chunks = self.options, []
        start = self._frame * FRAME_SAMPLES
        end = min(start + FRAME_SAMPLES, self._received)
        self._frame += 1
        if prob >= options.threshold:
            if self._speech_start is None:
                self._speech_start = start
            self._silence_start = None
        elif prob < options.neg_threshold and self._speech_start is not None:
            if self._silence_start is None:
                self._silence_start = start
            if end - self._silence_start >= MIN_SPLIT_SILENCE_MS * SAMPLE_RATE // 1000:
                self._split = (self._silence_start, end)
            if end - self._silence_start >= self._min_silence:
                chunks += self._close_region(self._speech_start, self._silence_start)
                self._speech_start = self._silence_start = self._split = None
        if self._speech_start is not None and end - self._speech_start > self._max_region:
            # over-long speech: split at the last pause if there was one, else here
            if self._split is not None and self._split[0] > self._speech_start:
                split_end, next_start = self._split
            else:
                split_end = next_start = end
            chunks += self._close_region(self._speech_start, split_end)
            self._speech_start, self._split = next_start, None
            if self._silence_start is not None and self._silence_start < next_start:
                self._silence_start = None
        return chunks

    def _close_region(self, start: int, end: int) -> list[Chunk]:
        if end - start < self._min_speech:
            return []
        region = (start, end)
        start = max(start - self._pad, self._last_end, 0)
        end = min(end + self._pad, self._received)
        self._last_end = end
        chunks = []
        if self._window is not None and end - self._window[0] > self._max_chunk:
            chunks.append(self._emit())
        if self._window is None:
            self._window = (start, end)
        else:
            self._window = (self._window[0], end)
        self._regions.append(region)
        return chunks

    def _release_stale(self) -> list[Chunk]:
        """Hand out the window once no region that could still join it can start."""
        if self._window is None:
            return []
        earliest_next = self._speech_start if self._speech_start is not None else self._frame * FRAME_SAMPLES
        if earliest_next + self._min_speech - self._window[0] > self._max_chunk:
            return [self._emit()]
        return []

    def _emit(self) -> Chunk:
        assert self._window is not None  # callers emit only while a window is open
        start, end = self._window
        regions = tuple((max(a, start) - start, min(b, end) - start) for a, b in self._regions)
        self._window, self._regions = None, []
        offset = start - self._buffer_start
        return Chunk(start, self._buffer[offset : offset + end - start].copy(), regions)

    def _trim(self) -> None:
        """Drop audio that neither the window nor any region still to come can include."""
        next_start = self._speech_start if self._speech_start is not None else self._frame * FRAME_SAMPLES
        keep = max(next_start - self._pad, self._last_end)
        if self._window is not None:
            keep = min(keep, self._window[0])
        if keep > self._buffer_start:
            self._buffer = self._buffer[keep - self._buffer_start :]
            self._buffer_start = keep


class AllSpeech:
    """Stands in for :class:`SpeechDetector` when VAD is off: every frame has probability 1."""

    def __init__(self) -> None:
        self._pending = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Probability 1 for each frame that ``samples`` completes, shape (frames,), float32."""
        self._pending += samples.shape[0]
        frames, self._pending = divmod(self._pending, FRAME_SAMPLES)
        return np.ones(frames, np.float32)

    def flush(self) -> np.ndarray:
        """Probability 1 for the last partial frame if there is one, shape (0,) or (1,), float32."""
        frames, self._pending = int(self._pending > 0), 0
        return np.ones(frames, np.float32)


class KnownSpeech:
    """Stands in for :class:`SpeechDetector` when the probabilities were computed already.

    Hands out the given per-frame probabilities as the samples arrive, so the
    chunker sees exactly what a detector on the same samples would have said.

    Parameters
    ----------
    probabilities : np.ndarray [shape=(frames,)]
        Silero VAD's probability of each 512-sample frame of the whole signal,
        the last (partial) frame included: :func:`speech_probabilities`.
    """

    def __init__(self, probabilities: np.ndarray) -> None:
        self._probabilities = np.asarray(probabilities, np.float32).reshape(-1)
        self._received = 0  # samples seen
        self._given = 0  # probabilities handed out

    def process(self, samples: np.ndarray) -> np.ndarray:
        """The probabilities of the frames ``samples`` (shape (n,)) completes, shape (frames,), float32."""
        self._received += samples.shape[0]
        return self._hand_out(self._received // FRAME_SAMPLES)

    def flush(self) -> np.ndarray:
        """The probability of the last partial frame, if there is one, shape (0,) or (1,), float32.

        Raises
        ------
        ParameterError
            If the probabilities do not cover the samples frame for frame.
        """
        frames = -(-self._received // FRAME_SAMPLES)
        if self._probabilities.size != frames:
            raise ParameterError(
                f"{self._probabilities.size} speech probabilities for {self._received} samples, which make "
                f"{frames} frames of {FRAME_SAMPLES}; score the same 16 kHz signal with speech_probabilities()"
            )
        return self._hand_out(frames)

    def _hand_out(self, frames: int) -> np.ndarray:
        given, self._given = self._given, min(frames, self._probabilities.size)
        return self._probabilities[given : self._given]


def speech_chunks(
    blocks: Iterable[np.ndarray], *, vad: bool = True, options: VadOptions = VadOptions(),
    probabilities: np.ndarray | None = None,
) -> Iterator[Chunk]:
    """Chunks of speech from a stream of 16 kHz mono blocks.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,), dtype=float32]
        The input at 16 kHz, in blocks of any length.
    vad : bool
        Find speech with Silero VAD. Without it every frame counts as speech,
        so the input is cut into consecutive windows of ``max_chunk_s``.
    options : VadOptions
    probabilities : np.ndarray [shape=(frames,)], optional
        Silero VAD's probabilities for these blocks, computed already
        (:func:`speech_probabilities` of their concatenation): the chunks are
        the ones the detector would give, without running it again.

    Yields
    ------
    Chunk
        In input order, non-overlapping, each at most ``options.max_chunk_s`` long.

    Examples
    --------
    >>> blocks = audiokit.open("episode.mp3").resampled_to(16000).blocks(256000)  # doctest: +SKIP
    >>> [c.start_s for c in speech_chunks(b.mean(axis=0) for b in blocks)]       # doctest: +SKIP
    [0.41, 29.87, 58.2]
    """
    detector: SpeechDetector | AllSpeech | KnownSpeech
    if probabilities is not None:
        if not vad:
            raise ParameterError("probabilities were given with vad=False; they are speech scores, pass vad=True")
        detector = KnownSpeech(probabilities)
    else:
        detector = SpeechDetector() if vad else AllSpeech()
    chunker = SpeechChunker(options)
    for block in blocks:
        block = np.asarray(block, np.float32)
        yield from chunker.process(block, detector.process(block))
    yield from chunker.flush(detector.flush())


def _mono_16k_blocks(source: AudioSource) -> Iterator[np.ndarray]:
    """``source`` at 16 kHz mono in blocks of :data:`DECODE_BLOCK_SAMPLES`, shape (n,), float32.

    What the transcriber and the tagger decode: :meth:`audiokit.io.AudioReader.resampled_to`,
    then :func:`audiokit.channels.to_mono`.
    """
    from audiokit.channels import to_mono
    from audiokit.io.source import open_source

    with open_source(source) as reader, reader.resampled_to(VAD_SAMPLE_RATE) as resampled:
        for block in resampled.blocks(DECODE_BLOCK_SAMPLES):
            yield to_mono(block)[0]


def mono_16k(source: AudioSource) -> np.ndarray:
    """The whole of ``source`` at 16 kHz, mono, in memory: what :func:`~audiokit.models.transcribe` decodes.

    Decoded and resampled block by block (:meth:`audiokit.io.AudioReader.resampled_to`),
    then folded to mono (:func:`audiokit.channels.to_mono`), as the transcriber and
    the tagger do, so their results on this signal equal their results on ``source``.
    For a long source, :func:`spill_mono_16k` keeps the same samples on disk instead.

    Parameters
    ----------
    source : str, os.PathLike or audiokit.Audio

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        ``n = output_length(num_frames, sample_rate, 16000)``.

    Examples
    --------
    >>> import numpy as np
    >>> from audiokit import Audio
    >>> mono_16k(Audio(np.zeros((2, 44100), np.float32), 44100)).shape
    (16000,)
    """
    blocks = list(_mono_16k_blocks(source))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


class Mono16kFile:
    """A 16 kHz mono signal in a temporary 32-bit float WAV, read back in windows.

    Made by :func:`spill_mono_16k`. :attr:`path` is an ordinary audio file
    (RF64, so past 4 GB too) that :func:`~audiokit.models.transcribe` and
    :func:`~audiokit.models.tag` stream like any other; :meth:`read` and
    slicing return one window as an array, :meth:`blocks` the whole signal
    in blocks. The file has no name in any folder where ``/proc/self/fd``
    exists (Linux): :attr:`path` reopens this object's open descriptor, valid
    in this process only, and the kernel frees the data when it is closed,
    even if the process is killed. Elsewhere it is a named temporary file.
    Either way it goes on :meth:`close`, on leaving a ``with`` block, or when
    the object is garbage-collected.

    Parameters
    ----------
    handle : file object
        The temporary file holding the WAV (binary, open), which this object now owns.
    num_samples : int
        Its length, samples at 16 kHz.
    """

    def __init__(self, handle: IO[bytes], num_samples: int) -> None:
        # a file made by tempfile.TemporaryFile on Linux has no name, only its descriptor
        unnamed = isinstance(handle.name, int)
        self.path = _OWN_DESCRIPTORS / str(handle.fileno()) if unnamed else Path(handle.name)
        self.num_samples = num_samples
        self._remove = weakref.finalize(self, handle.close)  # a named temporary file is removed on close

    def __len__(self) -> int:
        return self.num_samples

    @property
    def duration_s(self) -> float:
        """Length of the signal, seconds."""
        return self.num_samples / VAD_SAMPLE_RATE

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start`` to ``stop`` (clipped to the signal), shape (stop - start,), float32.

        Raises
        ------
        ParameterError
            If the file was closed.
        """
        import soundfile

        if not self._remove.alive:
            raise ParameterError(f"{self.path} was closed; spill the source again with spill_mono_16k()")
        start, stop, _ = slice(start, stop).indices(self.num_samples)
        if stop <= start:
            return np.zeros(0, np.float32)
        with soundfile.SoundFile(self.path) as handle:
            handle.seek(start)
            return handle.read(stop - start, dtype="float32")

    def __getitem__(self, window: slice) -> np.ndarray:
        """``signal[a:b]``: :meth:`read` of a window (negative bounds count from the end, as for arrays).

        Raises
        ------
        ParameterError
            For an index that is not a slice with step 1.
        """
        if not isinstance(window, slice) or window.step not in (None, 1):
            raise ParameterError(f"Mono16kFile takes a slice with step 1, not {window!r}; read() it into memory first")
        return self.read(window.start or 0, window.stop)

    def blocks(self, num_samples: int = DECODE_BLOCK_SAMPLES) -> Iterator[np.ndarray]:
        """Yield the signal in blocks of ``num_samples`` (shape (n,), float32); the last may be shorter."""
        for start in range(0, self.num_samples, num_samples):
            yield self.read(start, start + num_samples)

    def close(self) -> None:
        """Remove the file (again: a no-op)."""
        self._remove()

    def __enter__(self) -> Mono16kFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Mono16kFile({os.fspath(self.path)!r}, num_samples={self.num_samples})"


def spill_mono_16k(source: AudioSource, *, directory: str | os.PathLike[str] | None = None) -> Mono16kFile:
    """:func:`mono_16k` of ``source`` written to a temporary file as it is decoded: memory stays one block.

    Parameters
    ----------
    source : str, os.PathLike or audiokit.Audio
    directory : str or os.PathLike, optional
        The file system the temporary WAV is written to; default: Python's
        temporary directory (``$TMPDIR``, else ``/tmp``).

    Returns
    -------
    Mono16kFile
        The samples of ``mono_16k(source)``, bit for bit.

    Raises
    ------
    FormatError
        If the source cannot be decoded (no file is left behind).

    Examples
    --------
    >>> import numpy as np
    >>> from audiokit import Audio
    >>> stereo = Audio(np.stack([np.full(16000, 0.25, np.float32), np.full(16000, 0.75, np.float32)]), 16000)
    >>> with spill_mono_16k(stereo) as signal:
    ...     len(signal), signal[-3:].tolist()
    (16000, [0.5, 0.5, 0.5])
    """
    import soundfile

    handle: IO[bytes]
    folder = None if directory is None else os.fspath(directory)
    if _OWN_DESCRIPTORS.is_dir():  # nameless from the start: nothing is left behind if this process dies
        handle = tempfile.TemporaryFile(dir=folder)
    else:
        handle = tempfile.NamedTemporaryFile(prefix="audiokit-mono16k-", suffix=".wav", dir=folder)
    try:
        num_samples = 0
        with soundfile.SoundFile(handle, "w", VAD_SAMPLE_RATE, 1, subtype="FLOAT", format="RF64",
                                 closefd=False) as output:
            for block in _mono_16k_blocks(source):
                output.write(block)
                num_samples += block.shape[0]
    except BaseException:
        handle.close()
        raise
    return Mono16kFile(handle, num_samples)


def speech_probabilities(samples: np.ndarray | Mono16kFile) -> np.ndarray:
    """Silero VAD's speech probability of every 32 ms frame of a whole 16 kHz mono signal.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)] or Mono16kFile
        16 kHz mono (:func:`mono_16k`, or :func:`spill_mono_16k`'s file, which
        is scored window by window with the detector's state carried: the same
        probabilities).

    Returns
    -------
    np.ndarray [shape=(ceil(n / 512),), dtype=float32]
        One probability per 512-sample frame; the last partial frame is zero-padded.
    """
    detector = SpeechDetector()
    if isinstance(samples, Mono16kFile):
        scores = [detector.process(block) for block in samples.blocks()]
        return np.concatenate([*scores, detector.flush()])
    return np.concatenate([detector.process(samples), detector.flush()])


@lru_cache(maxsize=1)
def _silero_session() -> Any:
    """The ONNX Runtime session of Silero VAD's sequence model, loaded once per process.

    The model comes from the silero-vad package. One session serves every
    detector: it holds no state between calls (each detector keeps its own
    recurrent state). The model file is located without importing ``silero_vad``, whose
    ``__init__`` imports torch and sets torch's thread count to 1.
    """
    onnxruntime = require("onnxruntime")
    spec = importlib.util.find_spec("silero_vad")
    origin = spec.origin if spec is not None else None
    if origin is None:
        require("silero_vad")  # raises MissingDependencyError naming the extra
        raise ModelError("silero_vad is importable but has no file location; reinstall it: pip install 'audiokit[ml]'")
    path = Path(origin).parent / "data" / "silero_vad_16k_sequence.onnx"
    if not path.is_file():
        raise ModelError(f"{path} is missing; silero-vad >= 6 ships it: pip install 'audiokit[ml]'")
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"])
