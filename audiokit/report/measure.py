"""What a track report draws from the audio itself, measured in one streaming pass.

:class:`TrackMeasurer` feeds every block of the source to three consumers at
once: the BS.1770 meter (:class:`audiokit.loudness.LoudnessMeter`) for the
momentary (400 ms) and short-term (3 s) loudness curves of EBU Tech 3341, a
:class:`SpectrogramBuilder`, and (when the ingest pass did not write them) a
:class:`audiokit.waveform.PeaksBuilder`. It is itself a ``process(block)`` /
``flush()`` consumer, so ingest's one decode pass can feed it;
:func:`measure_track` is it run over a file or Audio. Memory is bounded by the block size
and the size of the pictures, not by the track's length: the spectrogram
averages the power of every STFT frame that falls in one of at most
:data:`MAX_COLUMNS` columns, and the loudness curves are thinned to at most
:data:`MAX_CURVE_POINTS` points.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._arrays import BLOCK_FRAMES, check_sample_rate
from ..channels import ChannelLayout, to_mono
from ..errors import ParameterError
from ..loudness import LoudnessMeter, LoudnessSeries, LoudnessWarning
from ..waveform import PeaksBuilder, WaveformPeaks

if TYPE_CHECKING:
    from ..io.source import AudioSource

__all__ = ["MAX_COLUMNS", "MAX_CURVE_POINTS", "ROWS", "SpectrogramBuilder", "TrackMeasurements", "TrackMeasurer",
           "measure_track"]

#: Largest number of time columns of the spectrogram (and of waveform pixels drawn).
MAX_COLUMNS = 1200
#: Frequency rows of the spectrogram, log-spaced from :data:`LOWEST_HZ` to the Nyquist frequency.
ROWS = 160
LOWEST_HZ = 40.0
#: STFT of the spectrogram: Hann window of this many frames, hopped by half of it.
N_FFT = 2048
#: Largest number of points of each loudness curve drawn.
MAX_CURVE_POINTS = 1500
#: Frames per pixel of the waveform peaks computed here when ingest wrote none.
PEAKS_SAMPLES_PER_PIXEL = 512


@dataclass(frozen=True, eq=False)
class TrackMeasurements:
    """The curves and pictures of one track's report."""

    #: momentary (400 ms) loudness, EBU Tech 3341
    momentary: LoudnessSeries
    #: short-term (3 s) loudness, EBU Tech 3341
    short_term: LoudnessSeries
    #: mean power per (row, column), dB re full scale; shape (ROWS, columns), row 0 the lowest frequency
    spectrogram_db: np.ndarray
    #: centre frequency of each spectrogram row, Hz, shape (ROWS,)
    spectrogram_hz: np.ndarray
    #: min/max peaks (None when the caller had them already)
    peaks: WaveformPeaks | None
    #: length of the source, seconds
    duration_s: float


