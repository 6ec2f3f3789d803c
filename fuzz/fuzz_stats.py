"""Read a libFuzzer run's log and record its figures in ``benchmarks/results/fuzz.json``.

libFuzzer (and atheris, which embeds it) writes its progress and, with
``-print_final_stats=1``, a closing block of ``stat::`` lines to stderr; atheris
prints an uncaught Python exception to stdout. :func:`parse_libfuzzer_log`
turns that text (stderr, stdout, and ``/usr/bin/time -v``'s report when the run
was timed with it) into a :class:`FuzzStats`; :func:`record_run` stores it as
one named run of ``fuzz.json``, beside the commit, the date and the machine.
The slow tests of ``tests/fuzz/test_fuzz_io.py`` record their runs this way;
a run started by hand is recorded from its logs::

    python -m fuzz.fuzz_stats /tmp/fuzzrun/stderr.log /tmp/fuzzrun/stdout.log --run million_inputs

The formats parsed are libFuzzer's (``FuzzerLoop.cpp``: the ``#N DONE cov: ...
corp: U/S`` status line, ``Done N runs in T second(s)``, ``stat::...``,
``SUMMARY: libFuzzer: ...``, ``Test unit written to ...``), atheris's
(`` === Uncaught Python exception: ===``) and GNU time's ``-v`` report.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script or imported from tests/: the repository's benchmarks/ harness
    sys.path.insert(0, str(ROOT))

from audiokit._files import write_atomically
from benchmarks._harness import RESULTS_DIR, machine_info

__all__ = ["FuzzFinding", "FuzzStats", "checkout_state", "parse_libfuzzer_log", "record_run", "main"]

#: The results file every recorded run goes into, one entry per run name.
RESULTS_PATH = RESULTS_DIR / "fuzz.json"
#: The folders whose uncommitted changes a record lists: the code under test and the harness.
TESTED_PATHS = ("audiokit", "fuzz")

_STAT = re.compile(r"^stat::(\w+):\s+(\d+)\s*$", re.MULTILINE)
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second\(s\)\s*$", re.MULTILINE)
_SEED = re.compile(r"^INFO: Seed: (\d+)\s*$", re.MULTILINE)
_SEED_CORPUS = re.compile(r"^INFO: seed corpus: files: (\d+)", re.MULTILINE)
_STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\d+)(b|Kb|Mb)\b", re.MULTILINE)
_SUMMARY = re.compile(r"^SUMMARY: libFuzzer: (.+?)\s*$", re.MULTILINE)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_PYTHON_EXCEPTION = re.compile(r"^ === Uncaught Python exception: ===\n(.+)$", re.MULTILINE)
_TIME_COMMAND = re.compile(r'^\s*Command being timed: "(.*)"\s*$', re.MULTILINE)
_TIME_MAX_RSS = re.compile(r"^\s*Maximum resident set size \(kbytes\): (\d+)\s*$", re.MULTILINE)
_TIME_WALL = re.compile(r"^\s*Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)\s*$", re.MULTILINE)
_SIZE_UNITS = {"b": 1, "Kb": 1 << 10, "Mb": 1 << 20}


@dataclass(frozen=True)
class FuzzFinding:
    """One input libFuzzer stopped at."""

    # libFuzzer's SUMMARY: "fuzz target exited" (atheris: an uncaught Python exception),
    # "timeout", "out-of-memory", "deadly signal" (a crash in native code).
    kind: str
    # Path of the input libFuzzer wrote (crash-*, timeout-*, oom-*), as the log names it; None if not written.
    artifact: str | None
    # The exception's last line ("ValueError: ...") when atheris reported one, else None.
    exception: str | None


@dataclass(frozen=True)
class FuzzStats:
    """What one libFuzzer run reports about itself."""

    # libFuzzer's -seed (its "INFO: Seed:" line).
    seed: int | None
    # Files in the seed corpus libFuzzer loaded.
    seed_corpus_files: int | None
    # Inputs executed (stat::number_of_executed_units).
    inputs_executed: int
    # Mean inputs a second over the run (stat::average_exec_per_sec; libFuzzer rounds down to an integer).
    exec_per_s: int
    # Inputs added to the corpus for new coverage (stat::new_units_added).
    new_units_added: int
    # The slowest input, whole seconds (stat::slowest_unit_time_sec).
    slowest_unit_s: int
    # Peak resident memory as libFuzzer measured it (stat::peak_rss_mb), MB.
    peak_rss_mb: int
    # /usr/bin/time -v's "Maximum resident set size" in kB, when the run was timed with it.
    time_max_rss_kb: int | None
    # Seconds the run took: libFuzzer's "Done N runs in T second(s)", else time -v's wall clock, else None.
    duration_s: float | None
    # Inputs in the in-memory corpus at the last status line, and their total size in bytes
    # (libFuzzer prints the size in b, Kb or Mb, rounded down, so this is a lower bound).
    corpus_units: int | None
    corpus_bytes: int | None
    # Coverage at the last status line: edges ("cov") and features ("ft") of the instrumented code.
    coverage_edges: int | None
    coverage_features: int | None
    # True when libFuzzer finished on its own (-runs or -max_total_time reached: its "Done" line).
    completed: bool
    # Inputs the run stopped at (libFuzzer stops at the first one, so at most one in practice).
    findings: tuple[FuzzFinding, ...]
    # The command as /usr/bin/time -v reports it, when present.
    command: str | None

    def to_dict(self) -> dict:
        """The stats as a JSON-ready dict (findings as a list of dicts)."""
        document = asdict(self)
        document["findings"] = [asdict(finding) for finding in self.findings]
        return document


def _int(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1)) if match else None


def _wall_clock_s(value: str) -> float:
    """GNU time's ``h:mm:ss`` or ``m:ss.ss`` as seconds."""
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_libfuzzer_log(text: str) -> FuzzStats:
    """Parse the output of one libFuzzer run.

    Parameters
    ----------
    text : str
        The run's stderr, optionally followed by its stdout (where atheris prints
        an uncaught Python exception) and ``/usr/bin/time -v``'s report.

    Returns
    -------
    FuzzStats
        The final stats, the last status line's corpus and coverage, and the findings.

    Raises
    ------
    ValueError
        If the text has no ``stat::`` block (the run was not given
        ``-print_final_stats=1``, or the log is cut short).

    Examples
    --------
    >>> log = '''INFO: Seed: 7
    ... #400\tDONE   cov: 295 ft: 553 corp: 26/273Kb lim: 24055 exec/s: 0 rss: 98Mb
    ... Done 400 runs in 0 second(s)
    ... stat::number_of_executed_units: 400
    ... stat::average_exec_per_sec:     0
    ... stat::new_units_added:          28
    ... stat::slowest_unit_time_sec:    0
    ... stat::peak_rss_mb:              98
    ... '''
    >>> stats = parse_libfuzzer_log(log)
    >>> stats.inputs_executed, stats.peak_rss_mb, stats.corpus_units, stats.completed, stats.findings
    (400, 98, 26, True, ())
    """
    stats = {name: int(value) for name, value in _STAT.findall(text)}
    missing = {"number_of_executed_units", "average_exec_per_sec", "new_units_added", "slowest_unit_time_sec",
               "peak_rss_mb"} - set(stats)
    if missing:
        raise ValueError(f"the log has no stat::{sorted(missing)[0]} line; run libFuzzer with -print_final_stats=1 "
                         "and pass the whole of its stderr")
    done = _DONE.search(text)
    wall = _TIME_WALL.search(text)
    duration_s = float(done.group(2)) if done else _wall_clock_s(wall.group(1)) if wall else None
    statuses = _STATUS.findall(text)
    corpus_units = corpus_bytes = edges = features = None
    if statuses:
        _, cov, ft, units, size, unit = statuses[-1]
        corpus_units, corpus_bytes = int(units), int(size) * _SIZE_UNITS[unit]
        edges, features = int(cov), int(ft)
    exceptions = iter(_PYTHON_EXCEPTION.findall(text))
    artifacts = iter(_ARTIFACT.findall(text))
    findings = tuple(
        FuzzFinding(kind=kind, artifact=next(artifacts, None),
                    exception=next(exceptions, None) if kind == "fuzz target exited" else None)
        for kind in _SUMMARY.findall(text)
    )
    command = _TIME_COMMAND.search(text)
    return FuzzStats(
        seed=_int(_SEED, text),
        seed_corpus_files=_int(_SEED_CORPUS, text),
        inputs_executed=stats["number_of_executed_units"],
        exec_per_s=stats["average_exec_per_sec"],
        new_units_added=stats["new_units_added"],
        slowest_unit_s=stats["slowest_unit_time_sec"],
        peak_rss_mb=stats["peak_rss_mb"],
        time_max_rss_kb=_int(_TIME_MAX_RSS, text),
        duration_s=duration_s,
        corpus_units=corpus_units,
        corpus_bytes=corpus_bytes,
        coverage_edges=edges,
        coverage_features=features,
        completed=done is not None,
        findings=findings,
        command=command.group(1) if command else None,
    )


