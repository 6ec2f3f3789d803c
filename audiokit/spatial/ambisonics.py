"""Spherical-harmonic (Ambisonics) bus: encode sources, rotate once per block, decode binaurally.

Conventions (AmbiX, Nachbar et al. 2011, "AMBIX - a suggested Ambisonics format"):
ACN channel order ``acn = n^2 + n + m``; real spherical harmonics without the
Condon-Shortley phase, ``Y_n^m(az, el) = N_n^|m| P_n^|m|(sin el) * (cos(m az) if m >= 0
else sin(|m| az))``; SN3D normalisation ``N_n^|m| = sqrt((2 - delta_m0) (n - |m|)! / (n + |m|)!)``
(so ``W = 1``, ``Y = sin az cos el``, ``Z = sin el``, ``X = cos az cos el``), N3D is SN3D
times ``sqrt(2n + 1)``. Directions are SOFA's (azimuth counter-clockwise, 90 = left).

Binaural decoders are built from an HRTF set's measured IRs, per frequency:

- ``"ls"``: least squares, ``D(f) = argmin sum_d a_d |Y(d) D(f) - H(d, f)|^2 + lambda |D|^2``
  with ``a_d`` the spherical-Voronoi area of each measurement direction (a quadrature
  weight, so densely measured rings do not dominate) and a small Tikhonov ``lambda``
  (the measurement grid leaves the bottom cap empty), fitted in N3D (orthonormal, so the
  penalty treats every degree alike) and rescaled for SN3D, so both give the same output;
- ``"magls"``: the same below ``cutoff_hz``; above it magnitude least squares
  (Schörkhuber, Zaunschirm & Höldrich 2018, "Binaural rendering of Ambisonic signals via
  magnitude least squares", DAGA 2018): the target phase at each bin is the phase of
  the previous bin's decoded HRTF, ``H'(d, f) = |H(d, f)| exp(i arg(Y(d) D(f - 1)))``, so the
  order-limited decoder matches magnitudes (what localisation and timbre need above about
  1.5-2 kHz, where interaural phase no longer matters) instead of unattainable phases.

:class:`AmbisonicRenderer` keeps one frame per SH channel (``(order + 1)^2``), so its
cost per block is a gain matrix product over the sources, a rotation and ``(order + 1)^2``
forward FFTs, independent of the number of sources beyond the matrix product. Sources get
a distance gain but no propagation delay (the bus has no per-source delay line).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError
from .hrtf import HRTF, ONSET_MARGIN
from .renderer import check_blocks, check_renderer_setup

if TYPE_CHECKING:
    from .renderer import RendererOptions

__all__ = [
    "NORMALIZATIONS",
    "DECODERS",
    "MAX_ORDER",
    "sh_matrix",
    "rotation_matrix",
    "BinauralDecoder",
    "binaural_decoder",
    "AmbisonicOptions",
    "AmbisonicRenderer",
    "SELECTIONS",
    "HybridRenderer",
]

#: Normalisations of the real spherical harmonics.
NORMALIZATIONS = ("sn3d", "n3d")
#: Binaural decoder designs.
DECODERS = ("ls", "magls")
#: Highest Ambisonic order supported.
MAX_ORDER = 5
#: Directions of the least-squares fit of rotation matrices (exact for order <= MAX_ORDER).
_ROTATION_POINTS = 256
#: Tikhonov regularisation of the decoder fit, relative to the mean eigenvalue of Y^T A Y.
_REGULARIZATION = 1e-3


def _check_order(order: object) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 0 <= order <= MAX_ORDER:
        raise ParameterError(f"order is {order!r}; expected an integer 0..{MAX_ORDER}")
    return int(order)


def sh_matrix(order: int, azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray, *, normalization: str = "sn3d") -> np.ndarray:
    """Real spherical harmonics of directions, ACN order.

    Parameters
    ----------
    order : int
        0..5.
    azimuth_deg, elevation_deg : np.ndarray [shape=(q,)] or float
    normalization : {"sn3d", "n3d"}

    Returns
    -------
    np.ndarray [shape=(q, (order + 1) ** 2), dtype=float64]

    Examples
    --------
    >>> np.round(sh_matrix(1, 90.0, 0.0), 12).tolist()   # a source on the left: W, Y, Z, X
    [[1.0, 1.0, 0.0, 0.0]]
    """
    order = _check_order(order)
    if normalization not in NORMALIZATIONS:
        raise ParameterError(f"normalization is {normalization!r}; expected one of {', '.join(NORMALIZATIONS)}")
    azimuth = np.radians(np.atleast_1d(np.asarray(azimuth_deg, np.float64)))
    elevation = np.radians(np.atleast_1d(np.asarray(elevation_deg, np.float64)))
    if azimuth.shape != elevation.shape or azimuth.ndim != 1:
        raise ParameterError(f"azimuth_deg has shape {azimuth.shape} and elevation_deg {elevation.shape}; "
                             "expected equal 1-D shapes")
    out = np.empty((len(azimuth), (order + 1) ** 2))
    x, c = np.sin(elevation), np.cos(elevation)
    cosines = [np.cos(m * azimuth) for m in range(order + 1)]
    sines = [np.sin(m * azimuth) for m in range(order + 1)]
    diagonal = np.ones_like(x)
    for m in range(order + 1):
        # associated Legendre P_n^m(x) without the Condon-Shortley phase, by the standard
        # recurrences: P_m^m = (2m - 1)!! (1 - x^2)^(m/2), P_(m+1)^m = (2m + 1) x P_m^m,
        # (n - m) P_n^m = (2n - 1) x P_(n-1)^m - (n + m - 1) P_(n-2)^m
        if m > 0:
            diagonal = diagonal * (2 * m - 1) * c
        previous, current = None, diagonal
        for n in range(m, order + 1):
            if n == m + 1:
                previous, current = current, (2 * m + 1) * x * current
            elif n > m + 1:
                previous, current = current, ((2 * n - 1) * x * current - (n + m - 1) * previous) / (n - m)
            norm = math.sqrt((2 - (m == 0)) * math.factorial(n - m) / math.factorial(n + m))
            if normalization == "n3d":
                norm *= math.sqrt(2 * n + 1)
            out[:, n * n + n + m] = norm * current * cosines[m]
            if m > 0:
                out[:, n * n + n - m] = norm * current * sines[m]
    return out


def _fibonacci_directions(count: int) -> np.ndarray:
    """Nearly uniform directions on the sphere (golden-angle spiral), degrees, shape (count, 2)."""
    k = np.arange(count) + 0.5
    elevation = np.degrees(np.arcsin(1 - 2 * k / count))
    azimuth = np.degrees(np.pi * (1 + 5 ** 0.5) * k) % 360.0
    return np.column_stack([azimuth, elevation])


def _rotation_3d(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head rotation ``R = Rz(yaw) Ry(pitch) Rx(roll)`` on (x front, y left, z up).

    Yaw turns left, pitch lifts the nose (as :meth:`BinauralRenderer.set_listener`),
    roll lifts the left ear.
    """
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    ry = np.array([[np.cos(p), 0, -np.sin(p)], [0, 1, 0], [np.sin(p), 0, np.cos(p)]])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    return rz @ ry @ rx


