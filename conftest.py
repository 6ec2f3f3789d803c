"""Doctests of the package run in a scratch folder that holds the bundled example.

``pytest --doctest-modules audiokit`` (part of ``make test``) runs every
docstring example; they read ``examples/example.flac`` and write their outputs
(``out.flac``, ...) into a temporary folder, never into the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _doctest_scratch_folder(request, tmp_path, monkeypatch):
    if isinstance(request.node, DoctestItem):
        (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
        monkeypatch.chdir(tmp_path)
    yield
