"""The BS.1770 K-weighting pre-filter, designed at any sample rate.

BS.1770-5 Annex 1 gives the two biquads only at 48 kHz. They are the bilinear
transforms of two analogue prototypes, a high-frequency shelf and the RLB
high-pass, whose parameters are the constants below: designing from them
reproduces the 48 kHz tables to double precision. At other rates the bilinear
transform warps the shelf (0.29 dB off at 8 kHz, 0.008 dB at 192 kHz), so
here the shelf is then refined so that its magnitude matches the 48 kHz
filter's from 10 Hz to 0.4 of the lower of the two sample rates (iteratively
reweighted least squares towards the minimax fit, started from the bilinear
design), and
the high-pass numerator is scaled so its pass-band gain equals the 48 kHz
filter's (the table's unnormalised ``[1, -2, 1]`` gives +0.043 dB at 48 kHz).
The combined response then matches the 48 kHz one within 0.005 dB over that
band at every rate from 8 kHz to 384 kHz (0.002 dB at 8 kHz, 0.00003 dB at
44.1 kHz). Only the magnitude matters to an energy meter.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from .._arrays import check_sample_rate
from ..errors import ParameterError
from ._kweighting_fits import FITTED_SHELVES

__all__ = [
    "SHELF_F0_HZ",
    "SHELF_GAIN_DB",
    "SHELF_Q",
    "HIGHPASS_F0_HZ",
    "HIGHPASS_Q",
    "REFERENCE_RATE",
    "MIN_SAMPLE_RATE",
    "MATCHED_BAND_FRACTION",
    "kweighting_sos",
    "kweighting_response_db",
]

#: Analogue prototype of stage 1, the high-frequency shelf (BS.1770 Annex 1).
SHELF_F0_HZ = 1681.974450955533
SHELF_GAIN_DB = 3.999843853973347
SHELF_Q = 0.7071752369554196
#: Exponent relating the shelf's mid-band gain to its high-frequency gain.
_SHELF_VB_EXPONENT = 0.4996667741545416
#: Analogue prototype of stage 2, the revised low-frequency B (RLB) high-pass.
HIGHPASS_F0_HZ = 38.13547087602444
HIGHPASS_Q = 0.5003270373238773
#: The rate at which BS.1770 tabulates the coefficients.
REFERENCE_RATE = 48000
#: Lowest sample rate the K-weighting is designed for (telephone band).
MIN_SAMPLE_RATE = 8000
#: Top of the matched band, as a fraction of the lower sample rate (0.8 Nyquist).
MATCHED_BAND_FRACTION = 0.4
#: Reweighting rounds of the minimax refinement.
_FIT_ROUNDS = 12


def _bilinear_shelf(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 by the bilinear transform, prewarped at ``SHELF_F0_HZ``."""
    k = np.tan(np.pi * SHELF_F0_HZ / sample_rate)
    vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_VB_EXPONENT
    a0 = 1.0 + k / SHELF_Q + k * k
    b = np.array([vh + vb * k / SHELF_Q + k * k, 2.0 * (k * k - vh), vh - vb * k / SHELF_Q + k * k]) / a0
    a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / SHELF_Q + k * k) / a0])
    return b, a


def _highpass(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2 by the bilinear transform, pass-band gain equal to the 48 kHz table's."""

    def a0_of(rate: int) -> tuple[float, float]:
        k = np.tan(np.pi * HIGHPASS_F0_HZ / rate)
        return 1.0 + k / HIGHPASS_Q + k * k, k

    a0, k = a0_of(sample_rate)
    gain = a0_of(REFERENCE_RATE)[0] / a0  # exactly 1.0 at 48 kHz
    b = np.array([1.0, -2.0, 1.0]) * gain
    a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HIGHPASS_Q + k * k) / a0])
    return b, a