@functools.lru_cache(maxsize=16)
def _rotation_fit(order: int, normalization: str) -> tuple[np.ndarray, np.ndarray]:
    """The fitting directions (unit vectors) and the pseudo-inverse of their SH matrix."""
    grid = _fibonacci_directions(_ROTATION_POINTS)
    az, el = np.radians(grid[:, 0]), np.radians(grid[:, 1])
    points = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)
    return points, np.linalg.pinv(sh_matrix(order, grid[:, 0], grid[:, 1], normalization=normalization))


def rotation_matrix(order: int, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0,
                    normalization: str = "sn3d") -> np.ndarray:
    """Matrix taking world-frame SH signals to the frame of a head turned by yaw, pitch, roll.

    ``b_head = M b_world``: a source at world direction ``d`` appears at ``R^-1 d`` to a
    head rotated by ``R``. Spherical harmonics of each degree ``n`` span a rotation-invariant
    space, so ``Y(R^-1 d) = Y(d) M^T`` holds exactly; ``M`` is fitted by least squares on
    256 nearly uniform directions (exact to rounding for orders <= 5) and is block
    diagonal by degree.

    Returns
    -------
    np.ndarray [shape=((order + 1) ** 2, (order + 1) ** 2), dtype=float64]
    """
    order = _check_order(order)
    for name, value in (("yaw_deg", yaw_deg), ("pitch_deg", pitch_deg), ("roll_deg", roll_deg)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value):
            raise ParameterError(f"{name} is {value!r}; expected a finite number of degrees")
    points, inverse = _rotation_fit(order, normalization)
    turned = points @ _rotation_3d(yaw_deg, pitch_deg, roll_deg)          # rows: R^T d = R^-1 d
    turned_az = np.degrees(np.arctan2(turned[:, 1], turned[:, 0]))
    turned_el = np.degrees(np.arcsin(np.clip(turned[:, 2], -1, 1)))
    after = sh_matrix(order, turned_az, turned_el, normalization=normalization)
    matrix = (inverse @ after).T
    degree = np.floor(np.sqrt(np.arange(matrix.shape[0]))).astype(int)
    matrix[degree[:, None] != degree[None, :]] = 0.0                     # exact zeros off the blocks
    return matrix


