"""HRTF interpolation: exact at measured directions, ITD split, symmetry, Woodworth, leave-one-out."""

from __future__ import annotations

import numpy as np
import pytest
from _spatial_helpers import SYNTHETIC_DIRECTIONS, kemar, spherical, synthetic_irs, write_sofa

from audiokit.errors import ParameterError
from audiokit.spatial import HRTF, fractional_delay
from audiokit.spatial.sofa import read_sofa

#: LAP challenge (Hogg et al. 2024) thresholds for interpolated HRTFs
LAP_ITD_US = 100.0
LAP_ILD_DB = 4.4
LAP_LSD_DB = 7.4


def test_measured_directions_come_back_exactly_synthetic(tmp_path):
    path = write_sofa(tmp_path / "s.sofa")
    hrtf = HRTF.from_sofa(path)
    irs = read_sofa(path).irs.astype(np.float32)
    for i, (az, el) in enumerate(SYNTHETIC_DIRECTIONS):
        for method in ("barycentric", "nearest"):
            np.testing.assert_array_equal(hrtf.ir(az, el, method=method), irs[i])


def test_measured_directions_come_back_exactly_kemar():
    hrtf = kemar()
    irs = hrtf.measured_irs()
    for i in range(0, hrtf.num_directions, 23):
        az, el = hrtf.directions_deg[i]
        np.testing.assert_array_equal(hrtf.ir(az, el), irs[i])
    from _spatial_helpers import KEMAR_PATH
    np.testing.assert_array_equal(irs, read_sofa(KEMAR_PATH).irs.astype(np.float32))


def test_barycentric_weights_are_a_convex_combination_of_a_triangle():
    hrtf = kemar()
    rng = np.random.default_rng(5)
    for az, el in zip(rng.uniform(0, 360, 50), rng.uniform(-40, 90, 50)):
        indices, weights = hrtf.weights(az, el)
        assert weights.min() >= 0 and abs(weights.sum() - 1) < 1e-12
        # the weighted sum of the vertices points at the query
        from audiokit.spatial.interpolation import spherical_to_cartesian
        vertices = spherical_to_cartesian(*hrtf.directions_deg[indices].T)
        mixed = weights @ vertices
        target = spherical_to_cartesian(az, el)
        assert np.dot(mixed / np.linalg.norm(mixed), target) > 1 - 1e-9


@pytest.mark.parametrize("make", [kemar, lambda: spherical(48000)], ids=["kemar", "spherical"])
def test_triangle_walk_finds_the_same_weights_from_any_start(make):
    """The visibility walk (or its brute-force fallback) does not depend on where it starts."""
    hrtf = make()
    rng = np.random.default_rng(11)
    az, el = rng.uniform(0, 360, 300), np.degrees(np.arcsin(rng.uniform(-0.6, 1, 300)))
    indices, weights = hrtf.weights_many(az, el)
    start = rng.integers(0, len(hrtf.triangulation.simplices), 300)
    indices_far, weights_far = hrtf.weights_many(az, el, start=start)

    def dense(i, w):
        out = np.zeros((len(i), hrtf.num_directions))
        np.add.at(out, (np.arange(len(i))[:, np.newaxis], i), w)
        return out

    np.testing.assert_allclose(dense(indices_far, weights_far), dense(indices, weights), atol=1e-9)


def test_interpolation_does_not_comb():
    """Halfway between two measured azimuths the magnitude stays between theirs (no deep notches)."""
    hrtf = kemar()
    a, b = hrtf.ir(0.0, 0.0), hrtf.ir(10.0, 0.0)   # KEMAR has 5° steps at 0° elevation
    mid = hrtf.ir(5.0 + 1e-6, 0.0)
    spectra = [20 * np.log10(np.abs(np.fft.rfft(x, 1024)) + 1e-12) for x in (a, b, mid)]
    band = slice(10, 450)   # 430 Hz .. 19 kHz
    floor = np.minimum(spectra[0], spectra[1])[:, band]
    assert (spectra[2][:, band] - floor).min() > -3.0


def test_mirrored_azimuth_swaps_the_ears_kemar():
    hrtf = kemar()
    for az, el in [(30.0, 0.0), (90.0, 0.0), (135.0, 20.0), (5.0, -40.0)]:
        left = hrtf.ir(az, el)
        right = hrtf.ir(360.0 - az, el)
        np.testing.assert_array_equal(left[::-1], right)


@pytest.mark.parametrize("az", [17.0, 63.5, 101.0, 152.25])
def test_mirrored_azimuth_swaps_the_ears_interpolated_spherical_head(az):
    hrtf = spherical(48000)
    left, right = hrtf.ir(az, 7.0), hrtf.ir(360.0 - az, 7.0)
    np.testing.assert_allclose(left[::-1], right, atol=1e-4)