def _magnitude_db(b: np.ndarray, a: np.ndarray, frequencies_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    z = np.exp(-2j * np.pi * frequencies_hz / sample_rate)
    h = (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    return 20.0 * np.log10(np.abs(h))


def _refined_shelf(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 fitted in magnitude to the 48 kHz response (see module docstring)."""
    from scipy import optimize

    top = MATCHED_BAND_FRACTION * min(sample_rate, REFERENCE_RATE)
    freqs = np.geomspace(10.0, top, 300)
    ref_b, ref_a = _bilinear_shelf(REFERENCE_RATE)
    hp_b, hp_a = _highpass(sample_rate)
    ref_hp_b, ref_hp_a = _highpass(REFERENCE_RATE)
    target = (
        _magnitude_db(ref_b, ref_a, freqs, REFERENCE_RATE)
        + _magnitude_db(ref_hp_b, ref_hp_a, freqs, REFERENCE_RATE)
        - _magnitude_db(hp_b, hp_a, freqs, sample_rate)
    )

    def residual(params: np.ndarray) -> np.ndarray:
        a = np.array([1.0, params[3], params[4]])
        return _magnitude_db(params[:3], a, freqs, sample_rate) - target

    b, a = _bilinear_shelf(sample_rate)
    params = np.concatenate([b, a[1:]])
    weights = np.ones_like(freqs)
    for _ in range(_FIT_ROUNDS):
        root_weights = np.sqrt(weights)
        params = optimize.least_squares(
            lambda p, w=root_weights: w * residual(p), params, xtol=1e-15, ftol=1e-15, gtol=1e-15
        ).x
        error = np.abs(residual(params))
        weights = weights * (error / error.max() + 1e-3)
        weights /= weights.mean()
    return params[:3], np.array([1.0, params[3], params[4]])


@functools.lru_cache(maxsize=32)
def _sos(sample_rate: int) -> np.ndarray:
    if sample_rate == REFERENCE_RATE:
        shelf_b, shelf_a = _bilinear_shelf(sample_rate)
    elif sample_rate in FITTED_SHELVES:  # the fit below, made once (saves importing scipy.optimize)
        shelf_b, shelf_a = (np.array(row) for row in FITTED_SHELVES[sample_rate])
    else:
        shelf_b, shelf_a = _refined_shelf(sample_rate)
    hp_b, hp_a = _highpass(sample_rate)
    sos = np.array([np.concatenate([shelf_b, shelf_a]), np.concatenate([hp_b, hp_a])])
    sos.setflags(write=False)
    return sos


def kweighting_sos(sample_rate: int) -> np.ndarray:
    """The K-weighting pre-filter at ``sample_rate`` as second-order sections.

    Parameters
    ----------
    sample_rate : int
        Hz, at least 8000.

    Returns
    -------
    np.ndarray [shape=(2, 6), dtype=float64]
        Rows ``[b0, b1, b2, 1, a1, a2]`` for the shelf and the high-pass, in
        the layout of :func:`scipy.signal.sosfilt`. Read-only (cached).

    Examples
    --------
    >>> kweighting_sos(48000)[0, :3].round(8)
    array([ 1.53512486, -2.69169619,  1.19839281])
    """
    sample_rate = check_sample_rate(sample_rate)
    if sample_rate < MIN_SAMPLE_RATE:
        raise ParameterError(
            f"sample_rate is {sample_rate}; K-weighting needs at least {MIN_SAMPLE_RATE} Hz. "
            "Resample the signal first"
        )
    return _sos(sample_rate)


def kweighting_response_db(frequencies_hz: npt.ArrayLike, sample_rate: int) -> np.ndarray:
    """Magnitude response of the K-weighting filter at ``sample_rate``.

    Parameters
    ----------
    frequencies_hz : np.ndarray [shape=(n,)]
    sample_rate : int

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        Gain in dB (about +0.69 dB at 997 Hz, +4 dB shelf above 5 kHz).
    """
    sos = kweighting_sos(sample_rate)
    freqs = np.asarray(frequencies_hz, dtype=np.float64)
    return _magnitude_db(sos[0, :3], sos[0, 3:], freqs, sample_rate) + _magnitude_db(sos[1, :3], sos[1, 3:], freqs,
                                                                                      sample_rate)


def _write_fits(path: str) -> None:
    """Regenerate ``_kweighting_fits.py``: ``python -m audiokit.loudness.kweighting``."""
    rows = []
    for rate in _FITTED_RATES:
        b, a = _refined_shelf(rate)
        rows.append(f"    {rate}: ({tuple(float(v) for v in b)!r}, {tuple(float(v) for v in a)!r}),")
    with open(path, "w") as handle:
        handle.write(
            '"""Stage 1 of K-weighting as fitted by ``kweighting._refined_shelf`` at common rates.\n\n'
            "Generated by ``python -m audiokit.loudness.kweighting``; the tests refit every rate\n"
            'and compare. Other rates are fitted on first use."""\n\n'
            "#: sample rate -> (b, a) of the shelf biquad\n"
            "FITTED_SHELVES: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {\n"
            + "\n".join(rows) + "\n}\n"
        )


#: Rates whose fitted shelf is stored in ``_kweighting_fits.py``.
_FITTED_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 88200, 96000, 176400, 192000, 352800,
                 384000)

if __name__ == "__main__":
    import pathlib

    _write_fits(str(pathlib.Path(__file__).with_name("_kweighting_fits.py")))
