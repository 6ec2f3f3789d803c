"""Shared harness for the ``bench_*.py`` scripts.

Each benchmark runs audiokit and its anchors on the same input in one process,
interleaved (one repeat of every contender per round, so machine noise hits all
of them alike), discards a warm-up round, and writes a JSON document with the
machine, the versions, the input, the repeats, median seconds, x-realtime and
the ratio to each anchor. Ratios, not absolute times, are the headline.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info() -> dict:
    """Describe the machine and interpreter a result was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def versions(*distributions: str) -> dict:
    """Installed versions of ``distributions`` (None when not installed)."""
    found = {}
    for name in ("audiokit", "numpy", "numba", *distributions):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def time_interleaved(
    contenders: dict[str, Callable[[], object]], *, repeats: int = 5, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each contender ``repeats`` times, interleaved, after ``warmup`` rounds.

    Returns the list of wall-clock seconds per contender (warm-up discarded).
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_index in range(warmup + repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if round_index >= warmup:
                times[name].append(elapsed)
    return times


def summarize(
    times: dict[str, list[float]], *, audio_seconds: float, subject: str
) -> dict[str, dict]:
    """Median seconds, x-realtime and ``subject``'s speed-up over every other contender."""
    medians = {name: statistics.median(values) for name, values in times.items()}
    summary = {}
    for name, values in times.items():
        summary[name] = {
            "median_s": medians[name],
            "min_s": min(values),
            "repeats": len(values),
            "x_realtime": audio_seconds / medians[name],
        }
        if name != subject:
            summary[name]["audiokit_speedup"] = medians[name] / medians[subject]
    return summary


def write_json(name: str, document: dict, out_dir: Path | None = None) -> Path:
    """Write ``document`` (plus machine info) to ``out_dir/name.json`` atomically."""
    out_dir = Path(out_dir) if out_dir is not None else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    document = {"benchmark": name, "machine": machine_info(), **document}
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, path)
    return path
