"""Block-based binaural rendering of static and moving sources.

Signal path per source ``s`` and ear ``e`` (block size ``B``):

1. ring buffer -> cubic-Lagrange fractional delay ``d_e`` (the HRTF's broadband
   delay/ITD plus the propagation delay), gliding linearly over each block, times
   the distance gain ``g`` (also gliding);
2. rFFT of ``[previous B | current B]`` into a frequency-domain delay line;
3. multiply-accumulate with the onset-aligned HRIR's partition spectra (uniformly
   partitioned overlap-save, Wefers 2015 §5.3), summed over all sources, so the
   block costs 2 inverse FFTs however many sources there are (4 while any source
   moves);
4. when a source's direction changes, the block is rendered with the old and the
   new filter and crossfaded with a raised cosine (the difference is accumulated
   separately: ``y = irfft(sum X H_old) + w * irfft(sum X (H_new - H_old))``).

A static source at its HRTF's reference distance produces exactly the direct
convolution of its input with ``shift(aligned, delays)`` (see
:meth:`audiokit.spatial.HRTF.split`), up to float32 rounding. The pre-onset
noise floor of measured IRs (``HRTF.prefix``) is not rendered.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np

from .._arrays import check_sample_rate
from ..errors import ParameterError
from .hrtf import HRTF
from .interpolation import METHODS, rotate_to_head
from .spherical_head import SPEED_OF_SOUND_M_S

__all__ = ["RendererOptions", "BinauralRenderer", "render_static", "LOUDSPEAKER_LAYOUTS", "render_bed"]

#: Virtual loudspeaker azimuths (degrees, SOFA convention) for channel beds,
#: ITU-R BS.775 / BS.2051 order; the LFE (None) is mixed into both ears at LFE_GAIN, unfiltered.
LOUDSPEAKER_LAYOUTS = {
    "stereo": (30.0, -30.0),
    "5.1": (30.0, -30.0, 0.0, None, 110.0, -110.0),
    "7.1": (30.0, -30.0, 0.0, None, 90.0, -90.0, 150.0, -150.0),
}
#: LFE gain into each ear (linear, -3 dB) when rendering channel beds.
LFE_GAIN = 10 ** (-3 / 20)


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

    def __init__(self, hrtf: HRTF, sample_rate: int, *, block_size: int = 512,
                 options: RendererOptions | None = None) -> None:
        from scipy import fft

        if not isinstance(hrtf, HRTF):
            raise ParameterError(f"hrtf is a {type(hrtf).__name__}; expected audiokit.spatial.HRTF")
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
                or not 1 <= block_size <= 1 << 16:
            raise ParameterError(f"block_size is {block_size!r}; expected an integer in 1..65536")
        self.block_size = int(block_size)
        self.options = options or RendererOptions()
        self.hrtf = hrtf.resampled(self.sample_rate)
        if self.options.method == "barycentric":
            self.hrtf.triangulation  # built once here (setup), not on the first block

        b = self.block_size
        self._bins = b + 1
        self._parts = max(1, math.ceil(self.hrtf.aligned_taps / b))
        padded = np.zeros((self.hrtf.num_directions, 2, self._parts, 2 * b), np.float32)
        flat = np.zeros((self.hrtf.num_directions, 2, self._parts * b), np.float32)
        flat[..., :self.hrtf.aligned_taps] = self.hrtf.aligned
        padded[..., :b] = flat.reshape(self.hrtf.num_directions, 2, self._parts, b)
        spectra = fft.rfft(padded.astype(np.float64), axis=-1)
        self._set_re = np.ascontiguousarray(spectra.real, dtype=np.float32)
        self._set_im = np.ascontiguousarray(spectra.imag, dtype=np.float32)

        max_delay = (self.hrtf.delays_samples.max()
                     + (self.options.max_distance_m - self.options.reference_distance_m)
                     / self.options.speed_of_sound_m_s * self.sample_rate)
        self._ring_size = 1 << int(math.ceil(math.log2(b + max_delay + 8)))
        self._crossfade = (0.5 - 0.5 * np.cos(np.pi * np.arange(1, b + 1) / b)).astype(np.float32)
        self._ids = itertools.count()
        self._sources: list[dict] = []
        self._rows: dict[int, int] = {}  # source id -> row
        self._yaw_deg = 0.0
        self._pitch_deg = 0.0
        self._write_pos = 0
        self._head = 0
        self._alloc(0)
        # accumulated spectra: re, im of the steady sum and of the crossfade difference
        self._acc = np.zeros((4, 2, self._bins), np.float32)

    # ----------------------------------------------------------------- state
    def _alloc(self, count: int) -> None:
        shape = (count, 2, self._parts, self._bins)
        self._ring = np.zeros((count, self._ring_size), np.float32)
        self._frames = np.zeros((2 * count, 2 * self.block_size), np.float32)
        self._fdl_re = np.zeros(shape, np.float32)
        self._fdl_im = np.zeros(shape, np.float32)
        self._h_re = np.zeros(shape, np.float32)
        self._h_im = np.zeros(shape, np.float32)
        self._n_re = np.zeros(shape, np.float32)
        self._n_im = np.zeros(shape, np.float32)
        self._delay_now = np.zeros((count, 2))
        self._delay_next = np.zeros((count, 2))
        self._gain_now = np.zeros(count)
        self._gain_next = np.zeros(count)
        self._changed = np.zeros(count, np.bool_)

    _PER_SOURCE = ("_ring", "_frames", "_fdl_re", "_fdl_im", "_h_re", "_h_im", "_n_re", "_n_im",
                   "_delay_now", "_delay_next", "_gain_now", "_gain_next", "_changed")

    def _retarget(self, rows: list[int], *, immediate: bool) -> None:
        """Set filters, delays and gains of ``rows`` for their sources' current positions.

        ``immediate`` (a new source) installs them at once; otherwise the next
        block crossfades and glides to them.
        """
        from ._kernels import interpolate_spectra

        if not rows:
            return
        options = self.options
        rows_array = np.asarray(rows, np.int64)
        azimuth = np.array([self._sources[r]["azimuth_deg"] for r in rows])
        elevation = np.array([self._sources[r]["elevation_deg"] for r in rows])
        distance = np.array([self._sources[r]["distance_m"] for r in rows])
        gain = np.array([self._sources[r]["gain"] for r in rows])
        if self._yaw_deg or self._pitch_deg:
            azimuth, elevation = rotate_to_head(azimuth, elevation, yaw_deg=self._yaw_deg,
                                                pitch_deg=self._pitch_deg)
        indices, weights = self.hrtf.weights_many(azimuth, elevation, method=options.method)
        delays = np.einsum("qk,qke->qe", weights, self.hrtf.delays_samples[indices])
        if options.propagation_delay:
            extra = np.maximum(distance - options.reference_distance_m, 0.0)
            delays += (extra / options.speed_of_sound_m_s * self.sample_rate)[:, np.newaxis]
        self._delay_next[rows_array] = delays
        self._gain_next[rows_array] = gain * options.reference_distance_m / np.maximum(
            distance, options.near_distance_m)
        if immediate:
            interpolate_spectra(self._set_re, self._set_im, indices, weights, rows_array,
                                self._h_re, self._h_im)
            self._delay_now[rows_array] = self._delay_next[rows_array]
            self._gain_now[rows_array] = self._gain_next[rows_array]
        else:
            interpolate_spectra(self._set_re, self._set_im, indices, weights, rows_array,
                                self._n_re, self._n_im)
            self._changed[rows_array] = True

    def _check_position(self, azimuth_deg, elevation_deg, distance_m) -> None:
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
        return [source["id"] for source in self._sources]

    @property
    def num_sources(self) -> int:
        """Number of live sources."""
        return len(self._sources)

    @property
    def tail_frames(self) -> int:
        """Frames of output that follow the last input (filter length plus longest delay)."""
        delays = self._delay_next.max() if self.num_sources else 0.0
        return int(self.hrtf.aligned_taps + math.ceil(delays) + 4)

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
        if not math.isfinite(gain):
            raise ParameterError(f"gain is {gain!r}; expected a finite number")
        source = {"id": next(self._ids), "azimuth_deg": float(azimuth_deg),
                  "elevation_deg": float(elevation_deg), "distance_m": float(distance_m),
                  "gain": float(gain)}
        count = self.num_sources
        old = {name: getattr(self, name) for name in self._PER_SOURCE}
        self._alloc(count + 1)
        for name, value in old.items():
            getattr(self, name)[: len(value)] = value
        self._sources.append(source)
        self._rows[source["id"]] = count
        self._retarget([count], immediate=True)
        return source["id"]

    def move_source(self, source_id: int, *, azimuth_deg: float, elevation_deg: float,
                    distance_m: float | None = None) -> None:
        """Give a source a new position, reached at the end of the next block.

        The next block crossfades the old and new filters (raised cosine) and
        glides the delays and gain, so movement is click-free.
        """
        row = self._row(source_id)
        source = self._sources[row]
        distance = source["distance_m"] if distance_m is None else distance_m
        self._check_position(azimuth_deg, elevation_deg, distance)
        source.update(azimuth_deg=float(azimuth_deg), elevation_deg=float(elevation_deg),
                      distance_m=float(distance))
        source["dirty"] = True

    def remove_source(self, source_id: int) -> None:
        """Remove a source between blocks (its unplayed tail is dropped)."""
        row = self._row(source_id)
        del self._sources[row]
        self._rows = {source["id"]: r for r, source in enumerate(self._sources)}
        for name in self._PER_SOURCE:
            value = getattr(self, name)
            if name == "_frames":
                setattr(self, name, np.delete(value, [2 * row, 2 * row + 1], axis=0))
            else:
                setattr(self, name, np.delete(value, row, axis=0))

    def set_listener(self, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> None:
        """Turn the listener's head (yaw counter-clockwise/left, pitch up), from the next block."""
        for name, value in (("yaw_deg", yaw_deg), ("pitch_deg", pitch_deg)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise ParameterError(f"{name} is {value!r}; expected a finite number of degrees")
        if (yaw_deg, pitch_deg) != (self._yaw_deg, self._pitch_deg):
            self._yaw_deg, self._pitch_deg = float(yaw_deg), float(pitch_deg)
            for source in self._sources:
                source["dirty"] = True

    def process(self, blocks) -> np.ndarray:
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

        blocks = np.asarray(blocks)
        expected = (self.num_sources, self.block_size)
        if blocks.shape != expected:
            raise ParameterError(
                f"blocks has shape {blocks.shape}; expected (num_sources, block_size) = {expected}"
            )
        if blocks.dtype != np.float32:
            raise ParameterError(f"blocks has dtype {blocks.dtype}; expected float32")
        if not np.isfinite(blocks).all():
            raise ParameterError("blocks contains NaN or infinite samples; every sample must be finite")
        blocks = np.ascontiguousarray(blocks)
        if self.num_sources == 0:
            return np.zeros((2, self.block_size), np.float32)

        dirty = [row for row, source in enumerate(self._sources) if source.pop("dirty", False)]
        self._retarget(dirty, immediate=False)

        b = self.block_size
        delay_lines(blocks, self._ring, self._write_pos, self._delay_now, self._delay_next,
                    self._gain_now, self._gain_next, self._frames)
        spectra = fft.rfft(self._frames, axis=-1, workers=1)
        self._head = (self._head + 1) % self._parts
        acc_re, acc_im, dif_re, dif_im = self._acc
        accumulate(spectra.view(np.float32), self._fdl_re, self._fdl_im, self._head,
                   self._h_re, self._h_im, self._n_re, self._n_im, self._changed,
                   acc_re, acc_im, dif_re, dif_im)
        moving = bool(self._changed.any())
        if moving:
            total = np.empty((4, self._bins), np.complex64)
            total[:2].real, total[:2].imag = acc_re, acc_im
            total[2:].real, total[2:].imag = dif_re, dif_im
        else:
            total = np.empty((2, self._bins), np.complex64)
            total.real, total.imag = acc_re, acc_im
        out = fft.irfft(total, n=2 * b, axis=-1, workers=1)[:, b:]
        result = out[:2] + self._crossfade * out[2:] if moving else out
        if moving:
            rows = np.flatnonzero(self._changed)
            self._h_re[rows] = self._n_re[rows]
            self._h_im[rows] = self._n_im[rows]
            self._changed[:] = False
        self._delay_now[:] = self._delay_next
        self._gain_now[:] = self._gain_next
        self._write_pos += b
        return np.ascontiguousarray(result, dtype=np.float32)

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

    def to_dict(self) -> dict:
        """Configuration and state summary (JSON-able)."""
        return {"sample_rate": self.sample_rate, "block_size": self.block_size,
                "partitions": self._parts, "num_sources": self.num_sources,
                "options": self.options.to_dict(), "hrtf": self.hrtf.to_dict()}


def render_static(samples, sample_rate: int, hrtf: HRTF, *, azimuth_deg: float,
                  elevation_deg: float, distance_m: float = 1.0, block_size: int = 512,
                  options: RendererOptions | None = None) -> np.ndarray:
    """Render a mono signal from one fixed direction, including the tail.

    Parameters
    ----------
    samples : np.ndarray [shape=(1, frames) or (frames,)]

    Returns
    -------
    np.ndarray [shape=(2, frames + tail), dtype=float32]
    """
    from .._arrays import as_samples, check_finite

    samples = as_samples(samples)
    check_finite(samples)
    if samples.shape[0] != 1:
        raise ParameterError(f"samples has {samples.shape[0]} channels; expected mono (1, frames)")
    renderer = BinauralRenderer(hrtf, sample_rate, block_size=block_size, options=options)
    renderer.add_source(azimuth_deg=azimuth_deg, elevation_deg=elevation_deg, distance_m=distance_m)
    return _run(renderer, samples)


def render_bed(samples, sample_rate: int, hrtf: HRTF, *, layout: str, block_size: int = 512,
               options: RendererOptions | None = None) -> np.ndarray:
    """Render a channel bed (stereo, 5.1, 7.1) through virtual loudspeakers.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
        Channels in ITU order (L, R, C, LFE, Ls, Rs[, Lb, Rb]).
    layout : {"stereo", "5.1", "7.1"}

    Returns
    -------
    np.ndarray [shape=(2, frames + tail), dtype=float32]
    """
    from .._arrays import as_samples, check_finite

    if layout not in LOUDSPEAKER_LAYOUTS:
        raise ParameterError(f"layout is {layout!r}; expected one of {', '.join(LOUDSPEAKER_LAYOUTS)}")
    azimuths = LOUDSPEAKER_LAYOUTS[layout]
    samples = as_samples(samples)
    check_finite(samples)
    if samples.shape[0] != len(azimuths):
        raise ParameterError(
            f"samples has {samples.shape[0]} channels; layout {layout} needs {len(azimuths)}"
        )
    renderer = BinauralRenderer(hrtf, sample_rate, block_size=block_size, options=options)
    speakers = [c for c, az in enumerate(azimuths) if az is not None]
    for c in speakers:
        renderer.add_source(azimuth_deg=azimuths[c] % 360.0, elevation_deg=0.0)
    out = _run(renderer, samples[speakers])
    lfe = [c for c, az in enumerate(azimuths) if az is None]
    for c in lfe:
        out[:, :samples.shape[1]] += LFE_GAIN * samples[c]
    return out


def _run(renderer: BinauralRenderer, samples: np.ndarray) -> np.ndarray:
    b = renderer.block_size
    frames = samples.shape[1]
    padded = np.zeros((samples.shape[0], math.ceil(frames / b) * b), np.float32)
    padded[:, :frames] = samples
    pieces = [renderer.process(padded[:, i:i + b]) for i in range(0, padded.shape[1], b)]
    pieces.append(renderer.flush())
    out = np.concatenate(pieces, axis=1)
    return out[:, :frames + renderer.tail_frames]