def _git(checkout: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def checkout_state(checkout: Path = ROOT) -> dict:
    """The commit of ``checkout`` and its uncommitted changes under ``audiokit/`` and ``fuzz/``.

    Taken when a run starts, so that commits made while it runs (in a shared
    working tree) are not attributed to it.
    """
    return {"commit": _git(checkout, "rev-parse", "HEAD"),
            "uncommitted_changes": _git(checkout, "diff", "--name-only", "HEAD", "--", *TESTED_PATHS).splitlines()}


def record_run(run: str, stats: FuzzStats, *, options: Sequence[str], finished: datetime, state: dict,
               path: Path = RESULTS_PATH) -> Path:
    """Store ``stats`` as ``runs[run]`` of the results file, keeping its other runs.

    Parameters
    ----------
    run : str
        The run's name in the file (``"ten_minutes"``, ``"million_inputs"``).
    stats : FuzzStats
        What :func:`parse_libfuzzer_log` read from the run's output.
    options : Sequence[str]
        The libFuzzer options the run was given (``-runs=1000000``, ...).
    finished : datetime
        When the run ended (timezone-aware).
    state : dict
        :func:`checkout_state` of the checkout whose harness and audiokit ran.
    path : Path
        The results file.

    Returns
    -------
    Path
        ``path``, written atomically.
    """
    entry = {
        "finished_utc": finished.astimezone(timezone.utc).isoformat(timespec="seconds"),
        **state,
        "options": list(options),
        "machine": machine_info(),
        **stats.to_dict(),
    }
    document = json.loads(path.read_text()) if path.exists() else {"benchmark": "fuzz", "runs": {}}
    document["runs"][run] = entry
    return write_atomically(path, json.dumps(document, indent=2) + "\n")


def _checkout_of(command: str | None) -> Path:
    """The git checkout holding the harness that ``command`` ran (this one if it names none)."""
    for word in shlex.split(command or ""):
        if word.endswith("fuzz_io.py") and Path(word).is_file():
            return Path(word).resolve().parents[1]
    return ROOT


def main(argv: Sequence[str] | None = None) -> int:
    """Record a run from its log files (the command line of this module)."""
    parser = argparse.ArgumentParser(prog="python -m fuzz.fuzz_stats",
                                     description=" ".join((__doc__ or "").split("\n\n")[0].split()))
    parser.add_argument("logs", nargs="+", type=Path,
                        help="the run's stderr, then optionally its stdout (atheris prints exceptions there)")
    parser.add_argument("--run", required=True, help="the run's name in fuzz.json, e.g. million_inputs")
    parser.add_argument("--checkout", type=Path, default=None,
                        help="the git checkout that ran, as it is now (default: the one of the fuzz_io.py "
                             "named by /usr/bin/time -v's 'Command being timed', else this one)")
    parser.add_argument("--output", "-o", type=Path, default=RESULTS_PATH, help="the results file")
    args = parser.parse_args(argv)
    try:
        stats = parse_libfuzzer_log("\n".join(log.read_text(errors="replace") for log in args.logs))
    except (OSError, ValueError) as error:
        parser.error(f"{args.logs[0]}: {error}")
    options = [word for word in shlex.split(stats.command or "") if word.startswith("-") and "=" in word]
    finished = datetime.fromtimestamp(args.logs[0].stat().st_mtime, tz=timezone.utc)
    state = checkout_state(args.checkout or _checkout_of(stats.command))
    written = record_run(args.run, stats, options=options, finished=finished, state=state, path=args.output)
    print(f"{written}: runs.{args.run}: {stats.inputs_executed} inputs, {stats.exec_per_s} exec/s, "
          f"{len(stats.findings)} findings, peak RSS {stats.peak_rss_mb} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
