"""The stored K-weighting shelf fits equal a fresh fit, and using them needs no optimizer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from audiokit.loudness._kweighting_fits import FITTED_SHELVES
from audiokit.loudness.kweighting import _magnitude_db, _refined_shelf

#: The fit is deterministic; a stored and a fresh fit may differ in the last bits of
#: least_squares' iterations across scipy builds, far below anything a meter resolves.
RESPONSE_TOL_DB = 1e-6


@pytest.mark.parametrize("rate", sorted(FITTED_SHELVES))
def test_stored_fit_equals_a_fresh_fit(rate):
    stored_b, stored_a = (np.array(row) for row in FITTED_SHELVES[rate])
    fresh_b, fresh_a = _refined_shelf(rate)
    freqs = np.geomspace(10.0, 0.49 * rate, 400)
    np.testing.assert_allclose(_magnitude_db(stored_b, stored_a, freqs, rate),
                               _magnitude_db(fresh_b, fresh_a, freqs, rate), atol=RESPONSE_TOL_DB)


def test_measuring_at_a_common_rate_does_not_import_scipy_optimize():
    # numba imports scipy's light top level itself; the optimizer costs ~0.4 s more.
    code = ("import sys, numpy as np\nfrom audiokit.loudness import measure\n"
            "measure(np.zeros((2, 44100), np.float32) + 0.1, 44100)\nprint('scipy.optimize' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