@pytest.mark.parametrize("make", [kemar, lambda: spherical(44100)])
def test_source_at_left_is_earlier_and_louder_at_the_left_ear(make):
    hrtf = make()
    left, right = hrtf.ir(90.0, 0.0)
    assert np.sum(left.astype(float) ** 2) > 2 * np.sum(right.astype(float) ** 2)
    onset = [np.argmax(np.abs(x) >= 0.1 * np.abs(x).max()) for x in (left, right)]
    assert onset[0] + 10 < onset[1]
    assert hrtf.itd_s(90.0, 0.0) > 400e-6


@pytest.mark.parametrize(("az", "el"), [(0.0, 0.0), (30.0, 0.0), (90.0, 0.0), (123.4, 0.0),
                                        (200.0, 0.0), (33.0, 12.0), (71.0, -48.0), (250.0, 60.0)])
def test_spherical_head_itd_matches_woodworth(az, el):
    radius, c = 0.0875, 343.0
    hrtf = spherical(48000)
    lateral = np.arcsin(np.cos(np.radians(el)) * np.sin(np.radians(az)))
    woodworth = radius / c * (lateral + np.sin(lateral))
    assert abs(hrtf.itd_s(az, el) - woodworth) < 10e-6
    # and the IRs themselves carry it: cross-correlation peak within a sample
    left, right = hrtf.ir(az, el).astype(float)
    up = 8
    spectrum = np.fft.rfft(right, 8192) * np.conj(np.fft.rfft(left, 8192))
    corr = np.fft.irfft(spectrum, 8192 * up)
    lag = np.argmax(corr)
    lag = lag - 8192 * up if lag > 8192 * up // 2 else lag
    assert abs(lag / up / 48000 - woodworth) < 1.5 / 48000


def test_fractional_delay_is_exact_at_integers_and_linear_phase_between():
    x = np.random.default_rng(1).standard_normal(64)
    np.testing.assert_array_equal(fractional_delay(x, 5.0, 80)[5:69], x)
    half = fractional_delay(np.sin(0.1 * np.arange(200)), 10.5, 200)
    np.testing.assert_allclose(half[30:180], np.sin(0.1 * (np.arange(30, 180) - 10.5)), atol=2e-4)


def test_errors_name_the_argument():
    hrtf = spherical(48000)
    with pytest.raises(ParameterError, match="elevation_deg is 95"):
        hrtf.ir(0.0, 95.0)
    with pytest.raises(ParameterError, match="method is 'linear'"):
        hrtf.ir(0.0, 0.0, method="linear")
    with pytest.raises(ParameterError, match="azimuth_deg is nan"):
        hrtf.ir(float("nan"), 0.0)
    few = HRTF.from_irs(synthetic_irs(SYNTHETIC_DIRECTIONS[:3]), SYNTHETIC_DIRECTIONS[:3], 48000)
    few.ir(10.0, 0.0, method="nearest")
    with pytest.raises(ParameterError, match="at least 4 directions"):
        few.ir(10.0, 0.0)


def _itd_ild_lsd(estimate: np.ndarray, reference: np.ndarray, sample_rate: int):
    onset = lambda x: np.argmax(np.abs(x) >= 0.1 * np.abs(x).max())  # noqa: E731
    itd = [(onset(x[1]) - onset(x[0])) / sample_rate for x in (estimate, reference)]
    ild = [10 * np.log10(np.sum(x[0].astype(float) ** 2) / np.sum(x[1].astype(float) ** 2))
           for x in (estimate, reference)]
    e = np.abs(np.fft.rfft(estimate, 512)) + 1e-9
    r = np.abs(np.fft.rfft(reference, 512)) + 1e-9
    lsd = np.mean(np.sqrt(np.mean((20 * np.log10(e / r)) ** 2, axis=1)))
    return abs(itd[0] - itd[1]) * 1e6, abs(ild[0] - ild[1]), lsd


def test_kemar_leave_one_out_meets_lap_thresholds():
    """Interpolate held-out KEMAR directions from the other 709 (every 7th, for time)."""
    hrtf = kemar()
    irs = hrtf.measured_irs()
    errors = []
    for held in range(0, hrtf.num_directions, 7):
        keep = np.arange(hrtf.num_directions) != held
        rest = HRTF.from_irs(irs[keep], hrtf.directions_deg[keep], hrtf.sample_rate)
        az, el = hrtf.directions_deg[held]
        if el <= -40.0:   # below the lowest ring there is nothing to interpolate from
            continue
        errors.append(_itd_ild_lsd(rest.ir(az, el), irs[held], hrtf.sample_rate))
    itd, ild, lsd = np.mean(errors, axis=0)
    print(f"KEMAR leave-one-out ({len(errors)} directions): ITD {itd:.1f} us, ILD {ild:.2f} dB, LSD {lsd:.2f} dB")
    assert itd < LAP_ITD_US and ild < LAP_ILD_DB and lsd < LAP_LSD_DB
