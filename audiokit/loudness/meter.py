"""BS.1770-5 / EBU R128 loudness meter: integrated, momentary, short-term, LRA.

One streaming core does everything. Each block is K-weighted (BS.1770-5
Annex 1), the channel-weighted squares are summed into 10 ms hops (hop ``k``
covers frames ``[k*fs//100, (k+1)*fs//100)``), and every measure is built from
those hop sums:

- momentary loudness: 400 ms windows (40 hops), at every 10 ms hop;
- short-term loudness: 3 s windows (300 hops), at every 10 ms hop;
- integrated loudness: the 400 ms windows that end on a 100 ms boundary are
  the gating blocks (75 % overlap), gated at -70 LUFS and -10 LU (BS.1770-5
  Annex 1 clause 5); an incomplete last block is dropped;
- loudness range: the 3 s windows that end on a 100 ms boundary (10 Hz),
  gated at -70 LUFS and -20 LU, 95th minus 10th percentile (EBU Tech 3342 §4).

The maxima of momentary and short-term loudness are taken over the 10 ms
series: a 10 Hz meter can miss 50 ms of a 400 ms burst (-0.58 LU) and fails
Tech 3341 cases 13 and 14. Feeding the meter any block sizes gives the same
hop sums, bit for bit, so ``LoudnessMeter`` and :func:`measure` agree exactly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import numpy as np

from .._arrays import BLOCK_FRAMES, as_samples, check_finite, check_sample_rate
from ..channels import ChannelLayout, bs1770_weights
from ..errors import ParameterError
from ._kernels import _accumulate_hops, _kweight_energy, _window_sums
from .kweighting import kweighting_sos
from .truepeak import TruePeakMeter

if TYPE_CHECKING:
    from ..audio import Audio

__all__ = [
    "LoudnessWarning",
    "LoudnessReport",
    "LoudnessSeries",
    "LoudnessMeter",
    "AlbumReport",
    "album_of",
    "channel_weights",
    "measure",
    "measure_album",
    "momentary",
    "short_term",
]

#: BS.1770-5 eq. (2) offset, so that a 997 Hz 0 dBFS sine in one front channel reads -3.01.
LOUDNESS_OFFSET = -0.691
#: Hops per second: every series has a 10 ms resolution.
HOPS_PER_SECOND = 100
#: Momentary window, 400 ms (BS.1770-5 gating block, Tech 3341 §2.2).
MOMENTARY_HOPS = 40
#: Short-term window, 3 s (Tech 3341 §2.2).
SHORT_TERM_HOPS = 300
#: Gating blocks and LRA windows advance by 100 ms.
BLOCK_STEP_HOPS = 10
#: Windows a report measures at a time (128 KB per array of energies or frame positions): its
#: temporaries do not grow with the programme (a 3-hour programme has 1.08 million 10 ms windows)
_WINDOWS_PER_CHUNK = 1 << 14
#: Absolute gate (BS.1770-5, Tech 3342).
ABSOLUTE_GATE_LUFS = -70.0
#: Relative gate of the integrated loudness (BS.1770-5).
RELATIVE_GATE_LU = -10.0
#: Relative gate of the loudness range (Tech 3342).
LRA_RELATIVE_GATE_LU = -20.0
#: Percentiles of the loudness range (Tech 3342).
LRA_LOW_PERCENTILE = 0.10
LRA_HIGH_PERCENTILE = 0.95



class LoudnessWarning(UserWarning):
    """A measurement is undefined (silence, or input too short) and reads -inf."""


@overload
def _lufs(mean_energy: float) -> float: ...
@overload
def _lufs(mean_energy: np.ndarray) -> np.ndarray: ...
def _lufs(mean_energy: float | np.ndarray) -> float | np.ndarray:
    with np.errstate(divide="ignore"):
        return LOUDNESS_OFFSET + 10.0 * np.log10(mean_energy)


def _json_number(value: float) -> float | None:
    return None if math.isinf(value) else float(value)


@dataclass(frozen=True)
class LoudnessReport:
    """What a loudness meter reads on a whole programme (also the JSON keys).

    ``-inf`` marks a value that is undefined on this input (silence, or too
    short: under 400 ms for integrated/momentary, under 3 s for short-term and
    loudness range); :meth:`to_dict` writes it as ``None`` (JSON ``null``).
    """

    #: gated programme loudness, LUFS (BS.1770-5)
    integrated_lufs: float
    #: loudness range, LU (EBU Tech 3342)
    loudness_range_lu: float
    #: largest true peak over all channels, dBTP (BS.1770-5 Annex 2; never below the sample peak)
    true_peak_dbtp: float
    #: largest absolute sample over all channels, dBFS
    sample_peak_dbfs: float
    #: largest 400 ms loudness at 10 ms resolution, LUFS
    momentary_max_lufs: float
    #: largest 3 s loudness at 10 ms resolution, LUFS
    short_term_max_lufs: float

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict, ``-inf`` as ``None``."""
        return {name: _json_number(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True, eq=False)
class LoudnessSeries:
    """A loudness time series (momentary or short-term)."""

    #: end time of each window, seconds from the start, shape (n,)
    times_s: np.ndarray
    #: loudness of each window, LUFS (-inf for digital silence), shape (n,)
    lufs: np.ndarray

    def to_dict(self) -> dict:
        """Lists for JSON, ``-inf`` as ``None``."""
        return {
            "times_s": [float(t) for t in self.times_s],
            "lufs": [_json_number(float(v)) for v in self.lufs],
        }


@dataclass(frozen=True)
class AlbumReport:
    """Loudness of a set of tracks measured as one programme (album gain)."""

    #: gated loudness over the gating blocks of all tracks together, LUFS
    integrated_lufs: float
    #: largest true peak of any track, dBTP
    true_peak_dbtp: float
    #: largest sample peak of any track, dBFS
    sample_peak_dbfs: float
    #: each track's own report, in input order
    tracks: tuple[LoudnessReport, ...]

    def to_dict(self) -> dict:
        """JSON-ready dict; ``tracks`` is a list of report dicts."""
        return {
            "integrated_lufs": _json_number(self.integrated_lufs),
            "true_peak_dbtp": _json_number(self.true_peak_dbtp),
            "sample_peak_dbfs": _json_number(self.sample_peak_dbfs),
            "tracks": [track.to_dict() for track in self.tracks],
        }


def channel_weights(num_channels: int, channel_layout: ChannelLayout | None = None) -> np.ndarray:
    """BS.1770-5 channel weights for a layout (see :func:`audiokit.channels.bs1770_weights`).

    Parameters
    ----------
    num_channels : int
    channel_layout : str or sequence of str, optional
        An ffmpeg layout name ("stereo", "5.1", "5.1(side)", "7.1", ...) as
        :func:`audiokit.probe` reports it, or the channel names in order in
        ffmpeg's or BS.1770's spelling ("FL", "FR", "FC", "LFE", "SL", ... or
        "L", "R", "C", "LFE", "Ls", "Rs"). Default: the layout for the channel
        count in :data:`audiokit.channels.DEFAULT_LAYOUTS`.

    Returns
    -------
    np.ndarray [shape=(num_channels,), dtype=float64]
        1.0 for front channels, 1.41 for side and back surrounds, 0 for LFE.
    """
    return bs1770_weights(num_channels, channel_layout)


def _gated_loudness(block_energy: np.ndarray, relative_gate_lu: float) -> tuple[float, np.ndarray]:
    """Two-stage gating (BS.1770-5 Annex 1 clause 5); returns (LUFS, kept mask)."""
    loudness = _lufs(block_energy)
    kept = loudness > ABSOLUTE_GATE_LUFS
    if not kept.any():
        return -math.inf, kept
    threshold = float(_lufs(block_energy[kept].mean())) + relative_gate_lu
    kept &= loudness > threshold
    return float(_lufs(block_energy[kept].mean())), kept


def _loudness_range(window_energy: np.ndarray) -> float:
    """EBU Tech 3342 §4 on the 10 Hz short-term energies."""
    loudness = _lufs(window_energy)
    absolute = loudness > ABSOLUTE_GATE_LUFS
    if not absolute.any():
        return -math.inf
    threshold = float(_lufs(window_energy[absolute].mean())) + LRA_RELATIVE_GATE_LU
    values = np.sort(loudness[absolute & (loudness > threshold)])
    last = len(values) - 1
    # Tech 3342 reference implementation: nearest rank, rounding half up.
    low = values[int(math.floor(last * LRA_LOW_PERCENTILE + 0.5))]
    high = values[int(math.floor(last * LRA_HIGH_PERCENTILE + 0.5))]
    return float(high - low)


class LoudnessMeter:
    """Streaming BS.1770-5 / EBU R128 meter.

    Parameters
    ----------
    sample_rate : int
        Hz, at least 8000.
    num_channels : int
    channel_layout : str or sequence of str, optional
        See :func:`channel_weights`.
    series : bool
        Keep an energy per 10 ms (default), which the momentary and short-term
        series need at 10 ms steps; memory grows 2.9 MB per hour. False keeps
        one per 100 ms, a tenth of that: integrated loudness and loudness range
        are the same (their blocks and windows step by 100 ms: BS.1770-5
        Annex 1, EBU Tech 3342), the momentary and short-term maxima are taken
        at 100 ms steps (EBU Tech 3341 asks for at least 10 Hz), series need a
        multiple of 100 ms and the live values are those of the last 100 ms
        boundary.

    Examples
    --------
    >>> import numpy as np
    >>> meter = LoudnessMeter(48000, 2)
    >>> t = np.arange(48000 * 5) / 48000
    >>> tone = np.tile(0.1 * np.sin(2 * np.pi * 1000 * t), (2, 1)).astype(np.float32)
    >>> for start in range(0, tone.shape[1], 1024):
    ...     meter.process(tone[:, start:start + 1024])
    >>> round(meter.report().integrated_lufs, 1)
    -20.0
    """

    def __init__(self, sample_rate: int, num_channels: int, *, channel_layout: ChannelLayout | None = None,
                 series: bool = True) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(num_channels, bool) or not isinstance(num_channels, (int, np.integer)) or num_channels < 1:
            raise ParameterError(f"num_channels is {num_channels!r}; expected a positive integer")
        self.num_channels = int(num_channels)
        self._sos = np.ascontiguousarray(kweighting_sos(self.sample_rate))
        self._weights = channel_weights(self.num_channels, channel_layout)
        self._state = np.zeros((self.num_channels, 2, 2))
        #: 10 ms hops summed into each kept energy: 1, or BLOCK_STEP_HOPS (100 ms) without series
        self._stride = 1 if series else BLOCK_STEP_HOPS
        self._hops = np.empty(1024)  # the kept energies, one per stride
        self._num_hops = 0
        self._pending = np.empty(0)  # completed 10 ms hops not yet a whole stride
        self._partial = 0.0
        self._position = 0
        self._peaks = TruePeakMeter(self.sample_rate, self.num_channels)

    @property
    def num_frames(self) -> int:
        """Frames processed so far."""
        return self._position

    def process(self, block: np.ndarray) -> None:
        """Add the next block of the programme.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames) or (frames,)]
            Finite float or integer PCM; any number of frames.
        """
        block = as_samples(block, name="block")
        if block.shape[0] != self.num_channels:
            raise ParameterError(
                f"block has {block.shape[0]} channels; this meter was made for {self.num_channels}"
            )
        if not np.isfinite(block).all():
            channel, frame = np.argwhere(~np.isfinite(block))[0]
            raise ParameterError(
                f"block[{channel}, {frame}] (frame {self._position + frame} of the stream) is "
                f"{block[channel, frame]}; every sample must be finite. Replace NaN/Inf "
                "(e.g. np.nan_to_num) before measuring"
            )
        self._process_validated(block, with_peaks=True)

    def _process_validated(self, block: np.ndarray, *, with_peaks: bool) -> None:
        frames = block.shape[1]
        if frames == 0:
            return
        energy = np.empty(frames)
        _kweight_energy(block, self._sos, self._state, self._weights, energy)
        pending = self._pending.shape[0]
        hops = np.empty(pending + frames * HOPS_PER_SECOND // self.sample_rate + 2)
        hops[:pending] = self._pending
        hops_done = self._num_hops * self._stride + pending  # 10 ms hops completed so far, kept or pending
        completed, _, self._partial = _accumulate_hops(
            energy, self.sample_rate, self._position, hops_done, self._partial, hops[pending:]
        )
        whole = (pending + completed) // self._stride * self._stride
        kept = hops[:whole] if self._stride == 1 else hops[:whole].reshape(-1, self._stride).sum(axis=1)
        self._pending = hops[whole:pending + completed].copy()
        needed = self._num_hops + kept.shape[0]
        if needed > self._hops.shape[0]:
            grown = np.empty(max(needed, 2 * self._hops.shape[0]))
            grown[: self._num_hops] = self._hops[: self._num_hops]
            self._hops = grown
        self._hops[self._num_hops:needed] = kept
        self._num_hops = needed
        self._position += frames
        if with_peaks:
            self._peaks._process_validated(block)

    def flush(self) -> LoudnessReport:
        """End of programme: the meter holds no delayed output; returns :meth:`report`."""
        return self.report()

    def _bounds(self, first: int, stop: int) -> np.ndarray:
        """Frame positions of the kept energies' edges ``first`` to ``stop - 1`` (edge i ends kept energy i - 1)."""
        edges = np.arange(first, stop, dtype=np.int64)
        return (edges * self._stride * self.sample_rate) // HOPS_PER_SECOND

    def _windows(self, width_hops: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(mean energy, end frame) of every complete window of ``width_hops`` 10 ms hops, in order, in chunks.

        One value per kept energy, :data:`_WINDOWS_PER_CHUNK` or so at a time, so
        a report on a long programme allocates no array its length. Each chunk
        starts at a multiple of the window width, where :func:`_window_sums`
        sums afresh: the values do not depend on the chunking.
        """
        width = width_hops // self._stride
        count = self._num_hops - width + 1
        chunk = width * -(-_WINDOWS_PER_CHUNK // width)
        for start in range(0, max(count, 0), chunk):
            size = min(chunk, count - start)
            sums = np.empty(size)
            _window_sums(self._hops[start:start + size + width - 1], width, sums)
            bounds = self._bounds(start, start + size + width)
            yield sums / (bounds[width:] - bounds[:size]), bounds[width:]

    def _window_energy(self, width_hops: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean energy, end frame) of every complete window of ``width_hops`` 10 ms hops, one per kept energy."""
        chunks = list(self._windows(width_hops))
        if not chunks:
            return np.empty(0), np.empty(0, np.int64)
        return np.concatenate([energy for energy, _ in chunks]), np.concatenate([ends for _, ends in chunks])

    def _block_energies(self, width_hops: int) -> tuple[np.ndarray, float]:
        """(mean energies at 100 ms steps, the largest at any kept step) of the complete ``width_hops`` windows.

        What a report needs, chunk by chunk: the gating blocks (BS.1770-5 Annex 1) or
        the loudness-range windows (EBU Tech 3342) step by 100 ms; the maxima are
        taken at every kept step. The largest is 0 when no window is complete.
        """
        step = BLOCK_STEP_HOPS // self._stride
        blocks, largest, seen = [], 0.0, 0
        for energy, _ in self._windows(width_hops):
            blocks.append(energy[-seen % step::step].copy())  # a copy: a view would keep the whole chunk
            largest = max(largest, float(energy.max()))
            seen += energy.shape[0]
        return (np.concatenate(blocks) if blocks else np.empty(0)), largest

    def _gating_blocks(self) -> np.ndarray:
        """Mean energies of the 400 ms gating blocks at 100 ms steps."""
        return self._block_energies(MOMENTARY_HOPS)[0]

    def _live(self, width_hops: int) -> float:
        width = width_hops // self._stride
        if self._num_hops < width:
            return -math.inf
        first, last = self._bounds(self._num_hops - width, self._num_hops + 1)[[0, -1]]
        total = float(np.sum(self._hops[self._num_hops - width: self._num_hops]))
        return float(_lufs(total / (last - first)))

    @property
    def momentary_lufs(self) -> float:
        """Loudness of the last complete 400 ms (at the last 10 ms boundary); -inf before 400 ms."""
        return self._live(MOMENTARY_HOPS)

    @property
    def short_term_lufs(self) -> float:
        """Loudness of the last complete 3 s (at the last 10 ms boundary); -inf before 3 s."""
        return self._live(SHORT_TERM_HOPS)

    def _series(self, width_hops: int, hop_ms: int) -> LoudnessSeries:
        resolution_ms = 10 * self._stride
        if isinstance(hop_ms, bool) or not isinstance(hop_ms, (int, np.integer)) or hop_ms < resolution_ms \
                or hop_ms % resolution_ms:
            raise ParameterError(f"hop_ms is {hop_ms!r}; expected a positive multiple of {resolution_ms} ms"
                                 + ("" if self._stride == 1 else " (this meter was made with series=False)"))
        energy, ends = self._window_energy(width_hops)
        step = int(hop_ms) // resolution_ms
        return LoudnessSeries(times_s=ends[::step] / self.sample_rate, lufs=_lufs(energy[::step]))

    def momentary(self, *, hop_ms: int = 10) -> LoudnessSeries:
        """The momentary (400 ms) loudness series so far, one value every ``hop_ms``."""
        return self._series(MOMENTARY_HOPS, hop_ms)

    def short_term(self, *, hop_ms: int = 10) -> LoudnessSeries:
        """The short-term (3 s) loudness series so far, one value every ``hop_ms``."""
        return self._series(SHORT_TERM_HOPS, hop_ms)

    def report(self, *, warn: bool = True) -> LoudnessReport:
        """Measurements of everything processed so far.

        Parameters
        ----------
        warn : bool
            Emit a :class:`LoudnessWarning` naming the fields that read -inf.
        """
        gating_blocks, momentary_max = self._block_energies(MOMENTARY_HOPS)
        short_term_windows, short_term_max = self._block_energies(SHORT_TERM_HOPS)
        integrated, _ = _gated_loudness(gating_blocks, RELATIVE_GATE_LU)
        report = LoudnessReport(
            integrated_lufs=integrated,
            loudness_range_lu=_loudness_range(short_term_windows),
            true_peak_dbtp=float(np.max(self._peaks.true_peak_dbtp)),
            sample_peak_dbfs=float(np.max(self._peaks.sample_peak_dbfs)),
            momentary_max_lufs=float(_lufs(momentary_max)) if gating_blocks.size else -math.inf,
            short_term_max_lufs=float(_lufs(short_term_max)) if short_term_windows.size else -math.inf,
        )
        if warn:
            undefined = [name for name, value in report.to_dict().items() if value is None]
            if undefined:
                warnings.warn(
                    f"{', '.join(undefined)} undefined on {self._position / self.sample_rate:.3f} s "
                    "of input (silent, below the -70 LUFS gate, or shorter than the 400 ms / 3 s "
                    "windows); reported as -inf",
                    LoudnessWarning,
                    stacklevel=2,
                )
        return report


def _checked(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    samples = as_samples(samples)
    check_finite(samples)
    return samples, check_sample_rate(sample_rate)


def _run(meter: LoudnessMeter, samples: np.ndarray, *, with_peaks: bool) -> LoudnessMeter:
    for start in range(0, samples.shape[1], BLOCK_FRAMES):
        meter._process_validated(samples[:, start:start + BLOCK_FRAMES], with_peaks=with_peaks)
    return meter


def checked_tracks(tracks: Sequence[object]) -> list[tuple[np.ndarray, int]]:
    """Validate an album: each track an :class:`~audiokit.Audio` or ``(samples, sample_rate)``.

    Returns
    -------
    list of (np.ndarray [shape=(channels, frames), dtype=float32], int)
    """
    if len(tracks) == 0:
        raise ParameterError("tracks is empty; expected at least one track")
    checked = []
    for index, track in enumerate(tracks):
        if hasattr(track, "samples") and hasattr(track, "sample_rate"):
            samples, sample_rate = track.samples, track.sample_rate
        elif isinstance(track, (tuple, list)) and len(track) == 2:
            samples, sample_rate = track
        else:
            raise ParameterError(
                f"tracks[{index}] is a {type(track).__name__}; expected Audio or (samples, sample_rate)"
            )
        checked.append(_checked(samples, sample_rate))
    return checked


def measure(samples: np.ndarray, sample_rate: int, *, channel_layout: ChannelLayout | None = None) -> LoudnessReport:
    """Measure a whole programme: integrated, LRA, true peak, sample peak, maxima.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
        Finite float or integer PCM (integers are scaled to [-1, 1)).
    sample_rate : int
        Hz, at least 8000.
    channel_layout : str or sequence of str, optional
        See :func:`channel_weights`.

    Returns
    -------
    LoudnessReport
        Undefined values are ``-inf``, with a :class:`LoudnessWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000 * 20) / 48000
    >>> tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> round(measure(np.stack([tone, tone]), 48000).integrated_lufs, 1)
    -23.0
    """
    samples, sample_rate = _checked(samples, sample_rate)
    meter = LoudnessMeter(sample_rate, samples.shape[0], channel_layout=channel_layout)
    report = _run(meter, samples, with_peaks=True).report(warn=False)
    _warn_undefined(report, samples.shape[1] / sample_rate)
    return report


def _warn_undefined(report: LoudnessReport, duration_s: float) -> None:
    undefined = [name for name, value in report.to_dict().items() if value is None]
    if undefined:
        warnings.warn(
            f"{', '.join(undefined)} undefined on {duration_s:.3f} s of input (silent, below the "
            "-70 LUFS gate, or shorter than the 400 ms / 3 s windows); reported as -inf",
            LoudnessWarning,
            stacklevel=3,
        )


def momentary(samples: np.ndarray, sample_rate: int, *, hop_ms: int = 10,
              channel_layout: ChannelLayout | None = None) -> LoudnessSeries:
    """Momentary (400 ms) loudness every ``hop_ms`` (a multiple of 10 ms).

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
    hop_ms : int
        Series resolution; windows end on multiples of it.
    channel_layout : str or sequence of str, optional

    Returns
    -------
    LoudnessSeries
        Empty for input shorter than 400 ms.
    """
    samples, sample_rate = _checked(samples, sample_rate)
    meter = LoudnessMeter(sample_rate, samples.shape[0], channel_layout=channel_layout)
    return _run(meter, samples, with_peaks=False).momentary(hop_ms=hop_ms)


def short_term(samples: np.ndarray, sample_rate: int, *, hop_ms: int = 10,
               channel_layout: ChannelLayout | None = None) -> LoudnessSeries:
    """Short-term (3 s) loudness every ``hop_ms`` (a multiple of 10 ms).

    Parameters and returns as :func:`momentary`; empty for input under 3 s.
    """
    samples, sample_rate = _checked(samples, sample_rate)
    meter = LoudnessMeter(sample_rate, samples.shape[0], channel_layout=channel_layout)
    return _run(meter, samples, with_peaks=False).short_term(hop_ms=hop_ms)


def measure_album(tracks: Sequence[Audio | tuple[np.ndarray, int]], *,
                  channel_layout: ChannelLayout | None = None) -> AlbumReport:
    """Measure tracks one by one and as one programme (joint gating).

    Parameters
    ----------
    tracks : sequence of Audio or (samples, sample_rate) pairs
        Rates and channel counts may differ between tracks.
    channel_layout : str or sequence of str, optional
        Applied to every track.

    Returns
    -------
    AlbumReport
        ``integrated_lufs`` gates the 400 ms blocks of all tracks together
        (each track's blocks are still its own: no block spans two tracks).
    """
    meters = [_run(LoudnessMeter(sample_rate, samples.shape[0], channel_layout=channel_layout), samples,
                   with_peaks=True) for samples, sample_rate in checked_tracks(tracks)]
    return album_of(meters)


def album_of(meters: Sequence[LoudnessMeter]) -> AlbumReport:
    """The album report of tracks already measured, one :class:`LoudnessMeter` each (joint gating).

    Streaming front ends (:func:`audiokit.loudness.measure_files`) feed one
    meter per file and call this at the end; :func:`measure_album` is built on it.
    """
    reports = [meter.report(warn=False) for meter in meters]
    integrated, _ = _gated_loudness(np.concatenate([meter._gating_blocks() for meter in meters]), RELATIVE_GATE_LU)
    album = AlbumReport(
        integrated_lufs=integrated,
        true_peak_dbtp=max(report.true_peak_dbtp for report in reports),
        sample_peak_dbfs=max(report.sample_peak_dbfs for report in reports),
        tracks=tuple(reports),
    )
    if math.isinf(integrated):
        warnings.warn("album integrated loudness undefined (all tracks silent or too short)",
                      LoudnessWarning, stacklevel=2)
    return album
