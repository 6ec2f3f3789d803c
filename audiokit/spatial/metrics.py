"""Accuracy of binaural rendering against measured HRIRs: ITD, ILD and log-spectral distance.

The metrics compare HRIR pairs (an estimate against a reference, e.g. what the
renderer produces for an impulse at a direction against the measured pair):

- ITD: the lag of the maximum of the interaural cross-correlation of the IRs
  low-passed at ``ITD_LOWPASS_HZ``, within ``±ITD_MAX_LAG_S``, refined by a
  parabola through the peak and its neighbours (the "maximum IACC" estimator of
  Katz & Noisternig 2014, JASA 135(6), §II.B); positive when the left ear leads.
  It is independent of the onset threshold the HRTF split uses;
- ILD: ratio of the broadband energies of the left and right IRs, dB;
- LSD: log-spectral distance, ``sqrt(mean_f (20 log10 |E(f)| / |R(f)|)^2)`` dB, over
  the bins of each octave band (IEC 61260-1 base-2 bands, ``f_c / sqrt 2 .. f_c sqrt 2``,
  the top band clipped at Nyquist) and over all bins from the lowest band's lower edge
  to Nyquist ("broadband"), averaged over the two ears. Spectra are rFFTs zero-padded to
  ``LSD_FFT_SIZE`` (or the IR length if longer); magnitudes are floored at -100 dB re the
  reference's peak.

:func:`render_hrirs` renders a unit impulse at each direction through
:class:`BinauralRenderer`, so the metrics measure the renderer itself;
:func:`leave_one_out` removes each held-out measured direction from the set,
renders it from the rest and compares with the measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._arrays import check_sample_rate
from ..errors import ParameterError
from .hrtf import HRTF

__all__ = [
    "OCTAVE_CENTERS_HZ",
    "ITD_LOWPASS_HZ",
    "ITD_MAX_LAG_S",
    "LSD_FFT_SIZE",
    "HRIRErrors",
    "itd_s",
    "ild_db",
    "lsd_db",
    "compare_hrirs",
    "render_hrirs",
    "leave_one_out",
]

#: Octave-band centre frequencies, Hz (IEC 61260-1 nominal, base 2).
OCTAVE_CENTERS_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
#: ITD is estimated below this frequency, where interaural phase is unambiguous (Hz).
ITD_LOWPASS_HZ = 3000.0
#: Largest interaural lag searched, seconds (a human head's ITD is below about 0.8 ms).
ITD_MAX_LAG_S = 1e-3
#: Minimum FFT size of the spectral comparison (10.8 Hz bins at 44.1 kHz).
LSD_FFT_SIZE = 4096
#: Magnitudes are floored at -100 dB re the reference's spectral peak before taking logs:
#: below that, bins are float32 rounding (-134 dB) rather than anything audible.
_FLOOR = 1e-5


def _check_pairs(irs: np.ndarray, name: str) -> np.ndarray:
    irs = np.asarray(irs, np.float64)
    if irs.ndim < 2 or irs.shape[-2] != 2 or irs.shape[-1] == 0:
        raise ParameterError(f"{name} has shape {irs.shape}; expected (..., 2, taps): left and right IRs")
    if not np.isfinite(irs).all():
        raise ParameterError(f"{name} contains NaN or infinite values")
    return irs


def itd_s(irs: np.ndarray, sample_rate: int) -> np.ndarray:
    """Interaural time difference of HRIR pairs, seconds (positive: the left ear leads).

    Parameters
    ----------
    irs : np.ndarray [shape=(..., 2, taps)]
    sample_rate : int

    Returns
    -------
    np.ndarray [shape=(...)]

    Examples
    --------
    >>> pair = np.zeros((2, 64)); pair[0, 10] = 1.0; pair[1, 14] = 0.5
    >>> round(float(itd_s(pair, 48000)) * 48000, 6)
    4.0
    """
    from scipy.signal import butter, sosfilt

    sample_rate = check_sample_rate(sample_rate)
    irs = _check_pairs(irs, "irs")
    cutoff = min(ITD_LOWPASS_HZ, 0.45 * sample_rate)
    low = sosfilt(butter(4, cutoff, fs=sample_rate, output="sos"), irs, axis=-1)
    taps = irs.shape[-1]
    size = 1 << int(np.ceil(np.log2(2 * taps)))
    spectra = np.fft.rfft(low, size, axis=-1)
    # c[k] = sum_n left[n + k] right[n]: the right ear lagging by d peaks at k = -d
    correlation = np.fft.irfft(spectra[..., 0, :] * np.conj(spectra[..., 1, :]), size, axis=-1)
    span = min(int(np.ceil(ITD_MAX_LAG_S * sample_rate)), taps - 1)
    lags = np.arange(-span, span + 1)
    window = correlation[..., lags % size]
    peak = np.argmax(window, axis=-1)
    inner = np.clip(peak, 1, len(lags) - 2)
    before = np.take_along_axis(window, (inner - 1)[..., None], -1)[..., 0]
    at = np.take_along_axis(window, inner[..., None], -1)[..., 0]
    after = np.take_along_axis(window, (inner + 1)[..., None], -1)[..., 0]
    curvature = before - 2 * at + after
    offset = np.where((peak == inner) & (curvature < 0), 0.5 * (before - after) / np.where(curvature < 0, curvature, -1.0), 0.0)
    return -(lags[inner] + offset) / sample_rate


def ild_db(irs: np.ndarray) -> np.ndarray:
    """Interaural level difference of HRIR pairs, ``10 log10(E_left / E_right)`` dB.

    Parameters
    ----------
    irs : np.ndarray [shape=(..., 2, taps)]

    Returns
    -------
    np.ndarray [shape=(...)]
    """
    irs = _check_pairs(irs, "irs")
    energy = np.maximum(np.sum(irs ** 2, axis=-1), 1e-300)
    return 10 * np.log10(energy[..., 0] / energy[..., 1])


def lsd_db(estimate: np.ndarray, reference: np.ndarray, sample_rate: int, *,
           centers_hz: Sequence[float] = OCTAVE_CENTERS_HZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-spectral distance between HRIR pairs, per octave band and broadband, dB.

    Parameters
    ----------
    estimate, reference : np.ndarray [shape=(..., 2, taps)]
        Zero-padded to a common length.
    sample_rate : int
    centers_hz : sequence of float
        Band centres; bands whose centre is at or above Nyquist are left out.

    Returns
    -------
    broadband : np.ndarray [shape=(...)]
    bands : np.ndarray [shape=(..., num_bands)]
    centers : np.ndarray [shape=(num_bands,)]
        The centres of the bands returned.
    """
    sample_rate = check_sample_rate(sample_rate)
    estimate = _check_pairs(estimate, "estimate")
    reference = _check_pairs(reference, "reference")
    if estimate.shape[:-1] != reference.shape[:-1]:
        raise ParameterError(f"estimate has shape {estimate.shape} and reference {reference.shape}; "
                             "expected the same (..., 2) pairs")
    size = max(LSD_FFT_SIZE, estimate.shape[-1], reference.shape[-1])
    e = np.abs(np.fft.rfft(estimate, size, axis=-1))
    r = np.abs(np.fft.rfft(reference, size, axis=-1))
    floor = _FLOOR * np.maximum(r.max(axis=-1, keepdims=True), 1e-300)
    ratio_db = 20 * np.log10(np.maximum(e, floor) / np.maximum(r, floor))
    freqs = np.fft.rfftfreq(size, 1 / sample_rate)
    nyquist = sample_rate / 2
    centers = np.array([c for c in centers_hz if c < nyquist], np.float64)
    if not len(centers):
        raise ParameterError(f"no band centre in centers_hz is below Nyquist ({nyquist} Hz)")
    bands = []
    for center in centers:
        inside = (freqs >= center / np.sqrt(2)) & (freqs < min(center * np.sqrt(2), nyquist + 1))
        bands.append(np.sqrt(np.mean(ratio_db[..., inside] ** 2, axis=-1)).mean(axis=-1))
    broad = freqs >= centers[0] / np.sqrt(2)
    broadband = np.sqrt(np.mean(ratio_db[..., broad] ** 2, axis=-1)).mean(axis=-1)
    return broadband, np.stack(bands, axis=-1), centers


