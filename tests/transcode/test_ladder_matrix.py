"""The "Done when" source matrix: every preset from FLAC, WAV, MP3 and M4A sources
at 44.1/48/96 kHz, mono/stereo/5.1, with every QA check green.

Sources are short (:data:`EXCERPT_S`) excerpts of ``examples/example.flac``
(real-instrument-like synthesized music), resampled with ``audiokit.read(...,
sample_rate=...)`` and up/downmixed. MP3 cannot exceed 48 kHz or 2 channels:
those MP3 sources are built at the nearest valid setting (96 kHz -> 48 kHz,
5.1 -> stereo), so their rows repeat a 48 kHz or stereo case through an MP3
generation step and the test says so in its id (``mp3-96000->48000``).

The full matrix is 4 formats x 3 rates x 3 layouts x 3 presets = 108 ladders,
too long for the default run on a loaded 2-core machine. The default run builds
a pairwise sample of 12 (:data:`PAIRWISE`: every pair of format/rate/layout/preset
values covered at least once); the slow lane (``pytest -m slow
tests/transcode/test_ladder_matrix.py``) builds all 108 and, when every one of
them ran, writes what it found to ``benchmarks/results/ladder_matrix.json``
(:data:`RESULTS`): per combination pass/fail with the error, each rendition's QA
measurements, and the audiokit version and commit that was tested.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import audiokit
from audiokit._files import write_atomically
from audiokit.io.resample import output_length
from audiokit.transcode import LADDER_MANIFEST, build_ladder
from audiokit.transcode.rungs import CODECS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "example.flac"
#: Where the slow lane's full run records its outcome.
RESULTS = REPO / "benchmarks" / "results" / "ladder_matrix.json"
#: Excerpt of the example: start and length, seconds (non-round length on purpose).
EXCERPT_START_S = 4.0
EXCERPT_S = 2.345678
FORMATS = ("flac", "wav", "mp3", "m4a")
RATES = (44100, 48000, 96000)
LAYOUTS = (1, 2, 6)
PRESETS = ("spotify-like", "hls-aac", "podcast")
#: What MP3 can carry: rates up to 48 kHz, 1 or 2 channels.
MP3_MAX_RATE = 48000
MP3_MAX_CHANNELS = 2
TAGS = {"title": "Matrix", "artist": "audiokit"}


def _pairwise() -> list[tuple[str, int, int, str]]:
    """A covering array of strength 2 over FORMATS x RATES x LAYOUTS x PRESETS.

    Greedy: repeatedly take the full-matrix row covering the most pairs not yet
    covered (ties: first in itertools.product order), so the set is deterministic.
    """
    factors = (FORMATS, RATES, LAYOUTS, PRESETS)
    rows = list(itertools.product(*factors))

    def pairs(row):
        return {(i, row[i], j, row[j]) for i, j in itertools.combinations(range(len(row)), 2)}

    uncovered = set().union(*(pairs(row) for row in rows))
    chosen = []
    while uncovered:
        best = max(rows, key=lambda row: len(pairs(row) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


FULL = list(itertools.product(FORMATS, RATES, LAYOUTS, PRESETS))
PAIRWISE = _pairwise()


def _actual(fmt: str, rate: int, channels: int) -> tuple[int, int]:
    """The rate and channels a source of ``fmt`` is built at (MP3: nearest valid)."""
    if fmt == "mp3":
        return min(rate, MP3_MAX_RATE), min(channels, MP3_MAX_CHANNELS)
    return rate, channels


@functools.lru_cache(maxsize=None)
def _excerpt(rate: int) -> np.ndarray:
    """Stereo excerpt of the example at ``rate``, float32 (2, frames)."""
    audio = audiokit.read(EXAMPLE, sample_rate=rate)
    start = round(EXCERPT_START_S * rate)
    return audio.samples[:, start:start + round(EXCERPT_S * rate)]


def _layout(stereo: np.ndarray, channels: int, rate: int) -> np.ndarray:
    """Mono (mean), stereo, or a 5.1 (L R C LFE Ls Rs) spread of a stereo excerpt."""
    left, right = stereo
    if channels == 1:
        return ((left + right) / 2)[None]
    if channels == 2:
        return stereo.copy()
    delay = round(0.012 * rate)  # surrounds: delayed and quieter, so they are not copies of the fronts
    surround_l, surround_r = (np.concatenate([np.zeros(delay, np.float32), x[:-delay]]) for x in (left, right))
    width = round(rate / 200)  # LFE: a box low-pass of the mono sum, about 200 Hz
    lfe = np.convolve((left + right) / 2, np.ones(width, np.float32) / width, mode="same")
    return (np.stack([left, right, 0.5 * (left + right), lfe, surround_l, surround_r])
            * np.float32(0.5)).astype(np.float32)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Build each (format, rate, channels) source once for all the presets that use it."""
    folder = tmp_path_factory.mktemp("matrix-sources")
    options = {"flac": {"bit_depth": 24}, "wav": {"bit_depth": 16}, "mp3": {"bitrate_bps": 320_000},
               "m4a": {"bitrate_bps": 320_000}}
    built = {}

    def get(fmt: str, rate: int, channels: int) -> Path:
        rate, channels = _actual(fmt, rate, channels)
        key = (fmt, rate, channels)
        if key not in built:
            path = folder / f"source-{rate}-{channels}.{fmt}"
            samples = _layout(_excerpt(rate), channels, rate)
            audiokit.write(path, audiokit.Audio(samples, rate), tags=TAGS, **options[fmt])
            built[key] = path
        return built[key]

    return get


