"""Helpers for tests/spatial: synthetic SOFA files and the KEMAR set."""

from __future__ import annotations

import functools
from pathlib import Path

import h5py
import numpy as np
import pytest

KEMAR_PATH = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")

#: six directions (octahedron) plus eight in between, SOFA spherical convention
SYNTHETIC_DIRECTIONS = np.array(
    [[0, 0], [90, 0], [180, 0], [270, 0], [0, 90], [0, -90],
     [45, 35], [135, 35], [225, 35], [315, 35], [45, -35], [135, -35], [225, -35], [315, -35]],
    dtype=np.float64,
)


def synthetic_irs(directions: np.ndarray, taps: int = 64, seed: int = 3) -> np.ndarray:
    """Decaying noise IRs with a direction-dependent onset per ear, (m, 2, taps)."""
    rng = np.random.default_rng(seed)
    m = len(directions)
    irs = np.zeros((m, 2, taps))
    for i, (az, el) in enumerate(directions):
        lateral = np.sin(np.radians(az)) * np.cos(np.radians(el))
        for ear, sign in ((0, 1), (1, -1)):
            onset = int(round(8 - 5 * sign * lateral))
            length = taps - onset
            irs[i, ear, onset:] = rng.standard_normal(length) * np.exp(-np.arange(length) / 6.0)
            irs[i, ear, :onset] = 1e-4 * rng.standard_normal(onset)
    return irs


def write_sofa(path, *, irs=None, directions=None, sample_rate=48000.0, convention="SimpleFreeFieldHRIR",
               cartesian=False, delay=None, drop=(), version="2.1") -> Path:
    """Write a minimal SimpleFreeFieldHRIR file (AES69) with h5py."""
    directions = SYNTHETIC_DIRECTIONS if directions is None else directions
    irs = synthetic_irs(directions) if irs is None else irs
    with h5py.File(path, "w") as f:
        f.attrs["Conventions"] = np.bytes_(b"SOFA")
        f.attrs["Version"] = np.bytes_(version.encode())
        f.attrs["SOFAConventions"] = np.bytes_(convention.encode())
        f.attrs["SOFAConventionsVersion"] = np.bytes_(b"1.0")
        f.attrs["DataType"] = np.bytes_(b"FIR")
        f.attrs["DatabaseName"] = np.bytes_(b"synthetic")
        variables = {"Data.IR": irs, "Data.SamplingRate": np.array([sample_rate]),
                     "Data.Delay": np.zeros((1, 2)) if delay is None else delay}
        radius = np.full(len(directions), 1.2)
        if cartesian:
            az, el = np.radians(directions[:, 0]), np.radians(directions[:, 1])
            positions = np.stack([radius * np.cos(el) * np.cos(az), radius * np.cos(el) * np.sin(az),
                                  radius * np.sin(el)], axis=1)
        else:
            positions = np.column_stack([directions, radius])
        variables["SourcePosition"] = positions
        for name, value in variables.items():
            if name not in drop:
                f.create_dataset(name, data=value)
        if "SourcePosition" not in drop:
            f["SourcePosition"].attrs["Type"] = np.bytes_(b"cartesian" if cartesian else b"spherical")
            f["SourcePosition"].attrs["Units"] = np.bytes_(b"metre" if cartesian else b"degree, degree, metre")
    return Path(path)


@functools.lru_cache(maxsize=1)
def _kemar():
    from audiokit.spatial import HRTF

    return HRTF.from_sofa(KEMAR_PATH)


def kemar():
    """The MIT KEMAR HRTF from Debian's libmysofa1, or skip."""
    if not KEMAR_PATH.is_file():
        pytest.skip(f"{KEMAR_PATH} is missing: install the Debian package libmysofa1")
    return _kemar()


@functools.lru_cache(maxsize=4)
def spherical(sample_rate: int = 48000):
    from audiokit.spatial import HRTF

    return HRTF.spherical_head(sample_rate)


def relative_error_db(actual: np.ndarray, reference: np.ndarray) -> float:
    """10 log10 of error energy over reference energy."""
    error = max(float(np.sum((np.asarray(actual, float) - reference) ** 2)), 1e-300)
    return float(10 * np.log10(error / np.sum(np.asarray(reference, float) ** 2)))


@functools.lru_cache(maxsize=1)
def _kemar_file() -> tuple[np.ndarray, np.ndarray, int]:
    with h5py.File(KEMAR_PATH, "r") as f:
        irs = np.asarray(f["Data.IR"], np.float64)
        positions = np.asarray(f["SourcePosition"], np.float64)
        rate = int(np.asarray(f["Data.SamplingRate"]).ravel()[0])
        delay = np.asarray(f["Data.Delay"], np.float64)
    assert not delay.any(), "the reference below assumes Data.Delay = 0, as in MIT KEMAR"
    return irs, positions, rate


def kemar_file() -> tuple[np.ndarray, np.ndarray, int]:
    """KEMAR's ``Data.IR`` (m, 2, taps), ``SourcePosition`` (m, 3) and rate, read
    with h5py alone (independent of audiokit's SOFA reader), or skip."""
    if not KEMAR_PATH.is_file():
        pytest.skip(f"{KEMAR_PATH} is missing: install the Debian package libmysofa1")
    return _kemar_file()


def convolve_measured(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Float64 full linear convolution of a mono signal with an IR pair, shape (2, n + taps - 1)."""
    return np.stack([np.convolve(np.asarray(x, np.float64), np.asarray(ir[ear], np.float64))
                     for ear in range(2)])