@dataclass(frozen=True)
class HRIRErrors:
    """Per-direction errors of estimated HRIR pairs against references."""

    #: directions compared, shape (q, 2): azimuth_deg, elevation_deg
    directions_deg: np.ndarray
    #: |ITD error|, microseconds, shape (q,)
    itd_us: np.ndarray
    #: |ILD error|, dB, shape (q,)
    ild_db: np.ndarray
    #: broadband log-spectral distance, dB, shape (q,)
    lsd_db: np.ndarray
    #: log-spectral distance per octave band, dB, shape (q, bands)
    lsd_band_db: np.ndarray
    #: octave-band centres, Hz, shape (bands,)
    band_centers_hz: np.ndarray

    def summary(self) -> dict:
        """Mean, 95th percentile and maximum of each metric (bands: mean and p95 per band)."""
        out: dict = {"directions": int(len(self.itd_us))}
        for name in ("itd_us", "ild_db", "lsd_db"):
            values = getattr(self, name)
            out[name] = {"mean": float(values.mean()), "p95": float(np.percentile(values, 95)),
                         "max": float(values.max())}
        out["lsd_band_db"] = {f"{c:g}": {"mean": float(self.lsd_band_db[:, i].mean()),
                                         "p95": float(np.percentile(self.lsd_band_db[:, i], 95))}
                              for i, c in enumerate(self.band_centers_hz)}
        return out

    def to_dict(self) -> dict:
        """JSON-able: the summary and every direction's values."""
        return {"summary": self.summary(), "band_centers_hz": self.band_centers_hz.tolist(),
                "directions_deg": self.directions_deg.tolist(), "itd_us": self.itd_us.tolist(),
                "ild_db": self.ild_db.tolist(), "lsd_db": self.lsd_db.tolist(),
                "lsd_band_db": self.lsd_band_db.tolist()}