@dataclass(frozen=True)
class BinauralDecoder:
    """FIR filters taking SH signals to two ears."""

    #: filters, shape (2, (order + 1) ** 2, taps), float32: ear, ACN channel, time
    filters: np.ndarray
    #: Ambisonic order
    order: int
    #: "sn3d" or "n3d"
    normalization: str
    #: "ls" or "magls"
    method: str
    #: MagLS crossover, Hz (None for "ls")
    cutoff_hz: float | None
    #: sample rate of the filters, Hz
    sample_rate: int

    def to_dict(self) -> dict:
        """JSON-able summary (no arrays)."""
        return {"order": self.order, "normalization": self.normalization, "method": self.method,
                "cutoff_hz": self.cutoff_hz, "sample_rate": self.sample_rate, "taps": int(self.filters.shape[2])}


def _quadrature_weights(directions_deg: np.ndarray) -> np.ndarray:
    """Spherical-Voronoi cell areas of the directions, normalised to sum to 4 pi."""
    from scipy.spatial import SphericalVoronoi

    az, el = np.radians(directions_deg[:, 0]), np.radians(directions_deg[:, 1])
    points = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)
    _, unique = np.unique(np.round(points, 9), axis=0, return_index=True)
    weights = np.zeros(len(points))
    voronoi = SphericalVoronoi(points[unique], radius=1.0)
    weights[unique] = voronoi.calculate_areas()
    return weights * (4 * np.pi / weights.sum())


def binaural_decoder(hrtf: HRTF, order: int, *, method: str = "magls", cutoff_hz: float = 2000.0,
                     normalization: str = "sn3d") -> BinauralDecoder:
    """Fit a binaural decoder of ``order`` to an HRTF set's measured IRs.

    Parameters
    ----------
    hrtf : HRTF
        Its measured IRs (``HRTF.measured_irs``) and directions.
    order : int
        1..5.
    method : {"magls", "ls"}
    cutoff_hz : float
        MagLS: bins at and above this frequency are fitted in magnitude.
    normalization : {"sn3d", "n3d"}

    Returns
    -------
    BinauralDecoder
        Filters as long as the measured IRs (``num_taps``): designed on a grid of at least
        twice that length, then cut with a raised-cosine fade over the last eighth.
    """
    order = _check_order(order)
    if order < 1:
        raise ParameterError("order is 0; a binaural decoder needs order >= 1 (order 0 has no direction)")
    if method not in DECODERS:
        raise ParameterError(f"method is {method!r}; expected one of {', '.join(DECODERS)}")
    if isinstance(cutoff_hz, bool) or not isinstance(cutoff_hz, (int, float)) \
            or not 0 < cutoff_hz < hrtf.sample_rate / 2:
        raise ParameterError(f"cutoff_hz is {cutoff_hz!r}; expected 0 < cutoff_hz < {hrtf.sample_rate / 2} Hz")
    if normalization not in NORMALIZATIONS:
        raise ParameterError(f"normalization is {normalization!r}; expected one of {', '.join(NORMALIZATIONS)}")
    irs = hrtf.measured_irs().astype(np.float64)                     # (m, 2, taps)
    taps = irs.shape[2]
    y = sh_matrix(order, hrtf.directions_deg[:, 0], hrtf.directions_deg[:, 1], normalization="n3d")
    a = _quadrature_weights(hrtf.directions_deg)
    gram = (y * a[:, None]).T @ y
    gram += _REGULARIZATION * np.trace(gram) / len(gram) * np.eye(len(gram))
    fit = np.linalg.solve(gram, (y * a[:, None]).T)                  # (C, m): weighted, regularised pinv
    from scipy import fft

    size = fft.next_fast_len(2 * taps, real=True)                    # finer grid: room for the MagLS phase
    spectra = fft.rfft(irs, size, axis=-1)                            # (m, 2, F)
    m, _, bins = spectra.shape
    decoder = (fit @ spectra.reshape(m, 2 * bins)).reshape(-1, 2, bins).transpose(1, 2, 0).copy()  # (2, F, C)
    if method == "magls":
        freqs = fft.rfftfreq(size, 1 / hrtf.sample_rate)
        start = int(np.searchsorted(freqs, cutoff_hz))
        magnitude = np.abs(spectra)
        # the previous bin's phase advanced by the set's median onset delay, so the
        # high-frequency part keeps that group delay (stays causal and compact)
        # instead of collapsing to zero delay and wrapping around the filter
        advance = np.exp(-2j * np.pi * np.median(hrtf.delays_samples + ONSET_MARGIN) / size)
        y_complex = y.astype(np.complex128)
        fit_complex = fit.astype(np.complex128)
        for f in range(max(start, 1), len(freqs)):
            # both ears at once; einsum's own loops (these products are too small for BLAS
            # threads, which only add synchronisation on a loaded machine)
            phase = np.angle(np.einsum("mc,ec->me", y_complex, decoder[:, f - 1]) * advance)
            decoder[:, f] = np.einsum("cm,me->ec", fit_complex, magnitude[:, :, f] * np.exp(1j * phase))
    if normalization == "sn3d":                                      # b_sn3d = b_n3d / sqrt(2n + 1)
        degree = np.floor(np.sqrt(np.arange(y.shape[1])))
        decoder = decoder * np.sqrt(2 * degree + 1)
    filters = fft.irfft(decoder, size, axis=1)                        # (2, size, C)
    # keep the measured length, fading out over its last eighth: drops what the magnitude
    # fit spreads over the rest of the period (and wraps around to its end)
    fade = taps // 8
    window = np.ones(taps)
    window[taps - fade:] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(fade) + 1) / fade)
    filters = filters[:, :taps] * window[:, None]
    return BinauralDecoder(filters=np.ascontiguousarray(filters.transpose(0, 2, 1), np.float32), order=order,
                           normalization=normalization, method=method,
                           cutoff_hz=float(cutoff_hz) if method == "magls" else None,
                           sample_rate=hrtf.sample_rate)


