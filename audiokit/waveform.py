"""Waveform peaks for players: min/max pairs per pixel in the audiowaveform JSON format.

Waveform displays (peaks.js, wavesurfer.js, the BBC's audiowaveform) draw a
track from precomputed peaks: for every ``samples_per_pixel`` frames, the
smallest and largest sample. This module computes them in one streaming pass,
at several zoom levels at once, and writes the JSON that audiowaveform writes
and peaks.js (through its ``waveform-data`` parser) reads:

``{"version": 2, "channels": C, "sample_rate": R, "samples_per_pixel": S,
"bits": 8|16, "length": N, "data": [min, max, ...]}``

``data`` holds ``N`` pixels; each pixel has a min and a max per channel, the
channels interleaved (audiowaveform's ``--split-channels`` layout; with one
channel it is version 1's layout too). Values are signed integers of ``bits``
bits: a sample ``x`` in [-1, 1) becomes ``floor(x * 2**(bits - 1))``, clipped,
as audiowaveform scales 16-bit PCM (and shifts it right by 8 for 8 bits).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._arrays import BLOCK_FRAMES, as_samples, check_sample_rate
from ._files import write_atomically
from .channels import to_mono
from .errors import FormatError, ParameterError

if TYPE_CHECKING:
    from .io.source import AudioSource

__all__ = ["FORMAT_VERSION", "PeaksBuilder", "WaveformPeaks", "waveform_peaks", "write_peaks"]

#: The audiowaveform JSON format version written (version 2 adds ``channels``).
FORMAT_VERSION = 2
_BITS = (8, 16)


@dataclass(frozen=True, eq=False)
class WaveformPeaks:
    """Min/max peaks of a signal at one zoom level."""

    #: signed integers, shape (pixels, channels, 2): [..., 0] the min, [..., 1] the max
    data: np.ndarray
    #: Hz of the signal the peaks were taken from
    sample_rate: int
    #: frames per pixel
    samples_per_pixel: int
    #: 8 or 16
    bits: int

    @property
    def length(self) -> int:
        """Number of pixels."""
        return self.data.shape[0]

    @property
    def channels(self) -> int:
        """Number of channels."""
        return self.data.shape[1]

    def to_dict(self) -> dict:
        """The audiowaveform / peaks.js JSON document."""
        return {
            "version": FORMAT_VERSION,
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": self.bits,
            "length": self.length,
            "data": self.data.reshape(-1).tolist(),
        }

    @classmethod
    def from_dict(cls, document: dict) -> WaveformPeaks:
        """Read what :meth:`to_dict` wrote (audiowaveform JSON version 2, or version 1: one channel).

        Examples
        --------
        >>> peaks = WaveformPeaks.from_dict({"version": 2, "channels": 1, "sample_rate": 8000,
        ...                                  "samples_per_pixel": 4, "bits": 8, "length": 2, "data": [-64, 64, 0, 115]})
        >>> peaks.length, peaks.data[1, 0].tolist()
        (2, [0, 115])
        """
        try:
            bits, channels = int(document["bits"]), int(document.get("channels", 1))
            if bits not in _BITS:
                raise ValueError(f"bits {bits}")
            data = np.asarray(document["data"], np.int16 if bits == 16 else np.int8).reshape(-1, channels, 2)
            return cls(data, int(document["sample_rate"]), int(document["samples_per_pixel"]), bits)
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(f"not audiowaveform JSON ({error!r}); expected the keys of "
                              "WaveformPeaks.to_dict()") from None


class PeaksBuilder:
    """Streaming min/max peaks at several zoom levels: ``process(block)`` then ``flush()``.

    Parameters
    ----------
    sample_rate : int
    num_channels : int
    samples_per_pixel : sequence of int
        One zoom level each, e.g. ``(256, 512, 1024, 2048)``.
    bits : int
        8 or 16.
    mono : bool
        Peaks of the mono downmix (:func:`audiokit.channels.to_mono`) instead
        of one pair per channel.

    Examples
    --------
    >>> import numpy as np
    >>> builder = PeaksBuilder(8000, 1, samples_per_pixel=(4,), bits=8)
    >>> builder.process(np.array([[0.0, 0.5, -0.5, 0.1, 0.9]], np.float32))
    >>> builder.flush()[0].data[:, 0].tolist()
    [[-64, 64], [115, 115]]
    """

    def __init__(self, sample_rate: int, num_channels: int, *, samples_per_pixel: Sequence[int] = (256,),
                 bits: int = 8, mono: bool = False) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        levels = tuple(samples_per_pixel)
        if not levels or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in levels):
            raise ParameterError(f"samples_per_pixel is {samples_per_pixel!r}; expected positive integers")
        if bits not in _BITS:
            raise ParameterError(f"bits is {bits!r}; expected 8 or 16")
        self.levels, self.bits, self.mono = levels, bits, mono
        self.num_channels = 1 if mono else num_channels
        self._pending = [np.zeros((self.num_channels, 0), np.float32) for _ in levels]
        self._pixels: list[list[np.ndarray]] = [[] for _ in levels]

    def process(self, block: np.ndarray) -> None:
        """Add a ``(channels, frames)`` block."""
        block = as_samples(block, name="block")
        if self.mono:
            block = to_mono(block)
        for index, per_pixel in enumerate(self.levels):
            pending = np.concatenate([self._pending[index], block], axis=1)
            whole = pending.shape[1] // per_pixel * per_pixel
            if whole:
                self._pixels[index].append(self._min_max(pending[:, :whole], per_pixel))
            self._pending[index] = pending[:, whole:]

    def flush(self) -> list[WaveformPeaks]:
        """The peaks at every zoom level, the last pixel holding what was left (as audiowaveform does)."""
        results = []
        for index, per_pixel in enumerate(self.levels):
            pixels = list(self._pixels[index])
            if self._pending[index].shape[1]:
                pixels.append(self._min_max(self._pending[index], self._pending[index].shape[1]))
            data = (np.concatenate(pixels) if pixels
                    else np.zeros((0, self.num_channels, 2), np.int16 if self.bits == 16 else np.int8))
            results.append(WaveformPeaks(data, self.sample_rate, per_pixel, self.bits))
        return results

    def _min_max(self, samples: np.ndarray, per_pixel: int) -> np.ndarray:
        """(pixels, channels, 2) integer min/max of ``samples`` (frames a multiple of ``per_pixel``)."""
        scale = float(1 << (self.bits - 1))
        frames = samples.reshape(samples.shape[0], -1, per_pixel)
        pairs = np.stack([frames.min(axis=2), frames.max(axis=2)], axis=-1).transpose(1, 0, 2)
        quantized = np.clip(np.floor(pairs * scale), -scale, scale - 1)
        return quantized.astype(np.int16 if self.bits == 16 else np.int8)


def waveform_peaks(source: AudioSource, *, samples_per_pixel: Sequence[int] = (256,), bits: int = 8,
                   mono: bool = False) -> list[WaveformPeaks]:
    """Min/max peaks of a file or an :class:`~audiokit.Audio`, streamed, at every zoom level asked.

    Parameters
    ----------
    source : str, os.PathLike or Audio
    samples_per_pixel : sequence of int
    bits : int
        8 or 16.
    mono : bool
        One pair per pixel from the mono downmix, instead of one per channel.

    Returns
    -------
    list of WaveformPeaks
        In the order of ``samples_per_pixel``.

    Examples
    --------
    >>> from audiokit.waveform import waveform_peaks
    >>> [p.length for p in waveform_peaks("examples/example.flac", samples_per_pixel=(441, 4410))]
    [2020, 202]
    """
    from .io.source import open_source

    with open_source(source) as reader:
        builder = PeaksBuilder(reader.sample_rate, reader.num_channels, samples_per_pixel=samples_per_pixel,
                               bits=bits, mono=mono)
        for block in reader.blocks(BLOCK_FRAMES):
            builder.process(block)
    return builder.flush()


def write_peaks(path: str | os.PathLike[str], peaks: WaveformPeaks) -> None:
    """Write one zoom level as audiowaveform / peaks.js JSON, atomically."""
    write_atomically(path, json.dumps(peaks.to_dict(), separators=(",", ":")).encode("utf-8"))
