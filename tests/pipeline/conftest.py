"""Fixtures of the pipeline tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ray_runtime():
    """A local Ray runtime of 2 CPUs for one test module (``ingest`` joins it and leaves it running)."""
    ray = pytest.importorskip("ray", reason="needs the optional extra audiokit[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