@dataclass(frozen=True)
class AmbisonicOptions:
    """Options of :class:`AmbisonicRenderer`."""

    #: Ambisonic order, 1..5
    order: int = 3
    #: "sn3d" or "n3d" (the decoder is fitted in the same one, so the output does not depend on it)
    normalization: str = "sn3d"
    #: binaural decoder: "magls" or "ls"
    decoder: str = "magls"
    #: MagLS crossover, Hz
    cutoff_hz: float = 2000.0
    #: distance at which gain is 1, metres
    reference_distance_m: float = 1.0
    #: gain is clamped as if the source were no nearer than this, metres
    near_distance_m: float = 0.25

    def __post_init__(self) -> None:
        order = _check_order(self.order)
        if order < 1:
            raise ParameterError("order is 0; expected 1..5")
        if self.normalization not in NORMALIZATIONS:
            raise ParameterError(f"normalization is {self.normalization!r}; expected one of {', '.join(NORMALIZATIONS)}")
        if self.decoder not in DECODERS:
            raise ParameterError(f"decoder is {self.decoder!r}; expected one of {', '.join(DECODERS)}")
        if not 0 < self.near_distance_m <= self.reference_distance_m:
            raise ParameterError("expected 0 < near_distance_m <= reference_distance_m; got "
                                 f"{self.near_distance_m}, {self.reference_distance_m}")

    def to_dict(self) -> dict:
        """The options as a JSON-able dict."""
        return asdict(self)


