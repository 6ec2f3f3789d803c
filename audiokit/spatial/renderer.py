"""Block-based binaural rendering of static and moving sources.

Signal path of source ``s`` (block size ``B``; FFT size ``M``, at least ``2 B``
plus the longest interaural delay; ``d_e`` the ear's delay in samples, the
HRTF's interpolated delay plus the propagation delay):

1. ring buffer -> cubic-Lagrange delay by the source's *common* delay ``c``
   (about a sample less than the smaller ``d_e``), gliding linearly over the
   block while the source moves, times the distance gain (also gliding); the
   last ``M`` of these samples are the source's overlap-save frame;
2. one rFFT of the frame per source into a frequency-domain delay line;
3. multiply-accumulate with the source's filter spectra of both ears, summed over
   all sources (uniformly partitioned overlap-save, Wefers 2015 §5.3), so a block
   costs one forward FFT per source and two inverse FFTs in all (four while any
   source moves). Each ear's filter is the interpolated onset-aligned HRIR
   delayed by the ear's residual delay ``d_e - c`` (mostly the interaural time
   difference): the cubic-Lagrange delay's frequency response multiplied into
   the partition spectra. ``M`` leaves room for the longest residual, so this is
   exact overlap-save, not a circular shift;
4. when a source's direction changes, the block is rendered with the old and the
   new filter and crossfaded with a raised cosine ``w``: with ``U``, ``O``, ``N``
   the spectra accumulated over unchanged sources, over changed sources' old and
   their new filters, ``y = irfft(U + O) + w * irfft(N - O)``. The common delay
   (with Doppler) glides sample by sample; the residual interaural delay moves
   with the crossfade.

A source that has not moved since it was added has a whole-sample common delay
(``floor(min_e d_e) - 1``), so its output is exactly the direct convolution of
its input with ``shift(aligned, delays)`` (see :meth:`audiokit.spatial.HRTF.split`),
up to float32 rounding. A moving source's common delay follows ``min_e d_e - 1``
continuously, so the crossfades carry only the change of the interaural part.
The pre-onset noise floor of measured IRs (``HRTF.prefix``) is not rendered.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np

from .._arrays import check_sample_rate
from ..errors import ParameterError
from .hrtf import HRTF
from .interpolation import METHODS
from .spherical_head import SPEED_OF_SOUND_M_S

#: Largest block a renderer processes at once, frames.
MAX_BLOCK_SIZE = 1 << 16


def check_renderer_setup(hrtf: HRTF, sample_rate: int, block_size: int) -> tuple[int, int]:
    """(sample_rate, block_size) of a renderer, validated; shared by the direct renderer and the Ambisonic bus."""
    if not isinstance(hrtf, HRTF):
        raise ParameterError(f"hrtf is a {type(hrtf).__name__}; expected audiokit.spatial.HRTF")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or not 1 <= block_size <= MAX_BLOCK_SIZE:
        raise ParameterError(f"block_size is {block_size!r}; expected an integer in 1..{MAX_BLOCK_SIZE}")
    return check_sample_rate(sample_rate), int(block_size)


def check_blocks(blocks: np.ndarray, num_sources: int, block_size: int) -> np.ndarray:
    """``blocks`` as every renderer takes them: finite float32 ``(num_sources, block_size)``, C-contiguous."""
    from ._kernels import all_finite

    blocks = np.asarray(blocks)
    if blocks.shape != (num_sources, block_size):
        raise ParameterError(
            f"blocks has shape {blocks.shape}; expected (num_sources, block_size) = {(num_sources, block_size)}"
        )
    if blocks.dtype != np.float32:
        raise ParameterError(f"blocks has dtype {blocks.dtype}; expected float32")
    blocks = np.ascontiguousarray(blocks)
    if not all_finite(blocks):
        raise ParameterError("blocks contains NaN or infinite samples; every sample must be finite")
    return blocks

__all__ = ["MAX_BLOCK_SIZE", "RendererOptions", "BinauralRenderer", "render_static", "render_bed"]

#: Virtual loudspeaker azimuths (degrees, SOFA convention) for channel beds,
#: ITU-R BS.775 / BS.2051 order; the LFE (None) is mixed into both ears at LFE_GAIN, unfiltered.
#: LFE gain into each ear (linear, -3 dB) when rendering channel beds.
LFE_GAIN = 10 ** (-3 / 20)
#: Blocks of room after the frame in each source's frame buffer (see BinauralRenderer.process).
_FRAME_SLACK_BLOCKS = 4


@dataclass(frozen=True)
class RendererOptions:
    """Options of :class:`BinauralRenderer` (all keyword-only at the call site)."""

    #: HRTF interpolation: "barycentric" (triangulated, ITD split) or "nearest"
    method: str = "barycentric"
    #: distance at which gain is 1 and no propagation delay is added, metres
    reference_distance_m: float = 1.0
    #: gain is clamped as if the source were no nearer than this, metres
    near_distance_m: float = 0.25
    #: farthest allowed distance, metres (sizes the delay lines)
    max_distance_m: float = 20.0
    #: add (distance - reference) / c of delay beyond the reference distance (Doppler when moving)
    propagation_delay: bool = True
    #: speed of sound for propagation delays, m/s
    speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ParameterError(f"method is {self.method!r}; expected one of {', '.join(METHODS)}")
        if not 0 < self.near_distance_m <= self.reference_distance_m <= self.max_distance_m:
            raise ParameterError(
                "expected 0 < near_distance_m <= reference_distance_m <= max_distance_m; got "
                f"{self.near_distance_m}, {self.reference_distance_m}, {self.max_distance_m}"
            )
        if not self.speed_of_sound_m_s > 0:
            raise ParameterError(f"speed_of_sound_m_s is {self.speed_of_sound_m_s}; expected > 0")

    def to_dict(self) -> dict:
        """The options as a JSON-able dict."""
        return asdict(self)


def _fft_size(minimum: int) -> int:
    """Smallest ``2^a 3^b 5^c >= minimum`` with ``a >= 1`` (sizes pocketfft transforms fastest)."""
    best = 2
    while best < minimum:
        best *= 2
    odd = 1
    while odd < best:
        factor = odd
        while factor < best:
            size = 2 * factor
            while size < minimum:
                size *= 2
            best = min(best, size)
            factor *= 5
        odd *= 3
    return best


class BinauralRenderer:
    """Render any number of point sources to two ears, block by block.

    Parameters
    ----------
    hrtf : HRTF
        Resampled to ``sample_rate`` if its rate differs.
    sample_rate : int
    block_size : int
        Frames per :meth:`process` call (and the partition size).
    options : RendererOptions, optional

    Examples
    --------
    >>> import numpy as np
    >>> renderer = BinauralRenderer(HRTF.spherical_head(48000), 48000, block_size=256)
    >>> source = renderer.add_source(azimuth_deg=30.0, elevation_deg=0.0)
    >>> renderer.process(np.zeros((1, 256), np.float32)).shape
    (2, 256)
    """

    #: per-source state arrays, one row per live source (rows beyond ``_count`` are spare capacity)
    _PER_SOURCE = ("_ring", "_frames", "_fdl_re", "_fdl_im", "_filt_re", "_filt_im", "_slot",
                   "_common_now", "_common_next", "_gain_now", "_gain_next", "_changed", "_dirty",
                   "_position", "_triangle", "_ear_delays", "_support")

    # Per-source state, one row per source, allocated by _reserve() (see its layout).
    _ring: np.ndarray
    _frames: np.ndarray
    _fdl_re: np.ndarray
    _fdl_im: np.ndarray
    _filt_re: np.ndarray
    _filt_im: np.ndarray
    _slot: np.ndarray
    _common_now: np.ndarray
    _common_next: np.ndarray
    _gain_now: np.ndarray
    _gain_next: np.ndarray
    _changed: np.ndarray
    _dirty: np.ndarray
    _position: np.ndarray
    _triangle: np.ndarray
    _ear_delays: np.ndarray
    _support: np.ndarray

    def __init__(self, hrtf: HRTF, sample_rate: int, *, block_size: int = 512,
                 options: RendererOptions | None = None) -> None:
        self.sample_rate, self.block_size = check_renderer_setup(hrtf, sample_rate, block_size)
        self.options = options or RendererOptions()
        self.hrtf = hrtf.resampled(self.sample_rate)
        if self.options.method == "barycentric":
            _ = self.hrtf.triangulation  # built once here (setup), not on the first block

        b = self.block_size
        delays = self.hrtf.delays_samples
        # The common delay carries only propagation, so residual delays d_e - c stay
        # below max d_e + 2 samples: the first Lagrange tap is at most max_first and
        # the last at max_first + 3.
        self._max_first = int(math.ceil(delays.max())) + 1
        # Overlap-save keeps the last B of M outputs; they are exact while a
        # partition filter (B taps, delayed by up to max_first + 3) is <= M - B + 1 long.
        self._fft_size = _fft_size(2 * b + self._max_first + 2)
        m = self._fft_size
        self._bins = m // 2 + 1
        # the pre-onset prefix is rendered where a set has one (measured IRs); an
        # all-zero prefix (the spherical head) costs nothing
        self._prefix_taps = self.hrtf.prefix.shape[2] if self.hrtf.prefix.any() else 0
        pre_parts = math.ceil(self._prefix_taps / b)
        self._parts = max(1, math.ceil(self.hrtf.aligned_taps / b), pre_parts)
        # partition spectra of the measured aligned IRs and prefixes, computed for a direction when first used
        shape = (self.hrtf.num_directions, 2, self._parts, self._bins)
        self._set_re = np.zeros(shape, np.float32)
        self._set_im = np.zeros(shape, np.float32)
        self._pre_re = np.zeros((self.hrtf.num_directions, 2, pre_parts, self._bins), np.float32)
        self._pre_im = np.zeros_like(self._pre_re)
        self._set_ready = np.zeros(self.hrtf.num_directions, np.bool_)
        # nonzero length of each measured aligned IR and prefix (sizes the tail exactly)
        self._aligned_len = _nonzero_length(self.hrtf.aligned)
        self._prefix_len = _nonzero_length(self.hrtf.prefix)
        angle = (-2 * np.pi / m) * (np.arange(self._max_first + 4)[:, np.newaxis]
                                    * np.arange(self._bins) % m)
        self._phasor_re = np.cos(angle).astype(np.float32)
        self._phasor_im = np.sin(angle).astype(np.float32)

        max_delay = (delays.max() + (self.options.max_distance_m - self.options.reference_distance_m)
                     / self.options.speed_of_sound_m_s * self.sample_rate)
        self._ring_size = 1 << int(math.ceil(math.log2(b + max_delay + 8)))
        self._crossfade = (0.5 - 0.5 * np.cos(np.pi * np.arange(1, b + 1) / b)).astype(np.float32)
        self._ids = itertools.count()
        self._row_ids: list[int] = []       # source id of each row
        self._rows: dict[int, int] = {}     # source id -> row
        self._count = 0
        self._yaw_deg = 0.0
        self._pitch_deg = 0.0
        self._write_pos = 0
        self._head = 0
        # frames live in a longer buffer; each block's frame starts B later, and
        # only every few blocks the history moves back to the front (no per-block shift)
        self._frames_length = m + _FRAME_SLACK_BLOCKS * b
        self._frame_start = 0
        self._reserve(4)
        # accumulated spectra (re, im of ear 0 and ear 1) of unchanged sources, changed ones' old, their new
        self._acc = np.zeros((12, self._bins), np.float32)

    # ----------------------------------------------------------------- state
    def _reserve(self, capacity: int) -> None:
        """Reallocate the per-source arrays with room for ``capacity`` sources, keeping live rows."""
        parts, bins = self._parts, self._bins
        layout = {
            "_ring": ((self._ring_size,), np.float32),          # input history (ring buffer)
            "_frames": ((self._frames_length,), np.float32),    # delayed input; the frame is M of it
            "_fdl_re": ((parts, bins), np.float32),             # frequency-domain delay line
            "_fdl_im": ((parts, bins), np.float32),
            "_filt_re": ((2, 2, parts, bins), np.float32),      # filter spectra: [buffer, ear, k, f]
            "_filt_im": ((2, 2, parts, bins), np.float32),
            "_slot": ((), np.int64),                            # current filter buffer (other: next)
            "_common_now": ((), np.float64),                    # common delay, samples
            "_common_next": ((), np.float64),
            "_gain_now": ((), np.float64),
            "_gain_next": ((), np.float64),
            "_changed": ((), np.bool_),                         # filter crossfades this block
            "_dirty": ((), np.bool_),                           # moved since the last block
            "_position": ((4,), np.float64),                    # azimuth, elevation, distance, gain
            "_triangle": ((), np.int64),                        # containing triangle (walk start)
            "_ear_delays": ((2,), np.float64),                  # d_e, samples
            "_support": ((), np.int64),                         # length of the newest filter, samples
        }
        for name, (shape, dtype) in layout.items():
            array = np.zeros((capacity, *shape), dtype)
            old = getattr(self, name, None)
            if old is not None:
                array[:self._count] = old[:self._count]
            setattr(self, name, array)

    def _prepare_spectra(self, indices: np.ndarray) -> None:
        """Compute the partition spectra of the measurements in ``indices`` not computed yet."""
        from scipy import fft

        missing = np.unique(indices[~self._set_ready[indices]])
        if not len(missing):
            return
        b, parts = self.block_size, self._parts
        flat = np.zeros((len(missing), 2, parts * b))
        flat[..., :self.hrtf.aligned_taps] = self.hrtf.aligned[missing]
        padded = np.zeros((len(missing), 2, parts, self._fft_size))
        padded[..., :b] = flat.reshape(len(missing), 2, parts, b)
        spectra = fft.rfft(padded, axis=-1)
        self._set_re[missing] = spectra.real
        self._set_im[missing] = spectra.imag
        pre_parts = self._pre_re.shape[2]
        if pre_parts:
            flat = np.zeros((len(missing), 2, pre_parts * b))
            flat[..., :self._prefix_taps] = self.hrtf.prefix[missing]
            padded = np.zeros((len(missing), 2, pre_parts, self._fft_size))
            padded[..., :b] = flat.reshape(len(missing), 2, pre_parts, b)
            spectra = fft.rfft(padded, axis=-1)
            self._pre_re[missing] = spectra.real
            self._pre_im[missing] = spectra.imag
        self._set_ready[missing] = True

    def _retarget(self, rows: np.ndarray, *, immediate: bool) -> None:
        """Set filters, delays and gains of ``rows`` for their sources' current positions.

        ``immediate`` (a new source) installs them at once with a whole-sample
        common delay; otherwise the next block crossfades the filters and glides
        the common delay and gain to them.
        """
        from ._kernels import filter_spectra, head_directions, nearest_points, plan_delays

        options = self.options
        p = np.empty((len(rows), 3))
        head_directions(self._position, rows, math.radians(self._yaw_deg), math.radians(self._pitch_deg), p)
        if options.method == "barycentric":
            start = self._triangle[rows]
            indices, weights, outside = self.hrtf.triangulation.locate(p, start=start)
            if outside >= 0:
                azimuth, elevation = self._position[rows[outside], :2]
                raise ParameterError(
                    f"direction ({azimuth}, {elevation}) is outside every triangle of the HRTF's "
                    "measurement set; use RendererOptions(method='nearest')"
                )
            self._triangle[rows] = start
        else:
            nearest = np.empty(len(rows), np.int64)
            nearest_points(self.hrtf._points, p, nearest)
            indices = np.repeat(nearest[:, np.newaxis], 3, axis=1)
            weights = np.zeros((len(rows), 3))
            weights[:, 0] = 1.0
        self._prepare_spectra(indices)
        samples_per_m = self.sample_rate / options.speed_of_sound_m_s if options.propagation_delay else 0.0
        first = np.empty((len(rows), 2), np.int64)
        taps = np.empty((len(rows), 2, 4))
        pre_first = np.empty(len(rows), np.int64)
        pre_taps = np.empty((len(rows), 4))
        plan_delays(self._position, rows, indices, weights, self.hrtf.delays_samples,
                    options.reference_distance_m, options.near_distance_m, samples_per_m, immediate,
                    self._max_first, self._ear_delays, self._common_next, first, taps, pre_first,
                    pre_taps, self._gain_next)
        buffers = self._slot[rows] if immediate else 1 - self._slot[rows]
        filter_spectra(self._set_re, self._set_im, self._pre_re, self._pre_im, indices, weights, first,
                       taps, pre_first, pre_taps, self._phasor_re, self._phasor_im, rows, buffers,
                       self._filt_re, self._filt_im)
        self._support[rows] = self._filter_length(indices, weights, first, taps, pre_first, pre_taps,
                                                  self._common_next[rows])
        if immediate:
            self._common_now[rows] = self._common_next[rows]
            self._gain_now[rows] = self._gain_next[rows]
        else:
            self._changed[rows] = True

    def _filter_length(self, indices: np.ndarray, weights: np.ndarray, first: np.ndarray, taps: np.ndarray,
                       pre_first: np.ndarray, pre_taps: np.ndarray, common: np.ndarray) -> np.ndarray:
        """Samples from the first to the last nonzero tap of each source's whole filter.

        The whole filter is the common delay, interpolated IR, residual delays and
        prefix: a full convolution is ``frames + length - 1`` long.
        """
        used = (weights > 0)[..., np.newaxis]
        aligned = np.where(used, self._aligned_len[indices], 0).max(axis=1)          # (C, 2)
        prefix = np.where(used, self._prefix_len[indices], 0).max(axis=1).max(axis=1)  # (C,)
        last = 3 - np.argmax(taps[..., ::-1] != 0, axis=-1)                            # (C, 2)
        pre_last = 3 - np.argmax(pre_taps[..., ::-1] != 0, axis=-1)
        ears = np.where(aligned > 0, aligned + first + last, 0).max(axis=1)
        front = np.where(prefix > 0, prefix + pre_first + pre_last, 0)
        whole = np.floor(common)
        lead = whole + np.where(common > whole, 2, 0)     # a fractional common delay's last Lagrange node
        return (np.maximum(ears, front) + lead).astype(np.int64)

    def _check_position(self, azimuth_deg: float, elevation_deg: float, distance_m: float) -> None:
        for name, value in (("azimuth_deg", azimuth_deg), ("elevation_deg", elevation_deg),
                            ("distance_m", distance_m)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise ParameterError(f"{name} is {value!r}; expected a finite number")
        if not -90.0 <= elevation_deg <= 90.0:
            raise ParameterError(f"elevation_deg is {elevation_deg}; expected -90..90")
        if not 0.0 < distance_m <= self.options.max_distance_m:
            raise ParameterError(
                f"distance_m is {distance_m}; expected 0 < distance_m <= max_distance_m "
                f"({self.options.max_distance_m}); raise RendererOptions.max_distance_m for farther sources"
            )

    def _row(self, source_id: int) -> int:
        row = self._rows.get(source_id)
        if row is None:
            raise ParameterError(f"source_id {source_id!r} is not a live source of this renderer")
        return row

    # ------------------------------------------------------------ public API
    @property
    def source_ids(self) -> list[int]:
        """Ids of the live sources, in the row order :meth:`process` expects."""
        return list(self._row_ids)

    @property
    def num_sources(self) -> int:
        """Number of live sources."""
        return self._count

    @property
    def tail_frames(self) -> int:
        """Frames of output that follow the last input: the longest source filter less one.

        Input plus tail is the length of a full linear convolution (``np.convolve``).
        """
        return int(max(self._support[:self._count].max(initial=1) - 1, 0))

    def add_source(self, *, azimuth_deg: float, elevation_deg: float, distance_m: float = 1.0,
                   gain: float = 1.0) -> int:
        """Add a point source; call between blocks.

        Parameters
        ----------
        azimuth_deg, elevation_deg : float
            World direction, SOFA convention (90 = left).
        distance_m : float
            Distance from the head centre, metres.
        gain : float
            Linear gain applied before the distance law.

        Returns
        -------
        int
            The source id. Its row in :meth:`process`'s input is after every
            source added before it.
        """
        self._check_position(azimuth_deg, elevation_deg, distance_m)
        if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)) \
                or not math.isfinite(gain):
            raise ParameterError(f"gain is {gain!r}; expected a finite number")
        row = self._count
        if row == len(self._frames):
            self._reserve(2 * row)
        for name in self._PER_SOURCE:
            getattr(self, name)[row] = 0
        self._triangle[row] = -1
        self._position[row] = (azimuth_deg, elevation_deg, distance_m, gain)
        self._count += 1
        source_id = next(self._ids)
        self._row_ids.append(source_id)
        self._rows[source_id] = row
        self._retarget(np.array([row]), immediate=True)
        return source_id

    def move_source(self, source_id: int, *, azimuth_deg: float, elevation_deg: float,
                    distance_m: float | None = None) -> None:
        """Give a source a new position, reached at the end of the next block.

        The next block crossfades the old and new filters (raised cosine) and
        glides the common delay and the gain, so movement is click-free. A
        position equal to the current one changes nothing.
        """
        row = self._row(source_id)
        distance = self._position[row, 2] if distance_m is None else distance_m
        self._check_position(azimuth_deg, elevation_deg, distance)
        position = self._position[row]
        if (position[0], position[1], position[2]) != (azimuth_deg, elevation_deg, distance):
            position[:3] = (azimuth_deg, elevation_deg, distance)
            self._dirty[row] = True

    def move_sources(self, source_ids: Iterable[int], *, azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray,
                     distance_m: float | np.ndarray | None = None) -> None:
        """:meth:`move_source` for many sources at once (one call per block for a whole scene).

        Parameters
        ----------
        source_ids : sequence of int [shape=(q,)]
        azimuth_deg, elevation_deg : np.ndarray [shape=(q,)] or float
        distance_m : np.ndarray [shape=(q,)] or float, optional
            Default: each source's current distance.
        """
        try:
            rows = np.fromiter(map(self._rows.__getitem__, source_ids), np.int64)
        except (KeyError, TypeError):
            for source_id in source_ids:
                self._row(source_id)
            raise
        columns = []
        for name, value in (("azimuth_deg", azimuth_deg), ("elevation_deg", elevation_deg),
                            ("distance_m", self._position[rows, 2] if distance_m is None else distance_m)):
            array = np.asarray(value)
            if array.dtype.kind not in "iuf" or array.shape not in ((), rows.shape):
                raise ParameterError(
                    f"{name} has shape {array.shape} and dtype {array.dtype}; expected numbers, "
                    f"a scalar or shape {rows.shape} (one per source id)"
                )
            array = np.broadcast_to(array.astype(np.float64, copy=False), rows.shape)
            bad = np.flatnonzero(~np.isfinite(array))
            if len(bad):
                raise ParameterError(f"{name}[{bad[0]}] is {array[bad[0]]}; expected a finite number")
            columns.append(array)
        azimuth, elevation, distance = columns
        bad = np.flatnonzero(np.abs(elevation) > 90.0)
        if len(bad):
            raise ParameterError(f"elevation_deg[{bad[0]}] is {elevation[bad[0]]}; expected -90..90")
        bad = np.flatnonzero(~((distance > 0.0) & (distance <= self.options.max_distance_m)))
        if len(bad):
            raise ParameterError(
                f"distance_m[{bad[0]}] is {distance[bad[0]]}; expected 0 < distance_m <= max_distance_m "
                f"({self.options.max_distance_m})"
            )
        new = np.stack([azimuth, elevation, distance], axis=1)
        moved = (self._position[rows, :3] != new).any(axis=1)
        self._position[rows, :3] = new
        self._dirty[rows[moved]] = True

    def remove_source(self, source_id: int) -> None:
        """Remove a source between blocks (its unplayed tail is dropped)."""
        row = self._row(source_id)
        count = self._count
        for name in self._PER_SOURCE:
            array = getattr(self, name)
            array[row:count - 1] = array[row + 1:count]
        self._count -= 1
        del self._row_ids[row]
        self._rows = {source: r for r, source in enumerate(self._row_ids)}

    def set_listener(self, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> None:
        """Turn the listener's head (yaw counter-clockwise/left, pitch up), from the next block."""
        for name, value in (("yaw_deg", yaw_deg), ("pitch_deg", pitch_deg)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise ParameterError(f"{name} is {value!r}; expected a finite number of degrees")
        if (yaw_deg, pitch_deg) != (self._yaw_deg, self._pitch_deg):
            self._yaw_deg, self._pitch_deg = float(yaw_deg), float(pitch_deg)
            self._dirty[:self._count] = True

    def process(self, blocks: np.ndarray) -> np.ndarray:
        """Render one block.

        Parameters
        ----------
        blocks : np.ndarray [shape=(num_sources, block_size), dtype=float32]
            One row per live source, in the order they were added.

        Returns
        -------
        np.ndarray [shape=(2, block_size), dtype=float32]
            Left, right.
        """
        from scipy import fft

        from ._kernels import accumulate, delay_lines

        n = self._count
        blocks = check_blocks(blocks, n, self.block_size)
        if n == 0:
            return np.zeros((2, self.block_size), np.float32)

        moved = np.flatnonzero(self._dirty[:n])
        if len(moved):
            self._dirty[moved] = False
            self._retarget(moved, immediate=False)

        b, m = self.block_size, self._fft_size
        start = self._frame_start + b
        if start + m > self._frames_length:
            self._frames[:n, :m - b] = self._frames[:n, start:start + m - b]
            start = 0
        self._frame_start = start
        delay_lines(blocks, self._ring[:n], self._write_pos, self._common_now[:n], self._common_next[:n],
                    self._gain_now[:n], self._gain_next[:n], self._frames[:n], start + m - b)
        spectra = fft.rfft(self._frames[:n, start:start + m], axis=-1, workers=1)
        self._head = (self._head + 1) % self._parts
        acc = self._acc
        acc[:] = 0.0
        accumulate(spectra.view(np.float32), self._fdl_re[:n], self._fdl_im[:n], self._head,
                   self._filt_re[:n], self._filt_im[:n], self._slot[:n], self._changed[:n], acc)
        if len(moved):
            # y = irfft(unchanged + old) + w irfft(new - old)
            total = np.empty((4, self._bins), np.complex64)
            total.real[:2] = acc[0:4:2] + acc[4:8:2]
            total.imag[:2] = acc[1:4:2] + acc[5:8:2]
            total.real[2:] = acc[8:12:2] - acc[4:8:2]
            total.imag[2:] = acc[9:12:2] - acc[5:8:2]
        else:
            total = np.empty((2, self._bins), np.complex64)
            total.real = acc[0:4:2]
            total.imag = acc[1:4:2]
        out = fft.irfft(total, n=m, axis=-1, workers=1)[:, m - b:]
        if len(moved):
            out = out[:2] + self._crossfade * out[2:]
            self._common_now[moved] = self._common_next[moved]
            self._gain_now[moved] = self._gain_next[moved]
        self._write_pos += b
        return np.ascontiguousarray(out, dtype=np.float32)

    def flush(self) -> np.ndarray:
        """Render the tail after the last input block (silent input).

        Returns
        -------
        np.ndarray [shape=(2, tail), dtype=float32]
            ``tail`` is :attr:`tail_frames` rounded up to whole blocks.
        """
        blocks = math.ceil(self.tail_frames / self.block_size)
        silence = np.zeros((self.num_sources, self.block_size), np.float32)
        return np.concatenate([self.process(silence) for _ in range(blocks)], axis=1) \
            if blocks else np.zeros((2, 0), np.float32)

    @property
    def state_bytes(self) -> int:
        """Memory the renderer's state uses, bytes.

        Per-source arrays (allocated capacity) and the filter spectra of the
        measurements used so far.
        """
        per_source = sum(getattr(self, name).nbytes for name in self._PER_SOURCE)
        used = int(self._set_ready.sum())
        return int(per_source + used * 2 * (self._set_re[0].nbytes + self._pre_re[0].nbytes)
                   + self._phasor_re.nbytes * 2)

    def to_dict(self) -> dict:
        """Configuration and state summary (JSON-able)."""
        return {"sample_rate": self.sample_rate, "block_size": self.block_size,
                "fft_size": self._fft_size, "partitions": self._parts, "num_sources": self.num_sources,
                "state_bytes": self.state_bytes, "options": self.options.to_dict(),
                "hrtf": self.hrtf.to_dict()}


def render_static(samples: np.ndarray, sample_rate: int, hrtf: HRTF, *, azimuth_deg: float,
                  elevation_deg: float, distance_m: float = 1.0, block_size: int = 512,
                  options: RendererOptions | None = None, tail: bool = True,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Render a mono signal from one fixed direction.

    At a measured direction (and the reference distance) the result is the full
    linear convolution of ``samples`` with the measured HRIR pair, to float32 rounding.

    Parameters
    ----------
    samples : np.ndarray [shape=(1, frames) or (frames,)]
    tail : bool
        Keep the filter's tail (:attr:`BinauralRenderer.tail_frames`, e.g. 511 frames
        for a 512-tap HRIR): the output is as long as a full convolution. False: the
        output has the input's length.
    progress : callable(int), optional
        Called after each block with the input frames it rendered (the last
        block's count leaves out its padding): the calls add up to ``frames``.
        The output does not depend on it.

    Returns
    -------
    np.ndarray [shape=(2, frames + tail) or (2, frames), dtype=float32]

    Examples
    --------
    >>> hrtf = HRTF.spherical_head(48000)
    >>> x = np.zeros(4800, np.float32)
    >>> render_static(x, 48000, hrtf, azimuth_deg=30.0, elevation_deg=0.0, tail=False).shape
    (2, 4800)
    """
    from .._arrays import as_samples, check_finite

    samples = as_samples(samples)
    check_finite(samples)
    if samples.shape[0] != 1:
        raise ParameterError(f"samples has {samples.shape[0]} channels; expected mono (1, frames)")
    renderer = BinauralRenderer(hrtf, sample_rate, block_size=block_size, options=options)
    renderer.add_source(azimuth_deg=azimuth_deg, elevation_deg=elevation_deg, distance_m=distance_m)
    return _run(renderer, samples, tail=tail, progress=progress)


def render_bed(samples: np.ndarray, sample_rate: int, hrtf: HRTF, *, layout: str, block_size: int = 512,
               options: RendererOptions | None = None, tail: bool = True) -> np.ndarray:
    """Render a channel bed (stereo, 5.1, 7.1, ...) through virtual loudspeakers.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
        Channels in the layout's order, ffmpeg's (5.1: FL FR FC LFE BL BR;
        7.1: FL FR FC LFE BL BR SL SR), as a decoded file has them.
    layout : str
        An ffmpeg layout name (:data:`audiokit.channels.LAYOUTS`); each channel
        plays from its nominal BS.2051 position
        (:func:`audiokit.channels.loudspeaker_azimuths`), LFE is mixed to both ears.
    tail : bool
        Keep the filters' tail (as :func:`render_static`); False: the input's length.

    Returns
    -------
    np.ndarray [shape=(2, frames + tail) or (2, frames), dtype=float32]
    """
    from .._arrays import as_samples, check_finite
    from ..channels import LAYOUTS, loudspeaker_azimuths

    if layout not in LAYOUTS:
        raise ParameterError(f"layout is {layout!r}; expected one of {', '.join(LAYOUTS)}")
    samples = as_samples(samples)
    check_finite(samples)
    if samples.shape[0] != len(LAYOUTS[layout]):
        raise ParameterError(
            f"samples has {samples.shape[0]} channels; layout {layout} needs {len(LAYOUTS[layout])}"
        )
    azimuths = loudspeaker_azimuths(samples.shape[0], layout)
    renderer = BinauralRenderer(hrtf, sample_rate, block_size=block_size, options=options)
    speakers = {c: az for c, az in enumerate(azimuths) if az is not None}
    for azimuth in speakers.values():
        renderer.add_source(azimuth_deg=azimuth % 360.0, elevation_deg=0.0)
    out = _run(renderer, samples[list(speakers)], tail=tail)
    lfe = [c for c, az in enumerate(azimuths) if az is None]
    for c in lfe:
        out[:, :samples.shape[1]] += LFE_GAIN * samples[c]
    return out


def _nonzero_length(irs: np.ndarray) -> np.ndarray:
    """One past the last nonzero sample of each IR, shape ``irs.shape[:-1]`` (0 if all zero)."""
    nonzero = irs != 0
    return np.where(nonzero.any(axis=-1), irs.shape[-1] - np.argmax(nonzero[..., ::-1], axis=-1), 0)


def _run(renderer: BinauralRenderer, samples: np.ndarray, *, tail: bool = True,
         progress: Callable[[int], None] | None = None) -> np.ndarray:
    b = renderer.block_size
    frames = samples.shape[1]
    padded = np.zeros((samples.shape[0], math.ceil(frames / b) * b), np.float32)
    padded[:, :frames] = samples
    pieces = []
    for i in range(0, padded.shape[1], b):
        pieces.append(renderer.process(padded[:, i:i + b]))
        if progress is not None:
            progress(min(b, frames - i))
    if tail:
        pieces.append(renderer.flush())
    out = np.concatenate(pieces, axis=1)
    return np.ascontiguousarray(out[:, :frames + (renderer.tail_frames if tail else 0)])