class SpectrogramBuilder:
    """Streaming, bounded spectrogram: ``process(block)`` then ``flush()``.

    Parameters
    ----------
    sample_rate : int
    num_frames : int
        Length of the signal to come (for the column width); a longer signal
        only adds columns.
    max_columns : int
    rows : int

    Examples
    --------
    >>> import numpy as np
    >>> builder = SpectrogramBuilder(8000, 8000)
    >>> t = np.arange(8000) / 8000
    >>> builder.process(np.sin(2 * np.pi * 1000 * t)[None, :].astype(np.float32))
    >>> image = builder.flush()
    >>> image.shape, round(float(builder.row_hz[image[:, 3].argmax()]))
    ((160, 7), 990)
    """

    def __init__(self, sample_rate: int, num_frames: int, *, max_columns: int = MAX_COLUMNS, rows: int = ROWS) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if max_columns < 1 or rows < 1:
            raise ParameterError(f"max_columns {max_columns} and rows {rows} must be positive")
        hop = N_FFT // 2
        stft_frames = max(1, math.ceil(max(num_frames - N_FFT, 0) / hop) + 1)
        self._frames_per_column = max(1, math.ceil(stft_frames / max_columns))
        self._hop = hop
        self._window = np.hanning(N_FFT).astype(np.float32)
        # Power of a full-scale sine in one bin with this window, so 0 dB is full scale.
        self._reference = float(np.sum(self._window) / 2) ** 2
        bin_hz = np.fft.rfftfreq(N_FFT, 1 / self.sample_rate)
        edges = np.geomspace(LOWEST_HZ, self.sample_rate / 2, rows + 1)
        self.row_hz = np.sqrt(edges[:-1] * edges[1:])
        # Each row is the mean power of the bins [low, high) in its band (a band narrower than a bin: the
        # nearest bin), taken from a running sum over the bins: no matrix product per block.
        low = np.searchsorted(bin_hz, edges[:-1])
        high = np.searchsorted(bin_hz, edges[1:])
        nearest = np.abs(bin_hz[None, :] - self.row_hz[:, None]).argmin(axis=1)
        empty = high <= low
        self._low = np.where(empty, nearest, low)
        self._high = np.where(empty, nearest + 1, high)
        self._pending = np.zeros(0, np.float32)
        self._frame_index = 0
        self._sums = np.zeros((rows, max_columns + 1))
        self._counts = np.zeros(max_columns + 1, np.int64)

    def process(self, block: np.ndarray) -> None:
        """Add a ``(channels, frames)`` block (downmixed to mono here)."""
        mono = to_mono(np.asarray(block, np.float32))[0]
        pending = np.concatenate([self._pending, mono])
        count = 0 if pending.size < N_FFT else (pending.size - N_FFT) // self._hop + 1
        if count:
            windows = np.lib.stride_tricks.sliding_window_view(pending, N_FFT)[:: self._hop][:count]
            power = np.abs(np.fft.rfft(windows * self._window, axis=1)) ** 2
            self._add(self._bands(power))
        self._pending = pending[count * self._hop:]

    def _bands(self, power: np.ndarray) -> np.ndarray:
        """(frames, rows) mean power per band of (frames, bins) power spectra."""
        running = np.zeros((power.shape[0], power.shape[1] + 1))
        np.cumsum(power, axis=1, out=running[:, 1:])
        return (running[:, self._high] - running[:, self._low]) / (self._high - self._low)

    def _add(self, rows_power: np.ndarray) -> None:
        """Accumulate (frames, rows) band powers into their columns."""
        columns = (self._frame_index + np.arange(rows_power.shape[0])) // self._frames_per_column
        needed = int(columns[-1]) + 1
        if needed > self._counts.size:  # a longer signal than announced
            grow = max(needed, 2 * self._counts.size)
            self._sums = np.pad(self._sums, ((0, 0), (0, grow - self._counts.size)))
            self._counts = np.pad(self._counts, (0, grow - self._counts.size))
        np.add.at(self._sums.T, columns, rows_power)
        np.add.at(self._counts, columns, 1)
        self._frame_index += rows_power.shape[0]

    def flush(self) -> np.ndarray:
        """Mean power per (row, column) in dB re full scale, shape (rows, columns); the tail is zero-padded."""
        if self._pending.size:
            padded = np.zeros(N_FFT, np.float32)
            padded[: self._pending.size] = self._pending
            power = np.abs(np.fft.rfft(padded * self._window)) ** 2
            self._add(self._bands(power[None, :]))
            self._pending = np.zeros(0, np.float32)
        used = int(np.count_nonzero(self._counts))
        mean = self._sums[:, :used] / np.maximum(self._counts[:used], 1)
        return (10 * np.log10(mean / self._reference + 1e-12)).astype(np.float32)


def _thinned_hop_ms(duration_s: float) -> int:
    """A loudness series hop (a multiple of 10 ms) giving at most :data:`MAX_CURVE_POINTS` points."""
    return max(10, 10 * math.ceil(duration_s * 1000 / MAX_CURVE_POINTS / 10))