class AmbisonicRenderer:
    """Render point sources through an Ambisonic bus to two ears, block by block.

    Sources are encoded to ``(order + 1)^2`` SH channels (gains glide linearly over a
    block when a source moves), the bus is rotated once per block for the listener's head
    (the rotation matrix glides over the block when the head turns) and decoded with a
    binaural decoder fitted to the HRTF set (uniformly partitioned overlap-save).

    Parameters
    ----------
    hrtf : HRTF
        Resampled to ``sample_rate`` if its rate differs.
    sample_rate : int
    block_size : int
    options : AmbisonicOptions, optional

    Examples
    --------
    >>> renderer = AmbisonicRenderer(HRTF.spherical_head(48000), 48000, block_size=256)
    >>> source = renderer.add_source(azimuth_deg=30.0, elevation_deg=0.0)
    >>> renderer.process(np.zeros((1, 256), np.float32)).shape
    (2, 256)
    """

    def __init__(self, hrtf: HRTF, sample_rate: int, *, block_size: int = 512,
                 options: AmbisonicOptions | None = None) -> None:
        from .renderer import _fft_size

        self.sample_rate, self.block_size = check_renderer_setup(hrtf, sample_rate, block_size)
        b = self.block_size
        self.options = options or AmbisonicOptions()
        self.hrtf = hrtf.resampled(self.sample_rate)
        o = self.options
        self.decoder = binaural_decoder(self.hrtf, o.order, method=o.decoder, cutoff_hz=o.cutoff_hz,
                                        normalization=o.normalization)
        self.channels = (o.order + 1) ** 2
        taps = self.decoder.filters.shape[2]
        self._fft_size = m = _fft_size(2 * b)
        self._bins = m // 2 + 1
        self._parts = parts = math.ceil(taps / b)
        padded = np.zeros((2, self.channels, parts * b))
        padded[..., :taps] = self.decoder.filters
        frames = np.zeros((2, self.channels, parts, m))
        frames[..., :b] = padded.reshape(2, self.channels, parts, b)
        spectra = np.fft.rfft(frames, axis=-1)                     # (2, C, K, F)
        # the accumulate kernel's layout: [source (= SH channel), buffer, ear, partition, bin]
        shape = (self.channels, 2, 2, parts, self._bins)
        self._filt_re = np.zeros(shape, np.float32)
        self._filt_im = np.zeros(shape, np.float32)
        self._filt_re[:, 0] = spectra.real.transpose(1, 0, 2, 3)
        self._filt_im[:, 0] = spectra.imag.transpose(1, 0, 2, 3)
        self._slot = np.zeros(self.channels, np.int64)
        self._changed = np.zeros(self.channels, np.bool_)
        self._fdl_re = np.zeros((self.channels, parts, self._bins), np.float32)
        self._fdl_im = np.zeros_like(self._fdl_re)
        self._frames = np.zeros((self.channels, m), np.float32)
        self._acc = np.zeros((12, self._bins), np.float32)
        self._head = 0
        self._ramp = (np.arange(1, b + 1) / b).astype(np.float32)
        self._ids: list[int] = []
        self._lookup: dict[int, int] | None = None                 # source id -> row, rebuilt when needed
        self._next_id = 0
        self._positions = np.zeros((0, 4))                         # azimuth, elevation, distance, gain
        self._gains_now = np.zeros((0, self.channels), np.float32)
        self._gains_next = np.zeros((0, self.channels), np.float32)
        self._moved = False
        self._orientation: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._rotation_now = np.eye(self.channels, dtype=np.float32)
        self._rotation_next = self._rotation_now
        self._turned = False

    @property
    def num_sources(self) -> int:
        """Number of live sources."""
        return len(self._ids)

    @property
    def source_ids(self) -> list[int]:
        """Ids of the live sources, in the row order :meth:`process` expects."""
        return list(self._ids)

    @property
    def tail_frames(self) -> int:
        """Frames of output after the last input (the decoder filters' length less one)."""
        return int(self.decoder.filters.shape[2] - 1)

    def _encode(self, positions: np.ndarray) -> np.ndarray:
        o = self.options
        gains = positions[:, 3] * o.reference_distance_m / np.maximum(positions[:, 2], o.near_distance_m)
        return (sh_matrix(o.order, positions[:, 0], positions[:, 1], normalization=o.normalization)
                * gains[:, None]).astype(np.float32)

    def _check(self, azimuth: float | np.ndarray, elevation: float | np.ndarray, distance: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = []
        for name, value in (("azimuth_deg", azimuth), ("elevation_deg", elevation), ("distance_m", distance)):
            array = np.atleast_1d(np.asarray(value))
            if array.dtype.kind not in "iuf" or not np.isfinite(array).all():
                raise ParameterError(f"{name} is {value!r}; expected finite numbers")
            out.append(array.astype(np.float64))
        if (np.abs(out[1]) > 90).any():
            raise ParameterError(f"elevation_deg is {elevation!r}; expected -90..90")
        if (out[2] <= 0).any():
            raise ParameterError(f"distance_m is {distance!r}; expected > 0")
        return out[0], out[1], out[2]

    def add_source(self, *, azimuth_deg: float, elevation_deg: float, distance_m: float = 1.0,
                   gain: float = 1.0) -> int:
        """Add a point source (call between blocks); returns its id."""
        az, el, dist = self._check(azimuth_deg, elevation_deg, distance_m)
        if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not math.isfinite(gain):
            raise ParameterError(f"gain is {gain!r}; expected a finite number")
        position = np.array([[az[0], el[0], dist[0], gain]])
        encoded = self._encode(position)
        self._positions = np.concatenate([self._positions, position])
        self._gains_now = np.concatenate([self._gains_now, encoded])
        self._gains_next = np.concatenate([self._gains_next, encoded])
        self._ids.append(self._next_id)
        self._lookup = None
        self._next_id += 1
        return self._ids[-1]

    def _rows(self, source_ids: Iterable[int]) -> np.ndarray:
        if self._lookup is None:
            self._lookup = {source: row for row, source in enumerate(self._ids)}
        try:
            return np.fromiter(map(self._lookup.__getitem__, source_ids), np.int64)
        except (KeyError, TypeError):
            raise ParameterError(f"source_ids {list(source_ids)!r} include an id that is not a live source") from None

    def move_sources(self, source_ids: Iterable[int], *, azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray,
                     distance_m: float | np.ndarray | None = None) -> None:
        """Give sources new positions, reached at the end of the next block (gains glide)."""
        rows = self._rows(source_ids)
        distance = self._positions[rows, 2] if distance_m is None else distance_m
        az, el, dist = self._check(azimuth_deg, elevation_deg, distance)
        self._positions[rows, 0] = az
        self._positions[rows, 1] = el
        self._positions[rows, 2] = dist
        self._gains_next[rows] = self._encode(self._positions[rows])
        self._moved = True

    def remove_source(self, source_id: int) -> None:
        """Remove a source between blocks."""
        row = self._rows([source_id])[0]
        del self._ids[row]
        self._lookup = None
        for name in ("_positions", "_gains_now", "_gains_next"):
            setattr(self, name, np.delete(getattr(self, name), row, axis=0))

    def set_listener(self, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> None:
        """Turn the head (reached at the end of the next block; the bus rotation glides)."""
        orientation = (yaw_deg, pitch_deg, roll_deg)
        if orientation != self._orientation:
            self._rotation_next = rotation_matrix(self.options.order, yaw_deg=yaw_deg, pitch_deg=pitch_deg,
                                                  roll_deg=roll_deg,
                                                  normalization=self.options.normalization).astype(np.float32)
            self._orientation = (float(yaw_deg), float(pitch_deg), float(roll_deg))
            self._turned = True

    def process(self, blocks: np.ndarray) -> np.ndarray:
        """Render one block.

        Parameters
        ----------
        blocks : np.ndarray [shape=(num_sources, block_size), dtype=float32]

        Returns
        -------
        np.ndarray [shape=(2, block_size), dtype=float32]
        """
        from scipy import fft

        from ._kernels import accumulate

        b, m = self.block_size, self._fft_size
        blocks = check_blocks(blocks, self.num_sources, b)
        bus = self._gains_now.T @ blocks                            # (C, B)
        if self._moved:
            bus += (self._gains_next - self._gains_now).T @ (blocks * self._ramp)
            self._gains_now = self._gains_next.copy()
            self._moved = False
        if self._turned:
            bus = self._rotation_now @ bus + (self._rotation_next - self._rotation_now) @ bus * self._ramp
            self._rotation_now = self._rotation_next
            self._turned = False
        elif self._orientation != (0.0, 0.0, 0.0):
            bus = self._rotation_now @ bus
        self._frames[:, :m - b] = self._frames[:, b:]
        self._frames[:, m - b:] = bus
        spectra = fft.rfft(self._frames, axis=-1, workers=1)
        self._head = (self._head + 1) % self._parts
        acc = self._acc
        acc[:] = 0.0
        accumulate(np.ascontiguousarray(spectra.astype(np.complex64)).view(np.float32), self._fdl_re,
                   self._fdl_im, self._head, self._filt_re, self._filt_im, self._slot, self._changed, acc)
        total = np.empty((2, self._bins), np.complex64)
        total.real = acc[0:4:2]
        total.imag = acc[1:4:2]
        return np.ascontiguousarray(fft.irfft(total, n=m, axis=-1, workers=1)[:, m - b:], dtype=np.float32)

    def flush(self) -> np.ndarray:
        """Render the tail after the last input block (silent input), whole blocks."""
        count = math.ceil(self.tail_frames / self.block_size)
        silence = np.zeros((self.num_sources, self.block_size), np.float32)
        return (np.concatenate([self.process(silence) for _ in range(count)], axis=1) if count
                else np.zeros((2, 0), np.float32))

    def to_dict(self) -> dict:
        """Configuration summary (JSON-able)."""
        return {"sample_rate": self.sample_rate, "block_size": self.block_size, "channels": self.channels,
                "fft_size": self._fft_size, "partitions": self._parts, "num_sources": self.num_sources,
                "options": self.options.to_dict(), "decoder": self.decoder.to_dict()}


#: How :class:`HybridRenderer` picks the sources it renders direct.
SELECTIONS = ("loudest", "nearest")


class HybridRenderer:
    """The K nearest or loudest sources rendered direct, the rest through an Ambisonic bus.

    Every block, the ``direct_sources`` sources with the highest block energy at the ear
    (``"loudest"``: input energy times the distance gain squared) or the smallest distance
    (``"nearest"``) are rendered by a :class:`BinauralRenderer` (exact HRIRs), the others by an
    :class:`AmbisonicRenderer`. A source that changes path is crossfaded over one block
    (its input fades out of one path and into the other, raised cosine); a source leaving the
    direct renderer stays there, fed silence, until its HRIR tail has played, and is then
    removed. So the output is exactly the direct renderer fed ``w x`` plus the bus fed
    ``(1 - w) x``, with ``w`` each source's direct weight.

    Parameters
    ----------
    hrtf : HRTF
    sample_rate : int
    block_size : int
    direct_sources : int
        K, at least 0.
    select : {"loudest", "nearest"}
    options : AmbisonicOptions, optional
        The bus.
    direct_options : RendererOptions, optional
        The direct renderer (its propagation delay is turned off, as the bus has none, so
        that both paths stay aligned).
    """

    def __init__(self, hrtf: HRTF, sample_rate: int, *, block_size: int = 512, direct_sources: int = 8,
                 select: str = "loudest", options: AmbisonicOptions | None = None,
                 direct_options: RendererOptions | None = None) -> None:
        from dataclasses import replace

        from .renderer import BinauralRenderer, RendererOptions

        if isinstance(direct_sources, bool) or not isinstance(direct_sources, (int, np.integer)) \
                or direct_sources < 0:
            raise ParameterError(f"direct_sources is {direct_sources!r}; expected an integer >= 0")
        if select not in SELECTIONS:
            raise ParameterError(f"select is {select!r}; expected one of {', '.join(SELECTIONS)}")
        self.bus = AmbisonicRenderer(hrtf, sample_rate, block_size=block_size, options=options)
        direct_options = replace(direct_options or RendererOptions(), propagation_delay=False,
                                 reference_distance_m=self.bus.options.reference_distance_m,
                                 near_distance_m=self.bus.options.near_distance_m)
        self.direct = BinauralRenderer(self.bus.hrtf, sample_rate, block_size=block_size, options=direct_options)
        self.block_size = self.bus.block_size
        self.sample_rate = self.bus.sample_rate
        self.direct_sources = int(direct_sources)
        self.select = select
        self._fade = (0.5 - 0.5 * np.cos(np.pi * np.arange(1, self.block_size + 1) / self.block_size)).astype(np.float32)
        self._ringing = math.ceil(self.direct.tail_frames / self.block_size) + 1
        self._weight: dict[int, float] = {}          # source id -> direct weight at the end of the last block
        self._slot: dict[int, int] = {}              # source id -> its id in the direct renderer
        self._silent: dict[int, int] = {}           # direct id of a departed source -> blocks of tail left
        self._position: dict[int, tuple[float, float, float, float]] = {}
        # rows of the direct sources in the bus's and the direct renderer's input while no
        # source changes path (None: recompute on the next block)
        self._steady: tuple[frozenset, np.ndarray, np.ndarray] | None = None

    @property
    def num_sources(self) -> int:
        """Number of live sources."""
        return self.bus.num_sources

    @property
    def source_ids(self) -> list[int]:
        """Ids of the live sources, in the row order :meth:`process` expects."""
        return self.bus.source_ids

    @property
    def direct_ids(self) -> list[int]:
        """Sources rendered direct in the last block."""
        return sorted(s for s, w in self._weight.items() if w == 1.0)

    @property
    def tail_frames(self) -> int:
        """Frames of output after the last input."""
        return max(self.bus.tail_frames, self.direct.tail_frames)

    def add_source(self, *, azimuth_deg: float, elevation_deg: float, distance_m: float = 1.0,
                   gain: float = 1.0) -> int:
        """Add a point source; it joins a path at the next block."""
        source = self.bus.add_source(azimuth_deg=azimuth_deg, elevation_deg=elevation_deg,
                                     distance_m=distance_m, gain=gain)
        self._weight[source] = -1.0                  # new: takes its path without a crossfade
        self._steady = None
        self._position[source] = (float(azimuth_deg), float(elevation_deg), float(distance_m), float(gain))
        return source

    def move_sources(self, source_ids: Iterable[int], *, azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray,
                     distance_m: float | np.ndarray | None = None) -> None:
        """Give sources new positions, reached at the end of the next block."""
        ids = list(source_ids)
        self.bus.move_sources(ids, azimuth_deg=azimuth_deg, elevation_deg=elevation_deg, distance_m=distance_m)
        rows = self.bus._rows(ids)
        for source, row in zip(ids, rows):
            az, el, dist = self.bus._positions[row, :3]
            self._position[source] = (float(az), float(el), float(dist), self._position[source][3])
            if source in self._slot:
                self.direct.move_source(self._slot[source], azimuth_deg=float(az) % 360.0,
                                        elevation_deg=float(el), distance_m=float(dist))

    def remove_source(self, source_id: int) -> None:
        """Remove a source between blocks (its unplayed tail is dropped)."""
        self.bus.remove_source(source_id)
        if source_id in self._slot:
            self.direct.remove_source(self._slot.pop(source_id))
        del self._weight[source_id]
        del self._position[source_id]
        self._steady = None

    def set_listener(self, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> None:
        """Turn the head (both paths)."""
        self.bus.set_listener(yaw_deg=yaw_deg, pitch_deg=pitch_deg)
        self.direct.set_listener(yaw_deg=yaw_deg, pitch_deg=pitch_deg)

    def _chosen(self, blocks: np.ndarray) -> set[int]:
        ids = self.bus.source_ids
        k = min(self.direct_sources, len(ids))
        if k == 0:
            return set()
        positions = self.bus._positions
        options = self.bus.options
        if self.select == "nearest":
            score = -positions[:, 2]
        else:
            gain = positions[:, 3] * options.reference_distance_m / np.maximum(positions[:, 2], options.near_distance_m)
            score = np.einsum("sb,sb->s", blocks, blocks, dtype=np.float64) * gain ** 2
        order = np.argsort(-score, kind="stable")
        return {ids[row] for row in order[:k]}

    def process(self, blocks: np.ndarray) -> np.ndarray:
        """Render one block.

        Parameters
        ----------
        blocks : np.ndarray [shape=(num_sources, block_size), dtype=float32]

        Returns
        -------
        np.ndarray [shape=(2, block_size), dtype=float32]
        """
        blocks = check_blocks(blocks, self.num_sources, self.block_size)
        chosen = self._chosen(blocks)
        steady = self._steady
        if steady is not None and steady[0] == chosen and not self._silent:
            # nobody changes path: direct rows go to the direct renderer, the rest to the bus
            bus_in = blocks.copy()
            bus_in[steady[1]] = 0.0
            direct_in = np.zeros((self.direct.num_sources, self.block_size), np.float32)
            direct_in[steady[2]] = blocks[steady[1]]
            return self.bus.process(bus_in) + self.direct.process(direct_in)
        ones = np.ones(self.block_size, np.float32)
        weights = {}                                 # source id -> direct weight over this block
        for source in self.bus.source_ids:
            before, after = self._weight[source], 1.0 if source in chosen else 0.0
            if before < 0:                            # new source: no crossfade
                before = after
            weights[source] = (ones * after if before == after
                               else self._fade if after else 1.0 - self._fade)
            if after and source not in self._slot:
                az, el, dist, gain = self._position[source]
                self._slot[source] = self.direct.add_source(azimuth_deg=az % 360.0, elevation_deg=el,
                                                            distance_m=dist, gain=gain)
            self._weight[source] = after
        rows = {source: row for row, source in enumerate(self.bus.source_ids)}
        bus_in = np.empty_like(blocks)
        for source, row in rows.items():
            bus_in[row] = blocks[row] * (1.0 - weights[source])
        direct_in = np.zeros((self.direct.num_sources, self.block_size), np.float32)
        direct_rows = {direct: row for row, direct in enumerate(self.direct.source_ids)}
        for source, direct in self._slot.items():
            direct_in[direct_rows[direct]] = blocks[rows[source]] * weights[source]
        out = self.bus.process(bus_in) + self.direct.process(direct_in)
        # departed sources ring out in the direct renderer, then leave it
        for source in [s for s in self._slot if self._weight[s] == 0.0]:
            self._silent[self._slot.pop(source)] = self._ringing
        for direct in list(self._silent):
            self._silent[direct] -= 1
            if self._silent[direct] <= 0:
                del self._silent[direct]
                self.direct.remove_source(direct)
        if all(w in (0.0, 1.0) for w in self._weight.values()):
            direct_rows = {direct: row for row, direct in enumerate(self.direct.source_ids)}
            ordered = sorted(self._slot)
            self._steady = (frozenset(ordered), np.array([rows[s] for s in ordered], np.int64),
                            np.array([direct_rows[self._slot[s]] for s in ordered], np.int64))
        else:
            self._steady = None
        return out

    def flush(self) -> np.ndarray:
        """Render the tail after the last input block (silent input), whole blocks."""
        count = math.ceil(self.tail_frames / self.block_size)
        silence = np.zeros((self.num_sources, self.block_size), np.float32)
        return (np.concatenate([self.process(silence) for _ in range(count)], axis=1) if count
                else np.zeros((2, 0), np.float32))