def _row_id(row) -> str:
    fmt, rate, channels, preset = row
    actual_rate, actual_channels = _actual(fmt, rate, channels)
    rate_id = f"{rate}->{actual_rate}" if actual_rate != rate else str(rate)
    channel_id = f"{channels}ch->{actual_channels}ch" if actual_channels != channels else f"{channels}ch"
    return f"{fmt}-{rate_id}-{channel_id}-{preset}"


def test_pairwise_sample_covers_every_pair():
    for i, j in itertools.combinations(range(4), 2):
        wanted = {(row[i], row[j]) for row in FULL}
        assert {(row[i], row[j]) for row in PAIRWISE} == wanted
    assert len(PAIRWISE) < len(FULL) / 4


def _check_row(sources, out_dir: Path, row, record: dict) -> None:
    """Build one ladder of the matrix and assert every QA verdict; fill ``record`` on the way."""
    fmt, rate, channels, preset = row
    source = sources(fmt, rate, channels)
    decoded = audiokit.read(source)
    record.update(source_sample_rate=decoded.sample_rate, source_num_channels=decoded.num_channels,
                  source_num_frames=decoded.num_frames)
    result = build_ladder(source, out_dir, ladder=preset)
    record["ladder_failures"] = [str(failure) for failure in result.failures]
    record["renditions"] = [{"name": r.name, "codec": r.codec, "bitrate_bps": r.bitrate_bps,
                             "sample_rate": r.sample_rate, "num_channels": r.num_channels,
                             "num_frames": r.num_frames, "qa": r.qa.to_dict() if r.qa else None}
                            for r in result.renditions]
    assert result.failures == ()
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [r.path for r in result.renditions] + [LADDER_MANIFEST])
    requested = {rung.name: rung for rung in result.rungs}
    for rendition in result.renditions:
        qa = rendition.qa
        assert qa is not None and qa.failures == (), rendition.name
        assert qa.num_frames == rendition.num_frames, rendition.name
        assert rendition.num_frames == output_length(decoded.num_frames, decoded.sample_rate, rendition.sample_rate)
        assert abs(qa.offset_frames) <= qa.offset_tolerance_frames, rendition.name
        limit = requested[rendition.name].num_channels or decoded.num_channels
        expected_channels = min(limit, decoded.num_channels, CODECS[rendition.codec].max_channels)
        assert rendition.num_channels == expected_channels, rendition.name
        if rendition.codec == "mp3":
            assert rendition.num_channels <= MP3_MAX_CHANNELS and rendition.sample_rate <= MP3_MAX_RATE
        if qa.bit_exact is not None:
            assert qa.bit_exact, rendition.name


def _tested_code() -> dict:
    """The audiokit version and git commit under test, and the files under audiokit/ that differ from it."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", "audiokit")
    return {"audiokit": audiokit.__version__, "commit": None if commit is None else commit.strip(),
            "uncommitted": None if status is None else [line[3:] for line in status.splitlines()]}


@pytest.fixture(scope="module")
def matrix_results():
    """Per-row records of the full run; written to :data:`RESULTS` when all of :data:`FULL` ran."""
    records: dict[str, dict] = {}
    tested = _tested_code()  # before the run: the code these rows were built with
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    yield records
    if len(records) < len(FULL):
        return  # a partial run (-k, -x, an interrupt) leaves the recorded full run in place
    rows = [records[_row_id(row)] for row in FULL]
    versions = {name: metadata.version(name) for name in ("numpy", "av", "soundfile")}
    document = {
        "benchmark": "ladder_matrix",
        "command": "pytest -m slow tests/transcode/test_ladder_matrix.py",
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tested": tested,
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "versions": {"python": platform.python_version(), **versions},
        "excerpt_s": EXCERPT_S,
        "wall_s": round(time.perf_counter() - started, 1),
        "combinations": len(rows),
        "passed": sum(row["outcome"] == "passed" for row in rows),
        "failed": [row["id"] for row in rows if row["outcome"] != "passed"],
        "rows": rows,
    }
    write_atomically(RESULTS, json.dumps(document, indent=1) + "\n")


@pytest.mark.parametrize("row", PAIRWISE, ids=[_row_id(row) for row in PAIRWISE])
def test_pairwise_sample_builds_with_green_qa(sources, tmp_path, row):
    _check_row(sources, tmp_path / "ladder", row, {})


@pytest.mark.slow
@pytest.mark.parametrize("row", FULL, ids=[_row_id(row) for row in FULL])
def test_source_matrix_builds_with_green_qa(sources, tmp_path, matrix_results, row):
    fmt, rate, channels, preset = row
    record: dict = {"id": _row_id(row), "format": fmt, "rate": rate, "channels": channels, "preset": preset,
                    "outcome": "failed"}
    matrix_results[record["id"]] = record
    started = time.perf_counter()
    try:
        _check_row(sources, tmp_path / "ladder", row, record)
    except BaseException as error:  # recorded, then raised: the row still fails
        record["error"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        record["wall_s"] = round(time.perf_counter() - started, 2)
    record["outcome"] = "passed"