class TrackMeasurer:
    """Streaming report measurements: ``process(block)`` for each block of the source, then ``flush()``.

    Parameters
    ----------
    sample_rate : int
    num_channels : int
    num_frames : int
        Length of the source (the spectrogram's column width).
    with_peaks : bool
        Also compute min/max peaks (:data:`PEAKS_SAMPLES_PER_PIXEL` frames per pixel).
    channel_layout : str or sequence of str, optional
        For the loudness meter's channel weights (:func:`audiokit.loudness.channel_weights`).

    Examples
    --------
    >>> import numpy as np
    >>> measurer = TrackMeasurer(8000, 1, 16000, with_peaks=True)
    >>> for second in range(2):
    ...     measurer.process(np.full((1, 8000), 0.25, np.float32))
    >>> measured = measurer.flush()
    >>> measured.duration_s, measured.spectrogram_db.shape, measured.peaks.length
    (2.0, (160, 15), 32)
    """

    def __init__(self, sample_rate: int, num_channels: int, num_frames: int, *, with_peaks: bool,
                 channel_layout: ChannelLayout | None = None) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self._meter = LoudnessMeter(sample_rate, num_channels, channel_layout=channel_layout)
        self._spectrogram = SpectrogramBuilder(sample_rate, num_frames)
        self._peaks = (PeaksBuilder(sample_rate, num_channels, samples_per_pixel=(PEAKS_SAMPLES_PER_PIXEL,))
                       if with_peaks else None)

    def process(self, block: np.ndarray) -> None:
        """Add a ``(channels, frames)`` block."""
        self._meter.process(block)
        self._spectrogram.process(block)
        if self._peaks is not None:
            self._peaks.process(block)

    def flush(self) -> TrackMeasurements:
        """The curves and pictures of everything processed."""
        duration_s = self._meter.num_frames / self.sample_rate
        hop_ms = _thinned_hop_ms(duration_s)
        with warnings.catch_warnings():  # a too-short track has empty curves; the report says so
            warnings.simplefilter("ignore", LoudnessWarning)
            momentary, short_term = self._meter.momentary(hop_ms=hop_ms), self._meter.short_term(hop_ms=hop_ms)
        return TrackMeasurements(momentary=momentary, short_term=short_term,
                                 spectrogram_db=self._spectrogram.flush(), spectrogram_hz=self._spectrogram.row_hz,
                                 peaks=self._peaks.flush()[0] if self._peaks is not None else None,
                                 duration_s=duration_s)


def measure_track(source: AudioSource, *, with_peaks: bool,
                  channel_layout: ChannelLayout | None = None) -> TrackMeasurements:
    """Loudness curves, spectrogram and (if asked) waveform peaks of a file or Audio, in one streaming pass.

    Parameters
    ----------
    source : str, os.PathLike or Audio
    with_peaks : bool
        Also compute min/max peaks (:data:`PEAKS_SAMPLES_PER_PIXEL` frames per pixel).
    channel_layout : str or sequence of str, optional
        For the loudness meter's channel weights (:func:`audiokit.loudness.channel_weights`).

    Returns
    -------
    TrackMeasurements

    Examples
    --------
    >>> from audiokit.report.measure import measure_track
    >>> measured = measure_track("examples/example.flac", with_peaks=True)
    >>> round(measured.duration_s, 2), measured.spectrogram_db.shape, measured.peaks.samples_per_pixel
    (20.2, (160, 869), 512)
    """
    from ..io.source import open_source

    with open_source(source) as reader:
        measurer = TrackMeasurer(reader.sample_rate, reader.num_channels, reader.num_frames, with_peaks=with_peaks,
                                 channel_layout=channel_layout)
        for block in reader.blocks(BLOCK_FRAMES):
            measurer.process(block)
    return measurer.flush()
