"""Shared fixtures. Signal generators live in _signals.py beside this file."""

from __future__ import annotations

import os

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded per test, so every run sees the same numbers."""
    return np.random.default_rng(20261127)


#: Set by .ci/run: a test that would skip for missing data, a missing Debian package or
#: a missing extra fails instead, so CI cannot pass green with data tests silently off.
REQUIRE_DATA = os.environ.get("AUDIOKIT_REQUIRE_DATA") == "1"


def _fail_skip(report) -> None:
    if REQUIRE_DATA and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under AUDIOKIT_REQUIRE_DATA=1 (CI needs every data test to run): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under AUDIOKIT_REQUIRE_DATA=1, turn every skipped test into a failure that says what was missing."""
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a test module skipped whole (a module-level ``pytest.importorskip``)."""
    outcome = yield
    _fail_skip(outcome.get_result())
