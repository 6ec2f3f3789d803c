"""Run one audiokit operation on one file in a fresh process; report its outcome, seconds and peak memory.

Used by the reliability tests (which check the outcome and the memory bound)
and by ``python tests/reliability/_measure.py``, which measures every corpus
case, records the rows in ``benchmarks/results/reliability.json`` and prints
them as docs/reliability.md's table (tests/reliability/test_docs_figures_reliability.py
checks that the doc's table is the file's). Peak memory is the child's high-water resident set
(``VmHWM`` in /proc/self/status; ``resource.getrusage``'s ``ru_maxrss`` where
/proc is missing). It includes the interpreter, numpy, soundfile and PyAV
(about 70 MiB). ``ru_maxrss`` alone would not do on Linux: a child inherits
its parent's high-water mark through fork and exec, so a child of a large
pytest process would report the parent's size. Seconds exclude imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
path, operation = sys.argv[1], sys.argv[2]
import audiokit
import audiokit.io.probe, audiokit.io.reader, av, numpy, soundfile  # imports are not the operation
from audiokit.errors import AudiokitError
start = time.perf_counter()
try:
    if operation == "probe":
        info = audiokit.probe(path)
        outcome = f"ok: {info.num_frames} frames at {info.sample_rate} Hz, {info.channel_layout}"
    elif operation == "read":
        audio = audiokit.read(path)
        outcome = f"ok: {audio.num_frames} frames at {audio.sample_rate} Hz"
    elif operation == "blocks":
        with audiokit.open(path) as reader:
            frames = sum(block.shape[1] for block in reader.blocks(65536))
        outcome = f"ok: {frames} frames"
    else:
        raise SystemExit(f"unknown operation {operation}")
    kind = "ok"
except AudiokitError as error:
    kind, outcome = type(error).__name__, str(error)
except BaseException as error:  # what the test must never see
    kind, outcome = "unclean " + type(error).__name__, str(error)
seconds = time.perf_counter() - start
try:
    with open("/proc/self/status") as status:
        peak_mib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
except OSError:
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"kind": kind, "outcome": outcome, "seconds": seconds, "peak_mib": peak_mib}))
"""


def measure(path: Path, operation: str, *, timeout_s: float = 120.0) -> dict:
    """``{"kind", "outcome", "seconds", "peak_mib"}`` of ``operation`` (probe, read, blocks) on ``path``."""
    result = subprocess.run([sys.executable, "-c", _CHILD, str(path), operation], capture_output=True, check=False,
                            text=True, timeout=timeout_s)
    if result.returncode != 0 or not result.stdout.strip():
        return {"kind": f"crashed (exit {result.returncode})", "outcome": result.stderr[-500:],
                "seconds": float("nan"), "peak_mib": float("nan")}
    return json.loads(result.stdout.strip().splitlines()[-1])


#: docs/reliability.md's table: the operations measured on every case, and its header
OPERATIONS = ("probe", "read")
TABLE_HEADER = ("| case | file size | operation | reference (ffmpeg full decode) | result | seconds | peak MiB |",
                "|---|---|---|---|---|---|---|")


def measure_corpus() -> list[dict]:
    """Every corpus case under each of :data:`OPERATIONS`, each measured in a fresh process.

    Returns one row per case and operation: ``case``, ``file_size_bytes``,
    ``operation``, ``reference`` (ffmpeg's full decode of the file), ``kind``
    (``ok``, the exception's class, ``unclean ...`` or ``crashed ...``),
    ``outcome`` (its message, without the scratch folder), ``seconds`` and
    ``peak_mib`` (None when the process crashed).
    """
    import tempfile

    import _corpus

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name, maker in _corpus.CASES.items():
            path = maker(folder)
            try:
                frames, rate = _corpus.ffmpeg_decode_count(path) if name not in _corpus.NO_REFERENCE else (0, 0)
                reference = f"{frames} frames at {rate} Hz" if frames else "-"
            except Exception as error:  # noqa: BLE001 - the reference decoder's own failure is part of the row
                reference = f"ffmpeg fails ({type(error).__name__})"
            for operation in OPERATIONS:
                row = measure(path, operation)
                crashed = row["seconds"] != row["seconds"]  # NaN: no figures came back
                rows.append({"case": name, "file_size_bytes": path.stat().st_size, "operation": operation,
                             "reference": reference, "kind": row["kind"],
                             "outcome": row["outcome"].replace(str(folder) + "/", ""),
                             "seconds": None if crashed else row["seconds"],
                             "peak_mib": None if crashed else row["peak_mib"]})
    return rows


def table_lines(rows: list[dict]) -> list[str]:
    """docs/reliability.md's table of ``rows`` (:func:`measure_corpus`): seconds to 1 ms, memory to 1 MiB."""
    lines = list(TABLE_HEADER)
    for row in rows:
        outcome = row["outcome"].replace("|", "/")
        if row["kind"] != "ok":
            outcome = f"{row['kind']}: {outcome}"
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.3f}"
        peak = "-" if row["peak_mib"] is None else f"{row['peak_mib']:.0f}"
        lines.append(f"| {row['case']} | {row['file_size_bytes']:,} B | {row['operation']} | {row['reference']} | "
                     f"{outcome} | {seconds} | {peak} |")
    return lines


def record_corpus() -> dict:
    """Measure the corpus (:func:`measure_corpus`) and record it as ``corpus`` in ``benchmarks/results/reliability.json``."""
    from _results import RESULTS_DIR, checkout_state, load_average, record, utc_now

    started = {**checkout_state(), "date_utc": utc_now(), "load_average_before": load_average()}
    rows = measure_corpus()
    return record(RESULTS_DIR / "reliability.json", "corpus", {
        "command": "python tests/reliability/_measure.py", "operations": list(OPERATIONS), **started,
        "load_average_after": load_average(), "rows": rows})


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]  # _corpus, and tests/'s _results
    print("\n".join(table_lines(record_corpus()["rows"])))
