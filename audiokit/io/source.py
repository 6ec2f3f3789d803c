"""One conversion of "a file path or an Audio" for every public entry point.

Functions that take audio (the ladder, analysis, the tagger, transcription,
moderation) accept either a path or an :class:`~audiokit.Audio`. They all go
through :func:`open_source`, which gives both the same streaming interface as
:func:`audiokit.open`, or :func:`as_audio` when they need the whole signal.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Union

import numpy as np

from .._arrays import check_sample_rate
from ..audio import Audio
from ..channels import to_mono
from ..errors import ParameterError
from .reader import DEFAULT_BLOCK_FRAMES, AudioReader, _rebuffered, _resampled

__all__ = ["AudioSource", "ArrayReader", "as_audio", "open_source"]

#: What every entry point that takes audio accepts.
AudioSource = Union[str, os.PathLike[str], Audio]


class ArrayReader:
    """The streaming interface of :class:`~audiokit.io.reader.AudioReader` over an :class:`Audio` in memory.

    Parameters
    ----------
    audio : Audio
    sample_rate : int, optional
        Rate of the blocks (resampled with audiokit's one resampler, streaming,
        so the blocks equal :func:`audiokit.io.resample.resample` of the whole).
        Default: the audio's own.
    """

    def __init__(self, audio: Audio, *, sample_rate: int | None = None) -> None:
        self.audio = audio
        self.sample_rate = check_sample_rate(sample_rate) if sample_rate is not None else audio.sample_rate
        self.num_channels = audio.num_channels

    @property
    def num_frames(self) -> int:
        """Exact number of frames the blocks hold in all."""
        if self.sample_rate == self.audio.sample_rate:
            return self.audio.num_frames
        from .resample import output_length

        return output_length(self.audio.num_frames, self.audio.sample_rate, self.sample_rate)

    @property
    def duration_s(self) -> float:
        """Duration of the signal, seconds."""
        return self.audio.duration_s

    def resampled_to(self, sample_rate: int) -> ArrayReader:
        """A reader over the same audio whose blocks are at ``sample_rate``."""
        return ArrayReader(self.audio, sample_rate=sample_rate)

    def blocks(self, num_frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """Yield ``(channels, num_frames)`` float32 blocks; the last may be shorter."""
        samples = self.audio.samples
        chunks: Iterator[np.ndarray] = (
            samples[:, start : start + num_frames] for start in range(0, samples.shape[1], num_frames)
        )
        if self.sample_rate == self.audio.sample_rate:
            return chunks
        resampled = _resampled(chunks, self.audio.sample_rate, self.sample_rate, self.num_channels)
        return _rebuffered(resampled, int(num_frames), self.num_channels)

    def read(self, *, mono: bool = False) -> Audio:
        """The whole signal at :attr:`sample_rate`, downmixed to mono if asked."""
        if self.sample_rate == self.audio.sample_rate:
            audio = self.audio
        else:
            from .resample import resample

            audio = Audio(resample(self.audio.samples, self.audio.sample_rate, self.sample_rate), self.sample_rate)
        return Audio(to_mono(audio.samples), audio.sample_rate) if mono and audio.num_channels > 1 else audio

    def close(self) -> None:
        """Nothing to release; present so both readers are used alike."""

    def __enter__(self) -> ArrayReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_source(source: AudioSource) -> AudioReader | ArrayReader:
    """A streaming reader over a file path or an :class:`Audio`.

    Parameters
    ----------
    source : str, os.PathLike or Audio

    Returns
    -------
    AudioReader or ArrayReader
        Both have ``sample_rate``, ``num_channels``, ``num_frames``,
        ``blocks(n)``, ``resampled_to(rate)``, ``read(mono=)`` and work as
        context managers.

    Raises
    ------
    ParameterError
        If ``source`` is neither a path nor an Audio (an array needs its
        sample rate: wrap it as ``audiokit.Audio(samples, sample_rate)``).
    FormatError
        If the file cannot be decoded.

    Examples
    --------
    >>> import numpy as np
    >>> with open_source(Audio(np.zeros((2, 48000), np.float32), 48000)) as reader:
    ...     [block.shape for block in reader.resampled_to(16000).blocks(10000)]
    [(2, 10000), (2, 6000)]
    """
    if isinstance(source, Audio):
        return ArrayReader(source)
    if isinstance(source, (str, os.PathLike)):
        return AudioReader(source)
    raise ParameterError(
        f"source is a {type(source).__name__}; expected a file path or an audiokit.Audio "
        "(wrap an array as audiokit.Audio(samples, sample_rate))"
    )


def as_audio(source: AudioSource, *, sample_rate: int | None = None, mono: bool = False) -> Audio:
    """The whole signal of a file path or an :class:`Audio`.

    Parameters
    ----------
    source : str, os.PathLike or Audio
    sample_rate : int, optional
        Resample to this rate, Hz. Default: the source's.
    mono : bool
        Downmix to one channel (:func:`audiokit.channels.to_mono`).

    Returns
    -------
    Audio
        ``source`` itself when it is an Audio that needs no change.

    Examples
    --------
    >>> import numpy as np
    >>> as_audio(Audio(np.ones((2, 4800), np.float32), 48000), sample_rate=16000, mono=True)
    Audio(num_channels=1, num_frames=1600, sample_rate=16000)
    """
    with open_source(source) as reader:
        if sample_rate is not None:
            reader = reader.resampled_to(sample_rate)
        return reader.read(mono=mono)
