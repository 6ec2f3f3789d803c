"""SOFA reading: conventions, coordinates, and FormatErrors that name the variable."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from _spatial_helpers import KEMAR_PATH, SYNTHETIC_DIRECTIONS, kemar, synthetic_irs, write_sofa

from audiokit.errors import FormatError
from audiokit.spatial import HRTF, read_sofa


def test_synthetic_file_round_trips(tmp_path):
    irs = synthetic_irs(SYNTHETIC_DIRECTIONS)
    data = read_sofa(write_sofa(tmp_path / "s.sofa", irs=irs))
    assert data.sample_rate == 48000
    np.testing.assert_array_equal(data.irs, irs)
    np.testing.assert_allclose(data.positions[:, 0], SYNTHETIC_DIRECTIONS[:, 0] % 360)
    np.testing.assert_allclose(data.positions[:, 1], SYNTHETIC_DIRECTIONS[:, 1])
    assert data.to_dict()["num_measurements"] == len(SYNTHETIC_DIRECTIONS)


def test_cartesian_positions_become_sofa_spherical(tmp_path):
    data = read_sofa(write_sofa(tmp_path / "c.sofa", cartesian=True))
    expected = SYNTHETIC_DIRECTIONS.copy()
    expected[:, 0] %= 360
    poles = np.abs(expected[:, 1]) == 90  # azimuth is arbitrary at the poles
    np.testing.assert_allclose(data.positions[~poles, :2], expected[~poles], atol=1e-9)
    np.testing.assert_allclose(data.positions[poles, 1], expected[poles, 1], atol=1e-9)
    np.testing.assert_allclose(data.positions[:, 2], 1.2)


def test_data_delay_is_added_to_the_onset_delays(tmp_path):
    plain = HRTF.from_sofa(write_sofa(tmp_path / "a.sofa"))
    delayed = HRTF.from_sofa(write_sofa(tmp_path / "b.sofa", delay=np.array([[3.0, 5.0]])))
    np.testing.assert_array_equal(delayed.delays_samples - plain.delays_samples,
                                  np.broadcast_to([3.0, 5.0], plain.delays_samples.shape))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drop": ("Data.IR",)}, "'Data.IR' is missing"),
        ({"drop": ("SourcePosition",)}, "'SourcePosition' is missing"),
        ({"drop": ("Data.SamplingRate",)}, "'Data.SamplingRate' is missing"),
        ({"convention": "GeneralTF"}, "'SOFAConventions' is 'GeneralTF'"),
        ({"irs": np.zeros((14, 3, 8))}, "'Data.IR' has 3 receivers"),
        ({"irs": np.zeros((13, 2, 8))}, "'SourcePosition' has shape"),
        ({"delay": np.zeros((2, 2))}, "'Data.Delay' has shape"),
        ({"sample_rate": 44100.5}, "'Data.SamplingRate'"),
    ],
)
def test_bad_files_name_the_variable(tmp_path, kwargs, match):
    path = write_sofa(tmp_path / "bad.sofa", **kwargs)
    with pytest.raises(FormatError, match=match):
        HRTF.from_sofa(path)


def test_nan_names_variable_and_index(tmp_path):
    irs = synthetic_irs(SYNTHETIC_DIRECTIONS)
    irs[2, 1, 7] = np.nan
    with pytest.raises(FormatError, match=r"'Data.IR' has a non-finite value at index \(2, 1, 7\)"):
        read_sofa(write_sofa(tmp_path / "nan.sofa", irs=irs))


def test_not_hdf5_and_missing_file(tmp_path):
    junk = tmp_path / "junk.sofa"
    junk.write_bytes(b"not a sofa file")
    with pytest.raises(FormatError, match="not a SOFA"):
        read_sofa(junk)
    with pytest.raises(FormatError, match="no such SOFA file"):
        read_sofa(tmp_path / "absent.sofa")


def test_missing_conventions_attribute(tmp_path):
    path = write_sofa(tmp_path / "x.sofa")
    with h5py.File(path, "a") as f:
        del f.attrs["Conventions"]
    with pytest.raises(FormatError, match="'Conventions'"):
        read_sofa(path)


def test_kemar_is_read_as_documented():
    hrtf = kemar()
    data = read_sofa(KEMAR_PATH)
    assert data.irs.shape == (710, 2, 512)
    assert data.sample_rate == 44100
    assert hrtf.num_directions == 710 and hrtf.num_taps == 512
    assert hrtf.origin["convention"] == "SimpleFreeFieldHRIR"