def compare_hrirs(estimate: np.ndarray, reference: np.ndarray, sample_rate: int, *,
                  directions_deg: np.ndarray | None = None) -> HRIRErrors:
    """ITD, ILD and LSD errors of ``estimate`` against ``reference``.

    Parameters
    ----------
    estimate, reference : np.ndarray [shape=(q, 2, taps)]
        Different lengths are zero-padded to the longer.
    sample_rate : int
    directions_deg : np.ndarray [shape=(q, 2)], optional
        Stored with the result.
    """
    estimate = _check_pairs(estimate, "estimate")
    reference = _check_pairs(reference, "reference")
    if estimate.ndim != 3 or estimate.shape[0] != reference.shape[0]:
        raise ParameterError(f"estimate has shape {estimate.shape} and reference {reference.shape}; "
                             "expected (q, 2, taps) each, the same q")
    length = max(estimate.shape[-1], reference.shape[-1])
    estimate = np.pad(estimate, ((0, 0), (0, 0), (0, length - estimate.shape[-1])))
    reference = np.pad(reference, ((0, 0), (0, 0), (0, length - reference.shape[-1])))
    broadband, bands, centers = lsd_db(estimate, reference, sample_rate)
    directions = (np.full((len(estimate), 2), np.nan) if directions_deg is None
                  else np.asarray(directions_deg, np.float64).reshape(len(estimate), 2))
    return HRIRErrors(directions_deg=directions,
                      itd_us=np.abs(itd_s(estimate, sample_rate) - itd_s(reference, sample_rate)) * 1e6,
                      ild_db=np.abs(ild_db(estimate) - ild_db(reference)), lsd_db=broadband,
                      lsd_band_db=bands, band_centers_hz=centers)


def render_hrirs(hrtf: HRTF, directions_deg: np.ndarray, *, block_size: int = 512,
                 method: str = "barycentric") -> np.ndarray:
    """What the renderer outputs for a unit impulse at each direction (1 m, static).

    Parameters
    ----------
    hrtf : HRTF
    directions_deg : np.ndarray [shape=(q, 2)]
    block_size : int
    method : {"barycentric", "nearest"}

    Returns
    -------
    np.ndarray [shape=(q, 2, taps), dtype=float32]
        Zero-padded to the longest response.
    """
    from .renderer import RendererOptions, render_static

    directions = np.asarray(directions_deg, np.float64).reshape(-1, 2)
    impulse = np.zeros(1, np.float32)
    impulse[0] = 1.0
    options = RendererOptions(method=method)
    pieces = [render_static(impulse, hrtf.sample_rate, hrtf, azimuth_deg=float(az), elevation_deg=float(el),
                            block_size=block_size, options=options) for az, el in directions]
    out = np.zeros((len(pieces), 2, max(p.shape[1] for p in pieces)), np.float32)
    for i, piece in enumerate(pieces):
        out[i, :, :piece.shape[1]] = piece
    return out


def leave_one_out(hrtf: HRTF, indices: Sequence[int] | None = None, *, method: str = "barycentric",
                  block_size: int = 512) -> HRIRErrors:
    """Interpolation error at held-out measured directions.

    For each index, the measurement is removed from the set (``HRTF.from_irs`` on the
    other ``m - 1``), the renderer renders that direction from the rest, and the result
    is compared with the measured pair.

    Parameters
    ----------
    hrtf : HRTF
        A measured set.
    indices : sequence of int, optional
        Measurements to hold out (default: all).
    method : {"barycentric", "nearest"}
    block_size : int
    """
    irs = hrtf.measured_irs()
    directions = hrtf.directions_deg
    m = len(directions)
    held = np.arange(m) if indices is None else np.asarray(indices, np.int64)
    if held.ndim != 1 or not len(held) or held.min() < 0 or held.max() >= m:
        raise ParameterError(f"indices must be measurement indices 0..{m - 1}; got {indices!r}")
    estimates = []
    for index in held:
        keep = np.arange(m) != index
        rest = HRTF.from_irs(irs[keep], directions[keep], hrtf.sample_rate, origin={"kind": "leave-one-out"})
        estimates.append(render_hrirs(rest, directions[index], block_size=block_size, method=method)[0])
    length = max(e.shape[-1] for e in estimates)
    stacked = np.stack([np.pad(e, ((0, 0), (0, length - e.shape[-1]))) for e in estimates])
    return compare_hrirs(stacked, irs[held], hrtf.sample_rate, directions_deg=directions[held])
