"""Shared fixtures. Signal generators live in _signals.py beside this file."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded per test, so every run sees the same numbers."""
    return np.random.default_rng(20261127)
