"""audiokit.spatial.metrics: ITD, ILD and octave-band LSD, and the renderer against measured KEMAR HRIRs."""

from __future__ import annotations

import numpy as np
import pytest
from _spatial_helpers import SYNTHETIC_DIRECTIONS, kemar, kemar_file, synthetic_irs

from audiokit.errors import ParameterError
from audiokit.spatial import fractional_delay
from audiokit.spatial.metrics import (
    OCTAVE_CENTERS_HZ,
    compare_hrirs,
    ild_db,
    itd_s,
    leave_one_out,
    lsd_db,
    render_hrirs,
)

#: LAP challenge (Hogg et al. 2024) thresholds for interpolated HRTFs
LAP_ITD_US, LAP_ILD_DB, LAP_LSD_DB = 100.0, 4.4, 7.4


def _pair(delay_left: float, delay_right: float, gain_right: float = 1.0, taps: int = 256) -> np.ndarray:
    ir = synthetic_irs(SYNTHETIC_DIRECTIONS[:1], taps=64, seed=5)[0, 0]
    return np.stack([fractional_delay(ir, delay_left, taps), gain_right * fractional_delay(ir, delay_right, taps)])


@pytest.mark.parametrize("delays", [(10.0, 14.0), (20.0, 3.0), (10.0, 12.5), (7.25, 7.25)])
def test_itd_recovers_a_known_interaural_delay(delays):
    pair = _pair(*delays)
    expected = (delays[1] - delays[0]) / 48000
    # integer lags exactly; fractional ones within 0.1 sample (parabolic peak of a cubic-Lagrange shift)
    assert abs(itd_s(pair, 48000) - expected) < (1e-9 if delays[0] % 1 == delays[1] % 1 else 0.1 / 48000)


def test_itd_sign_and_kemar_left_source():
    irs, positions, rate = kemar_file()
    left = int(np.flatnonzero((positions[:, 0] == 90) & (positions[:, 1] == 0))[0])
    right = int(np.flatnonzero((positions[:, 0] == 270) & (positions[:, 1] == 0))[0])
    itd = itd_s(irs[[left, right]], rate)
    assert 500e-6 < itd[0] < 900e-6 and -900e-6 < itd[1] < -500e-6   # a head's ITD at 90°: ~0.6-0.7 ms


def test_ild_and_lsd_of_a_known_gain():
    pair = _pair(10.0, 12.0)
    quieter = pair * np.array([[1.0], [0.5]])
    assert ild_db(quieter) - ild_db(pair) == pytest.approx(20 * np.log10(2), abs=1e-9)
    broadband, bands, centers = lsd_db(2 * pair, pair, 48000)
    assert np.allclose(bands, 20 * np.log10(2)) and broadband == pytest.approx(20 * np.log10(2))
    assert tuple(centers) == OCTAVE_CENTERS_HZ
    broadband, bands, _ = lsd_db(pair, pair, 48000)
    assert broadband == 0.0 and not bands.any()
    # a notch in one octave shows in that band and not in the others
    from scipy.signal import iirnotch, lfilter

    b, a = iirnotch(1000.0, 2.0, fs=48000)
    notched = lfilter(b, a, pair, axis=-1)
    _, bands, centers = lsd_db(notched, pair, 48000)
    assert centers[np.argmax(bands)] == 1000.0 and bands[0] < 0.5 and bands[-1] < 0.5
    with pytest.raises(ParameterError, match="expected \\(..., 2, taps\\)"):
        itd_s(np.zeros((3, 64)), 48000)


def test_renderer_at_every_measured_kemar_direction_has_no_error():
    """The direction grid: every 5th measured direction, rendered, against its measurement."""
    irs, positions, rate = kemar_file()
    hrtf = kemar()
    rows = np.arange(0, len(irs), 5)
    errors = compare_hrirs(render_hrirs(hrtf, hrtf.directions_deg[rows]), irs[rows], rate)
    assert errors.itd_us.max() < 0.01 and errors.ild_db.max() < 1e-4 and errors.lsd_db.max() < 1e-3


def test_kemar_leave_one_out_meets_lap_thresholds_and_beats_nearest_on_itd():
    """Every 7th measured direction above -40° (94) held out, rendered from the other 709."""
    hrtf = kemar()
    held = np.flatnonzero(hrtf.directions_deg[:, 1] > -40.0)[::7]
    bary = leave_one_out(hrtf, held).summary()
    near = leave_one_out(hrtf, held, method="nearest").summary()
    print({k: round(bary[k]["mean"], 2) for k in ("itd_us", "ild_db", "lsd_db")},
          {k: round(v["mean"], 2) for k, v in bary["lsd_band_db"].items()})
    assert bary["directions"] == 94
    assert bary["itd_us"]["mean"] < LAP_ITD_US and bary["ild_db"]["mean"] < LAP_ILD_DB
    assert bary["lsd_db"]["mean"] < LAP_LSD_DB
    assert bary["itd_us"]["mean"] < near["itd_us"]["mean"] / 3
    # the ITD-split mix is accurate at low frequencies and degrades with frequency
    bands = [bary["lsd_band_db"][f"{c:g}"]["mean"] for c in OCTAVE_CENTERS_HZ]
    assert max(bands[:4]) < 0.5 and bands[-1] > bands[4]
