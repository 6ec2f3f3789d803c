"""Figures that tests measure, recorded in ``benchmarks/results/*.json`` for docs/ to quote.

A test whose figures a doc quotes writes them into a results file, one entry
per case (an episode, an evaluation set), with the checkout and machine they
were measured on; the ``tests/models/test_docs_figures_*.py`` checks compare
the docs' tables with those files, so a quoted figure names its file and field
and cannot drift from it. Writes are atomic (:func:`audiokit._files.write_atomically`),
and each entry replaces only itself, so cases run separately (``-k``, the slow
ones another day) fill one file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from audiokit._files import write_atomically

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks' harness is the one home of a result's machine description
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import RESULTS_DIR, machine_info  # noqa: E402

__all__ = ["RESULTS_DIR", "checkout_state", "load_average", "read_results", "record", "utc_now"]

#: the folders whose uncommitted changes :func:`checkout_state` lists: the code a measured figure depends on
TESTED_PATHS = ("audiokit", "cli", "models", "tests")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


@cache
def checkout_state(paths: tuple[str, ...] = TESTED_PATHS) -> dict:
    """The commit under test and the files under ``paths`` that differ from it, taken once per process.

    A process runs the code it imported when it started; in a shared working
    tree, commits and edits made while it runs must not be attributed to its
    later measurements, so the first call's answer is kept (call it when the
    session starts measuring).
    """
    return {"commit": _git("rev-parse", "HEAD"),
            "uncommitted_changes": _git("diff", "--name-only", "HEAD", "--", *paths).splitlines()}


def load_average() -> float:
    """The machine's 1-minute load average, rounded to 0.01 (the other processes a figure shared the CPUs with)."""
    return round(os.getloadavg()[0], 2)


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_results(path: Path) -> dict:
    """The results document at ``path`` ({} when there is none yet)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def record(path: Path, key: str | Sequence[str], figures: dict, *, machine: bool = True) -> dict:
    """Store ``figures`` as the entry ``key`` of the results file ``path``, keeping its other entries.

    Parameters
    ----------
    path : Path
        The results file (JSON, written atomically, indented by 2).
    key : str or sequence of str
        The entry's name, or its path through nested objects (``("bleep", "tuning")``);
        missing objects on the way are created.
    figures : dict
        The entry, replacing an older one of the same key (JSON-serializable).
    machine : bool
        Add ``figures["machine"]``, :func:`benchmarks._harness.machine_info` of this machine.

    Returns
    -------
    dict
        The entry as written.
    """
    keys = [key] if isinstance(key, str) else list(key)
    entry = {**figures, "machine": machine_info()} if machine else dict(figures)
    document = read_results(path)
    parent = document
    for name in keys[:-1]:
        parent = parent.setdefault(name, {})
    parent[keys[-1]] = entry
    write_atomically(path, json.dumps(document, indent=2) + "\n")
    return entry
