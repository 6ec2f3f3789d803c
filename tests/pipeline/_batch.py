"""Inputs and manifest helpers of the pipeline tests (``from _batch import ...``: tests/pipeline is on sys.path)."""

from __future__ import annotations

from pathlib import Path

import audiokit
from audiokit.pipeline import read_manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "example.flac"
#: Manifest keys that measure time, so differ from run to run.
TIMING_KEYS = {"seconds", "created_utc"}


def music(path: Path, seconds: float = 3.0, sample_rate: int = 44100, seed: int = 0) -> Path:
    """An excerpt of the bundled example (synthesized pop), starting at ``seed`` seconds."""
    example = audiokit.read(EXAMPLE, sample_rate=sample_rate)
    start = round(seed * sample_rate)
    frames = round(seconds * sample_rate)
    assert start + frames <= example.num_frames, "excerpt past the example's end"
    return audiokit.write(path, audiokit.Audio(example.samples[:, start:start + frames], sample_rate))


def without_timings(value):
    """A manifest (or part of one) without its timing keys."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items() if key not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


def manifests(out: Path) -> dict:
    """track id -> manifest without timings, for every complete track under ``out``."""
    return {path.parent.name: without_timings(read_manifest(path)) for path in sorted(out.glob("tracks/*/manifest.json"))}


def partial_folders(out: Path) -> list[Path]:
    """Hidden ``.ID.partial-*`` folders under ``out/tracks`` (work in progress or left by a crash)."""
    return sorted((out / "tracks").glob(".*.partial-*"))


def live_children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, zombies left out (read from procfs)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ingest_workers(pid: int) -> list[int]:
    """The ingest worker processes of the driver ``pid`` (:mod:`audiokit.pipeline.child_process` children)."""
    workers = []
    for child in live_children(pid):
        try:
            if "audiokit.pipeline.child_process" in Path(f"/proc/{child}/cmdline").read_text():
                workers.append(child)
        except OSError:  # it exited meanwhile
            pass
    return workers


def compiler_resident_kb(pid: int) -> int:
    """Resident KB of LLVM's shared library (Numba's compiler) in process ``pid`` (its smaps)."""
    total, mapping = 0, ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):
            mapping = fields[5] if len(fields) > 5 else ""
        elif fields[:1] == ["Rss:"] and "libllvmlite" in mapping:
            total += int(fields[1])
    return total
