"""Decoding: the streaming :class:`AudioReader` (``audiokit.open``) and :func:`read`.

WAV, FLAC, AIFF and CAF go through soundfile (exact and fast); everything
else PyAV decodes (MP3, Ogg Opus/Vorbis, M4A AAC/ALAC, WebM, ...). Blocks are
``(channels, <=n)`` float32; memory is bounded by the block size whatever the
file's length.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._arrays import BLOCK_FRAMES, check_sample_rate
from .._files import display_path
from ..audio import Audio
from ..channels import to_mono
from ..errors import FormatError, ParameterError
from ._containers import check_readable, ffmpeg_reason, frame_to_float, open_container, open_soundfile
from .probe import MediaInfo, cached_probe, probe, probe_decoding

if TYPE_CHECKING:
    import soundfile

__all__ = ["AudioReader", "open", "read"]

#: Default block length for :meth:`AudioReader.blocks`, frames.
DEFAULT_BLOCK_FRAMES = BLOCK_FRAMES


class AudioReader:
    """A streaming reader over one audio file; create it with :func:`open`.

    Attributes
    ----------
    info : MediaInfo
        What :func:`~audiokit.io.probe` says of the file.
    sample_rate : int
        Rate of the blocks this reader yields (the file's, unless resampled).
    num_channels : int
        Channels per block.
    num_frames : int
        Exact number of frames this reader yields in all.

    Examples
    --------
    >>> import audiokit
    >>> with audiokit.open("examples/example.flac") as reader:
    ...     shapes = [block.shape for block in reader.resampled_to(16000).blocks(16000)]
    >>> shapes[0], len(shapes)                             # (channels, <=16000) blocks
    ((2, 16000), 21)
    """

    def __init__(self, path: str | os.PathLike[str], *, _info: MediaInfo | None = None,
                 _sample_rate: int | None = None) -> None:
        self.info = _info if _info is not None else probe(path)
        self.path = Path(self.info.path)
        self.sample_rate = _sample_rate or self.info.sample_rate
        self.num_channels = self.info.num_channels
        self._closed = False

    @property
    def num_frames(self) -> int:
        """Exact number of frames the blocks hold in all, at :attr:`sample_rate`."""
        if self.sample_rate == self.info.sample_rate:
            return self.info.num_frames
        from .resample import output_length

        return output_length(self.info.num_frames, self.info.sample_rate, self.sample_rate)

    def resampled_to(self, sample_rate: int) -> "AudioReader":
        """A reader over the same file whose blocks are resampled to ``sample_rate``.

        Uses audiokit's one resampler (:class:`audiokit.io.resample.Resampler`),
        streaming, so the output equals :func:`audiokit.io.resample.resample`
        of the whole file.
        """
        sample_rate = check_sample_rate(sample_rate)
        return AudioReader(self.path, _info=self.info, _sample_rate=sample_rate)

    def blocks(self, num_frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """Yield ``(channels, num_frames)`` float32 blocks; the last may be shorter.

        Raises
        ------
        FormatError
            If decoding fails part-way (corrupt or truncated data).
        """
        if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
            raise ParameterError(f"num_frames is {num_frames!r}; expected a positive integer")
        if self._closed:
            raise ParameterError(f"{self.path}: reader is closed")
        chunks = self._decoded_chunks()
        if self.sample_rate != self.info.sample_rate:
            chunks = _resampled(chunks, self.info.sample_rate, self.sample_rate, self.num_channels)
        return _rebuffered(chunks, int(num_frames), self.num_channels)

    def read(self, *, mono: bool = False) -> Audio:
        """Read everything that is left into one :class:`~audiokit.Audio`."""
        channels = 1 if mono else self.num_channels
        try:  # num_frames was counted by decoding (probe), not read from a header
            samples = np.empty((channels, self.num_frames), np.float32)
        except MemoryError:
            raise FormatError(
                f"{display_path(self.path)}: {self.num_frames} frames of {channels} channels do not fit in "
                "memory; stream it with audiokit.open(path).blocks() instead"
            ) from None
        position = 0
        for block in self.blocks():
            if mono:
                block = to_mono(block)
            block = block[:, : self.num_frames - position]
            samples[:, position : position + block.shape[1]] = block
            position += block.shape[1]
        if position != self.num_frames:
            raise FormatError(
                f"{display_path(self.path)}: decoded {position} frames where probing decoded "
                f"{self.num_frames}; the file changed while it was read. Read it again"
            )
        return Audio(samples, self.sample_rate)

    def _decoded_chunks(self) -> Iterator[np.ndarray]:
        handle = open_soundfile(self.path)
        if handle is not None:
            return _finite(_soundfile_chunks(handle, self.info), self.path)
        return _finite(_pyav_chunks(self.path, self.info), self.path)

    def close(self) -> None:
        """Release the file. Blocks already handed out stay valid."""
        self._closed = True

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"AudioReader({str(self.path)!r}, sample_rate={self.sample_rate}, "
            f"num_channels={self.num_channels}, num_frames={self.num_frames})"
        )


def open(path: str | os.PathLike[str]) -> AudioReader:  # noqa: A001 - mirrors the builtin, as pedalboard's AudioFile does
    """Open an audio file for streaming reads.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    AudioReader
        Use as a context manager; ``.info``, ``.blocks(n)``, ``.resampled_to(rate)``.

    Raises
    ------
    FormatError
        If the file is missing, empty, a directory, not audio, or corrupt.
    """
    return AudioReader(path)


def read(path: str | os.PathLike[str], *, sample_rate: int | None = None, mono: bool = False) -> Audio:
    """Decode a whole file into an :class:`~audiokit.Audio`.

    Parameters
    ----------
    path : str or os.PathLike
        Anything PyAV decodes: WAV, FLAC, AIFF, MP3, Ogg Opus/Vorbis, M4A
        (AAC, ALAC), WebM, ...
    sample_rate : int, optional
        Resample to this rate (Hz) with audiokit's resampler. Default: the file's.
    mono : bool
        Average the channels into one.

    Returns
    -------
    Audio
        ``samples`` has shape ``(channels, frames)`` with exactly
        :attr:`MediaInfo.num_frames` frames at the file's rate (encoder
        priming and padding removed).

    Raises
    ------
    FormatError
        If the file cannot be decoded.

    Examples
    --------
    >>> audio = read("examples/example.flac", sample_rate=48000)
    >>> audio.sample_rate, audio.num_channels
    (48000, 2)
    """
    if sample_rate is None:
        path = check_readable(path)
        if cached_probe(path) is None:
            handle = open_soundfile(path)
            if handle is None:  # a file PyAV decodes, not probed yet: decode once
                return _read_decoding_once(path, mono)
            handle.close()
    with open(path) as reader:
        if sample_rate is not None:
            reader = reader.resampled_to(sample_rate)
        return reader.read(mono=mono)


def _read_decoding_once(path: Path, mono: bool) -> Audio:
    """Probe and read in one decode: keep the frames probing counts, then trim to its length."""
    chunks: deque[np.ndarray] = deque()
    info = probe_decoding(path, lambda frame: chunks.append(frame_to_float(frame)))
    channels = 1 if mono else info.num_channels
    samples = np.empty((channels, info.num_frames), np.float32)
    position = 0
    while chunks and position < info.num_frames:
        chunk = chunks.popleft()[:, : info.num_frames - position]  # popped: memory stays one copy
        _check_finite(chunk, path, position)
        if mono:
            chunk = chunk.mean(axis=0, keepdims=True, dtype=np.float32)
        samples[:, position : position + chunk.shape[1]] = chunk
        position += chunk.shape[1]
    return Audio(samples, info.sample_rate)


def _soundfile_chunks(handle: soundfile.SoundFile, info: MediaInfo) -> Iterator[np.ndarray]:
    import soundfile

    with handle:
        try:
            for chunk in handle.blocks(blocksize=DEFAULT_BLOCK_FRAMES, dtype="float32", always_2d=True):
                yield np.ascontiguousarray(chunk.T)
        except (RuntimeError, soundfile.LibsndfileError) as error:
            raise FormatError(f"{display_path(info.path)}: decoding failed ({error}); the file is corrupt "
                              "or truncated. Re-export or re-download it") from None


def _pyav_chunks(path: Path, info: MediaInfo) -> Iterator[np.ndarray]:
    """Decode with PyAV, stopping at ``info.num_frames``.

    ``info.num_frames`` is ffmpeg's own decoded count (see :func:`probe`)
    except for an MP4 edit list's end: ffmpeg does not trim an AAC encoder's
    end padding on decode, so the decoded tail beyond the edit is dropped here.
    """
    import av

    container, stream = open_container(path)
    remaining = info.num_frames
    with container:
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if remaining <= 0:
                        return
                    chunk = frame_to_float(frame)[:, :remaining]
                    remaining -= chunk.shape[1]
                    yield chunk
        except av.FFmpegError as error:
            raise FormatError(f"{display_path(path)}: decoding failed ({ffmpeg_reason(error)}); the file is "
                              "corrupt or truncated. Re-export or re-download it") from None


def _finite(chunks: Iterator[np.ndarray], path: Path) -> Iterator[np.ndarray]:
    """Pass decoded chunks on, refusing NaN or infinite samples (float WAV/AIFF/CAF can hold them)."""
    position = 0
    for chunk in chunks:
        _check_finite(chunk, path, position)
        position += chunk.shape[1]
        yield chunk


def _check_finite(chunk: np.ndarray, path: Path, position: int) -> None:
    if np.isfinite(chunk).all():
        return
    channel, frame = np.argwhere(~np.isfinite(chunk))[0]
    raise FormatError(
        f"{display_path(path)}: sample {position + frame} of channel {channel} is {chunk[channel, frame]}; "
        "audio must be finite. The file's float data is damaged: re-export it"
    )


def _resampled(chunks: Iterator[np.ndarray], in_rate: int, out_rate: int, channels: int) -> Iterator[np.ndarray]:
    from .resample import Resampler

    resampler = Resampler(in_rate, out_rate, channels)
    for chunk in chunks:
        out = resampler.process(chunk)
        if out.shape[1]:
            yield out
    tail = resampler.flush()
    if tail.shape[1]:
        yield tail


def _rebuffered(chunks: Iterator[np.ndarray], num_frames: int, channels: int) -> Iterator[np.ndarray]:
    """Regroup chunks of any length into blocks of exactly ``num_frames`` (last may be short)."""
    pending: list[np.ndarray] = []
    pending_frames = 0
    for chunk in chunks:
        pending.append(chunk)
        pending_frames += chunk.shape[1]
        if pending_frames < num_frames:
            continue
        joined = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
        start = 0
        while pending_frames - start >= num_frames:
            yield np.ascontiguousarray(joined[:, start : start + num_frames])
            start += num_frames
        pending = [joined[:, start:]] if start < pending_frames else []
        pending_frames -= start
    if pending_frames:
        yield np.ascontiguousarray(np.concatenate(pending, axis=1))
