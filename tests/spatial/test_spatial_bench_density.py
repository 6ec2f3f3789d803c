"""The benchmark's error-vs-grid-density helpers (benchmarks/bench_spatial.py), on a synthetic set."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from _spatial_helpers import SYNTHETIC_DIRECTIONS, synthetic_irs

from audiokit.spatial import HRTF

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_spatial.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_spatial_under_test", BENCH)
    module = importlib.util.module_from_spec(spec)
    # The script pins OMP/OPENBLAS/NUMBA_NUM_THREADS=1 for its own process; keep
    # that out of the test process, where Numba refuses a thread-count change
    # once its threads run (RuntimeError on the next compile).
    saved = dict(os.environ)
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


def test_farthest_point_order_is_a_permutation_starting_ahead(bench):
    order = bench.farthest_point_order(SYNTHETIC_DIRECTIONS)
    assert sorted(order) == list(range(len(SYNTHETIC_DIRECTIONS)))
    assert tuple(SYNTHETIC_DIRECTIONS[order[0]]) == (0.0, 0.0)
    # the octahedron's opposite vertex comes next (180° away)
    assert tuple(SYNTHETIC_DIRECTIONS[order[1]]) == (180.0, 0.0)


def test_metrics_are_zero_for_identical_irs_and_see_an_itd_shift(bench):
    irs = synthetic_irs(SYNTHETIC_DIRECTIONS).astype(np.float32)
    assert np.allclose(bench.itd_ild_lsd(irs, irs, 48000), 0.0)
    shifted = np.zeros_like(irs)
    shifted[:, 1, 2:] = irs[:, 1, :-2]
    shifted[:, 0] = irs[:, 0]
    errors = bench.itd_ild_lsd(shifted, irs, 48000)
    # cross-correlation ITD (audiokit.spatial.metrics): 2 samples, to 0.02 µs (the shift
    # drops the IRs' last 2 samples, which moves the parabolic peak by a hair)
    assert np.allclose(errors[:, 0], 2 / 48000 * 1e6, rtol=0, atol=0.02)


def test_error_vs_density_rows(bench):
    irs = synthetic_irs(SYNTHETIC_DIRECTIONS)
    hrtf = HRTF.from_irs(irs, SYNTHETIC_DIRECTIONS, 48000)
    rows = bench.error_vs_density(hrtf, (14, 10))
    assert [(r["directions"], r["method"]) for r in rows] == [
        (14, "barycentric"), (14, "nearest"), (10, "barycentric"), (10, "nearest")]
    assert rows[0]["leave_one_out"] and rows[0]["subset_size"] == 13
    # (0°, -90°) is below DENSITY_MIN_ELEVATION_DEG and not scored
    assert rows[0]["held_out"] == 13 and rows[2]["held_out"] == 4
    for row in rows:
        for metric in ("itd_us", "ild_db", "lsd_db"):
            assert np.isfinite(row[f"{metric}_mean"]) and row[f"{metric}_mean"] >= 0
            assert 0.0 <= row[f"{metric}_within_lap"] <= 1.0
