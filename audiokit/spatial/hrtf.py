"""HRTF sets: measured (SOFA) or analytic (spherical head), and their interpolation.

Every set is stored split into a broadband per-ear delay and an onset-aligned IR,
so that interpolation does not comb (the delays of neighbouring directions differ
by several samples; averaging unaligned IRs would notch the spectrum):

``h[m, ear] = shift(aligned[m, ear], delays_samples[m, ear]) + prefix[m, ear]``

- ``delays_samples``: the onset (first sample within ``ONSET_THRESHOLD_DB`` of the
  ear's peak) less ``ONSET_MARGIN`` samples, plus SOFA's ``Data.Delay``;
- ``aligned``: the IR from that sample on;
- ``prefix``: the samples before it (the measurement's noise floor; kept so that
  :meth:`HRTF.ir` returns a measured IR exactly; the renderer leaves it out).

Interpolation at a direction: barycentric weights on the convex-hull
triangulation of the measurement directions (or the nearest one), applied to
the aligned IRs, the delays and the prefixes separately. The delay is applied
with a cubic Lagrange fractional delay, which is an exact shift at integer
delays, so a measured direction gives back its measured IR bit for bit.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._arrays import check_sample_rate
from ..errors import ParameterError
from .interpolation import METHODS, Triangulation, nearest_index, spherical_to_cartesian
from .spherical_head import DEFAULT_HEAD_RADIUS_M, spherical_head_set

__all__ = [
    "SPHERICAL_HEAD",
    "ONSET_THRESHOLD_DB",
    "ONSET_MARGIN",
    "HRTF",
    "lagrange_weights",
    "fractional_delay",
]

#: An ear's onset is the first sample within this many dB of its peak.
ONSET_THRESHOLD_DB = -20.0
#: The aligned IR starts this many samples before the onset (keeps the rising edge).
ONSET_MARGIN = 3
#: Rows per call to the resampler (it takes at most 64 channels at a time).
_RESAMPLE_ROWS = 64


def lagrange_weights(delay_samples: float) -> tuple[int, np.ndarray]:
    """Cubic Lagrange fractional-delay taps (Laakso et al. 1996, eq. 42).

    ``y[n] = sum_k w[k] x[n - first - k]`` for ``k = 0..3``. The four nodes are
    centred on the delay (``first = floor(d) - 1``) except below one sample,
    where they are ``0..3`` so the filter stays causal. At an integer delay the
    taps are a unit impulse: an exact shift.

    Returns
    -------
    first : int
    weights : np.ndarray [shape=(4,), dtype=float64]
    """
    whole = int(np.floor(delay_samples))
    frac = delay_samples - whole
    weights = np.zeros(4)
    if frac == 0.0:
        if whole == 0:
            weights[0] = 1.0
            return 0, weights
        weights[1] = 1.0
        return whole - 1, weights
    first = whole - 1 if whole >= 1 else 0
    u = delay_samples - first
    weights[0] = -(u - 1) * (u - 2) * (u - 3) / 6.0
    weights[1] = u * (u - 2) * (u - 3) / 2.0
    weights[2] = -u * (u - 1) * (u - 3) / 2.0
    weights[3] = u * (u - 1) * (u - 2) / 6.0
    return first, weights


def fractional_delay(signal: np.ndarray, delay_samples: float, length: int) -> np.ndarray:
    """Delay a 1-D signal by a fractional number of samples (cubic Lagrange).

    Parameters
    ----------
    signal : np.ndarray [shape=(n,)]
    delay_samples : float
        >= 0.
    length : int
        Length of the result (truncated or zero-padded).

    Returns
    -------
    np.ndarray [shape=(length,), dtype=float64]
    """
    first, weights = lagrange_weights(delay_samples)
    out = np.zeros(length + 4)
    for k in range(4):
        if weights[k] == 0.0:
            continue
        start = first + k
        if start >= length:
            continue
        count = min(len(signal), length - start)
        out[start:start + count] += weights[k] * signal[:count]
    return out[:length]


def _split_onsets(irs: np.ndarray) -> np.ndarray:
    """Integer start of each aligned IR, shape (m, 2) (see module docstring)."""
    magnitude = np.abs(irs)
    peak = magnitude.max(axis=-1, keepdims=True)
    threshold = peak * 10.0 ** (ONSET_THRESHOLD_DB / 20.0)
    onset = np.argmax((magnitude >= threshold) & (peak > 0), axis=-1)
    return np.maximum(onset - ONSET_MARGIN, 0)


#: The name that selects the embedded analytic HRTF wherever a SOFA path may be given.
SPHERICAL_HEAD = "spherical-head"


@dataclass(frozen=True, eq=False)
class HRTF:
    """A head-related transfer function set, split into delays and aligned IRs.

    Build one with :meth:`from_sofa`, :meth:`spherical_head` or :meth:`from_irs`.
    Directions follow SOFA: azimuth counter-clockwise (90° = left), elevation up.

    Examples
    --------
    >>> hrtf = HRTF.spherical_head(48000)
    >>> hrtf.ir(30.0, 0.0).shape[0]
    2
    """

    #: measurement directions, shape (m, 2): azimuth_deg, elevation_deg
    directions_deg: np.ndarray
    #: onset-aligned IRs, shape (m, 2, aligned_taps), float32; ear 0 = left
    aligned: np.ndarray
    #: broadband delay of each aligned IR, samples, shape (m, 2), float64
    delays_samples: np.ndarray
    #: samples before each aligned IR's start, shape (m, 2, prefix_taps), float32
    prefix: np.ndarray
    #: length of the IRs :meth:`ir` returns (the measured length), samples
    num_taps: int
    #: sample rate of the IRs, Hz
    sample_rate: int
    #: where the set came from: {"kind": "sofa", "path": ...} or {"kind": "spherical-head", ...}
    origin: dict = field(default_factory=dict)

    # ----------------------------------------------------------------- builders
    @classmethod
    def from_irs(cls, irs: np.ndarray, directions_deg: np.ndarray, sample_rate: int, *,
                 delays_samples: np.ndarray | None = None,
                 origin: dict | None = None) -> "HRTF":
        """Split measured IRs into delays and aligned IRs.

        Parameters
        ----------
        irs : np.ndarray [shape=(m, 2, taps)]
            Ear 0 = left.
        directions_deg : np.ndarray [shape=(m, 2)]
            Azimuth and elevation, degrees, SOFA convention.
        sample_rate : int
        delays_samples : np.ndarray [shape=(m, 2)], optional
            Extra broadband delays (SOFA's ``Data.Delay``), samples.
        """
        sample_rate = check_sample_rate(sample_rate)
        irs = np.asarray(irs, dtype=np.float32)
        directions = np.asarray(directions_deg, dtype=np.float64)
        if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[0] == 0 or irs.shape[2] == 0:
            raise ParameterError(f"irs has shape {irs.shape}; expected (measurements, 2, taps)")
        if directions.shape != (irs.shape[0], 2):
            raise ParameterError(
                f"directions_deg has shape {directions.shape}; expected ({irs.shape[0]}, 2)"
            )
        if not np.isfinite(irs).all():
            raise ParameterError("irs contains NaN or infinite values")
        m, _, taps = irs.shape
        starts = _split_onsets(irs)
        aligned = np.zeros((m, 2, taps - int(starts.min())), np.float32)
        prefix = np.zeros((m, 2, max(1, int(starts.max()))), np.float32)
        for i in range(m):
            for ear in range(2):
                s = int(starts[i, ear])
                aligned[i, ear, :taps - s] = irs[i, ear, s:]
                prefix[i, ear, :s] = irs[i, ear, :s]
        delays = starts.astype(np.float64)
        if delays_samples is not None:
            delays = delays + np.broadcast_to(np.asarray(delays_samples, np.float64), (m, 2))
        return cls(directions_deg=directions, aligned=aligned, delays_samples=delays,
                   prefix=prefix, num_taps=int(taps), sample_rate=sample_rate,
                   origin=dict(origin or {"kind": "arrays"}))

    @classmethod
    def from_sofa(cls, path: str | os.PathLike[str], *, sample_rate: int | None = None) -> "HRTF":
        """Load a SimpleFreeFieldHRIR SOFA file (AES69 1.0 or 2.x).

        Parameters
        ----------
        path : str or os.PathLike
        sample_rate : int, optional
            Resample the IRs to this rate (default: the file's rate).

        Raises
        ------
        FormatError
            Naming the SOFA variable or attribute at fault.

        Examples
        --------
        >>> hrtf = HRTF.from_sofa("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
        >>> hrtf.num_directions, hrtf.num_taps, hrtf.sample_rate
        (710, 512, 44100)
        """
        from .._files import file_sha256
        from .sofa import read_sofa

        data = read_sofa(path)
        origin = {"kind": "sofa", "path": str(Path(path)), "sha256": file_sha256(path),
                  **{k: v for k, v in data.to_dict().items() if k in ("convention", "database", "listener")},
                  "distance_m": float(np.median(data.positions[:, 2]))}
        hrtf = cls.from_irs(data.irs, data.positions[:, :2], data.sample_rate,
                            delays_samples=data.delays_samples, origin=origin)
        if sample_rate is not None:
            hrtf = hrtf.resampled(sample_rate)
        return hrtf

    @classmethod
    def load(cls, source: str | None, *, sample_rate: int) -> "HRTF":
        """The HRTF named by ``source``: :data:`SPHERICAL_HEAD` (or None) or a SOFA file path, at ``sample_rate``.

        Examples
        --------
        >>> HRTF.load("spherical-head", sample_rate=48000).sample_rate
        48000
        """
        if source is None or source == SPHERICAL_HEAD:
            return cls.spherical_head(sample_rate)
        return cls.from_sofa(source, sample_rate=sample_rate)

    @classmethod
    def spherical_head(cls, sample_rate: int, *, head_radius_m: float = DEFAULT_HEAD_RADIUS_M) -> "HRTF":
        """The embedded analytic HRTF: Brown & Duda (1998) head shadow + Woodworth ITD.

        Sampled on a 5° grid (about 1650 directions); needs no data.

        Parameters
        ----------
        sample_rate : int
        head_radius_m : float
            Sphere radius, metres (default 0.0875, Brown & Duda's average head).
        """
        sample_rate = check_sample_rate(sample_rate)
        if not (0.01 <= head_radius_m <= 1.0):
            raise ParameterError(f"head_radius_m is {head_radius_m}; expected 0.01..1.0 metres")
        model = spherical_head_set(sample_rate, head_radius_m=head_radius_m)
        aligned = model["aligned"]
        delays = model["delays_samples"]
        taps = aligned.shape[2] + int(np.ceil(delays.max())) + 4
        return cls(directions_deg=model["directions_deg"], aligned=aligned, delays_samples=delays,
                   prefix=np.zeros((len(aligned), 2, 1), np.float32), num_taps=taps,
                   sample_rate=sample_rate,
                   origin={"kind": SPHERICAL_HEAD, "head_radius_m": float(head_radius_m)})

    def resampled(self, sample_rate: int) -> "HRTF":
        """The same set at another sample rate (the spherical head is rebuilt analytically).

        Measured IRs go through :func:`audiokit.io.resample.resample` and are split again.
        """
        sample_rate = check_sample_rate(sample_rate)
        if sample_rate == self.sample_rate:
            return self
        if self.origin.get("kind") == SPHERICAL_HEAD:
            return HRTF.spherical_head(sample_rate, head_radius_m=self.origin["head_radius_m"])
        from ..io.resample import resample

        irs = self.measured_irs().reshape(-1, self.num_taps)
        rows = [resample(irs[i:i + _RESAMPLE_ROWS], self.sample_rate, sample_rate)
                for i in range(0, len(irs), _RESAMPLE_ROWS)]
        out = np.concatenate(rows).reshape(self.num_directions, 2, -1)
        return HRTF.from_irs(out, self.directions_deg, sample_rate,
                             origin={**self.origin, "resampled_from": self.sample_rate})

    # ---------------------------------------------------------------- queries
    @property
    def num_directions(self) -> int:
        """Number of measured directions."""
        return int(self.directions_deg.shape[0])

    @property
    def aligned_taps(self) -> int:
        """Length of the aligned IRs the renderer convolves with."""
        return int(self.aligned.shape[2])

    @functools.cached_property
    def _points(self) -> np.ndarray:
        return spherical_to_cartesian(self.directions_deg[:, 0], self.directions_deg[:, 1])

    @functools.cached_property
    def triangulation(self) -> Triangulation:
        """The convex-hull triangulation of the measurement directions (built on first use)."""
        return Triangulation(self.directions_deg)

    def weights(self, azimuth_deg: float, elevation_deg: float, *,
                method: str = "barycentric") -> tuple[np.ndarray, np.ndarray]:
        """Measurement indices and interpolation weights for a direction.

        Returns
        -------
        indices : np.ndarray [shape=(3,), dtype=int64]
        weights : np.ndarray [shape=(3,), dtype=float64]
            Sum to 1; ``method="nearest"`` gives ``(1, 0, 0)``.
        """
        _check_direction(azimuth_deg, elevation_deg)
        if method == "barycentric":
            return self.triangulation.weights(float(azimuth_deg), float(elevation_deg))
        if method == "nearest":
            index = nearest_index(self._points, float(azimuth_deg), float(elevation_deg))
            return np.full(3, index, np.int64), np.array([1.0, 0.0, 0.0])
        raise ParameterError(f"method is {method!r}; expected one of {', '.join(METHODS)}")

    def weights_many(self, azimuth_deg: np.ndarray, elevation_deg: np.ndarray, *,
                     method: str = "barycentric", start: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`weights` for many directions at once (validated by the caller).

        Parameters
        ----------
        azimuth_deg, elevation_deg : np.ndarray [shape=(q,)]
        method : {"barycentric", "nearest"}
        start : np.ndarray [shape=(q,), dtype=int64], optional
            Barycentric only: triangles to start the search from (the previous
            ones of moving sources), overwritten with the containing triangles.

        Returns
        -------
        indices : np.ndarray [shape=(q, 3), dtype=int64]
        weights : np.ndarray [shape=(q, 3), dtype=float64]
        """
        azimuth_deg = np.asarray(azimuth_deg, np.float64)
        elevation_deg = np.asarray(elevation_deg, np.float64)
        if method == "barycentric":
            return self.triangulation.weights(azimuth_deg, elevation_deg, start=start)
        if method == "nearest":
            index = nearest_index(self._points, azimuth_deg, elevation_deg)
            weights = np.zeros((len(index), 3))
            weights[:, 0] = 1.0
            return np.repeat(index[:, np.newaxis], 3, axis=1), weights
        raise ParameterError(f"method is {method!r}; expected one of {', '.join(METHODS)}")

    def split(self, azimuth_deg: float, elevation_deg: float, *,
              method: str = "barycentric") -> tuple[np.ndarray, np.ndarray]:
        """Interpolated aligned IR pair and per-ear delays (what the renderer uses).

        Returns
        -------
        aligned : np.ndarray [shape=(2, aligned_taps), dtype=float32]
        delays_samples : np.ndarray [shape=(2,), dtype=float64]
        """
        indices, weights = self.weights(azimuth_deg, elevation_deg, method=method)
        aligned = np.einsum("k,ket->et", weights, self.aligned[indices].astype(np.float64))
        delays = weights @ self.delays_samples[indices]
        return aligned.astype(np.float32), delays

    def ir(self, azimuth_deg: float, elevation_deg: float, *,
           method: str = "barycentric") -> np.ndarray:
        """The HRIR pair for a direction.

        Parameters
        ----------
        azimuth_deg : float
            Counter-clockwise from the front, 90 = left.
        elevation_deg : float
            -90..90, up positive.
        method : {"barycentric", "nearest"}

        Returns
        -------
        np.ndarray [shape=(2, num_taps), dtype=float32]
            Left, right. Exactly the measured IR at a measured direction.

        Examples
        --------
        >>> hrtf = HRTF.spherical_head(44100)
        >>> left, right = hrtf.ir(90.0, 0.0)
        >>> bool(abs(left).max() > abs(right).max())
        True
        """
        indices, weights = self.weights(azimuth_deg, elevation_deg, method=method)
        aligned = np.einsum("k,ket->et", weights, self.aligned[indices].astype(np.float64))
        delays = weights @ self.delays_samples[indices]
        prefix = np.einsum("k,ket->et", weights, self.prefix[indices].astype(np.float64))
        out = np.zeros((2, self.num_taps))
        for ear in range(2):
            out[ear] = fractional_delay(aligned[ear], float(delays[ear]), self.num_taps)
            width = min(prefix.shape[1], self.num_taps)
            out[ear, :width] += prefix[ear, :width]
        return out.astype(np.float32)

    def itd_s(self, azimuth_deg: float, elevation_deg: float, *, method: str = "barycentric") -> float:
        """Interaural time difference ``(delay_right - delay_left) / sample_rate``, seconds.

        Positive when the left ear hears the source first (sources on the left).
        """
        _, delays = self.split(azimuth_deg, elevation_deg, method=method)
        return float(delays[1] - delays[0]) / self.sample_rate

    def measured_irs(self) -> np.ndarray:
        """Every measured IR, reassembled, shape (m, 2, num_taps), float32."""
        out = np.zeros((self.num_directions, 2, self.num_taps))
        width = min(self.prefix.shape[2], self.num_taps)
        for i in range(self.num_directions):
            for ear in range(2):
                out[i, ear] = fractional_delay(self.aligned[i, ear].astype(np.float64),
                                               float(self.delays_samples[i, ear]), self.num_taps)
                out[i, ear, :width] += self.prefix[i, ear, :width]
        return out.astype(np.float32)

    def to_dict(self) -> dict:
        """A JSON-able summary (no arrays)."""
        return {
            "origin": self.origin,
            "num_directions": self.num_directions,
            "num_taps": self.num_taps,
            "aligned_taps": self.aligned_taps,
            "sample_rate": self.sample_rate,
            "elevation_range_deg": [float(self.directions_deg[:, 1].min()),
                                    float(self.directions_deg[:, 1].max())],
            "max_itd_us": float(np.abs(self.delays_samples[:, 1] - self.delays_samples[:, 0]).max()
                                / self.sample_rate * 1e6),
        }


def _check_direction(azimuth_deg: float, elevation_deg: float) -> None:
    for name, value in (("azimuth_deg", azimuth_deg), ("elevation_deg", elevation_deg)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value):
            raise ParameterError(f"{name} is {value!r}; expected a finite number of degrees")
    if not -90.0 <= float(elevation_deg) <= 90.0:
        raise ParameterError(f"elevation_deg is {elevation_deg}; expected -90..90")
