"""Short and long atheris runs of fuzz/fuzz_io.py, seeded with fuzz/make_corpus.py's valid files.

The long runs (slow lane) record libFuzzer's final stats in
benchmarks/results/fuzz.json through fuzz/fuzz_stats.py, whose parser is
checked here on captured logs (tests/fuzz/libfuzzer_logs/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is in the test extra on Linux only")

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "fuzz" / "fuzz_io.py"
LOGS = Path(__file__).resolve().parent / "libfuzzer_logs"
#: Options of every run; -print_final_stats=1 makes libFuzzer print the stat:: block fuzz_stats.py reads.
OPTIONS = ("-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1")

sys.path.insert(0, str(ROOT / "fuzz"))
try:
    from fuzz_stats import checkout_state, parse_libfuzzer_log, record_run
    from fuzz_stats import main as record_from_logs
finally:
    sys.path.remove(str(ROOT / "fuzz"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "fuzz"))
    try:
        from make_corpus import make_corpus
    finally:
        sys.path.remove(str(ROOT / "fuzz"))
    folder = tmp_path_factory.mktemp("fuzz-corpus")
    assert len(make_corpus(folder)) >= 15
    return folder


def _fuzz(corpus: Path, tmp_path: Path, *options: str, timeout_s: float = 900) -> subprocess.CompletedProcess:
    # New inputs go to a scratch folder (first), the seeds are read only (second).
    work = tmp_path / "grown"
    work.mkdir()
    return subprocess.run(
        [sys.executable, str(HARNESS), str(work), str(corpus), *OPTIONS, f"-artifact_prefix={tmp_path}/", *options],
        capture_output=True, check=False, text=True, timeout=timeout_s, cwd=tmp_path,
    )


def _record(run: str, result: subprocess.CompletedProcess, state: dict, *options: str) -> None:
    """Write the run's stats into benchmarks/results/fuzz.json (findings included) before any assertion."""
    stats = parse_libfuzzer_log(result.stderr + "\n" + result.stdout)
    record_run(run, stats, options=[*OPTIONS, *options], finished=datetime.now(timezone.utc), state=state)


def _assert_clean(result: subprocess.CompletedProcess, tmp_path: Path) -> None:
    findings = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert result.returncode == 0 and not findings, f"{findings}\n{result.stderr[-4000:]}"
    assert "Done" in result.stderr


def test_a_few_thousand_inputs_find_nothing(corpus, tmp_path):
    """3,000 mutated inputs: every one decodes consistently or is an AudiokitError."""
    result = _fuzz(corpus, tmp_path, "-runs=3000", "-seed=20261205", "-max_total_time=55")
    _assert_clean(result, tmp_path)


def test_earlier_findings_stay_fixed(tmp_path):
    """Each input in fuzz/regressions/ (one a finding of an earlier run) runs once, cleanly, in a fresh harness."""
    findings = sorted((ROOT / "fuzz" / "regressions").iterdir())
    assert findings
    result = subprocess.run([sys.executable, str(HARNESS), *map(str, findings)], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stderr.count("Executed ") == len(findings)


def test_final_stats_of_a_clean_run_are_read():
    """A 3,000-input run of fuzz_io.py under /usr/bin/time -v, as captured."""
    stats = parse_libfuzzer_log((LOGS / "harness-3000-runs-timed.log").read_text())
    assert (stats.inputs_executed, stats.exec_per_s, stats.new_units_added, stats.peak_rss_mb) == (3000, 428, 87, 83)
    assert (stats.seed, stats.seed_corpus_files, stats.completed, stats.findings) == (20261205, 15, True, ())
    assert (stats.corpus_units, stats.corpus_bytes) == (34, 241 * 1024)
    assert (stats.coverage_edges, stats.coverage_features) == (297, 566)
    assert (stats.duration_s, stats.time_max_rss_kb) == (7.0, 86456)
    assert stats.command is not None and stats.command.endswith("-runs=3000 -seed=20261205 -print_final_stats=1")


@pytest.mark.parametrize(("log", "kind", "artifact", "exception", "inputs", "peak_rss_mb"), [
    ("python-exception.log", "fuzz target exited", "crash-57ddac87207c6f0fa25afffd4fc2b00a5611c78a",
     "ValueError: negative dimensions are not allowed", 3, 40),
    ("timeout.log", "timeout", "timeout-6e2ba0d23070d95812ea24c2b16d0bd99ea58085", None, 2, 40),
    ("out-of-memory.log", "out-of-memory", "oom-91a9553679c81fc3e97fff126bb79aebda2785c8", None, 2, 740),
])
def test_a_finding_is_read_with_its_kind_and_input(log, kind, artifact, exception, inputs, peak_rss_mb):
    """Runs that stopped at a finding: atheris targets that raise, sleep past -timeout, hold past -rss_limit_mb."""
    stats = parse_libfuzzer_log((LOGS / log).read_text())
    assert len(stats.findings) == 1 and not stats.completed and stats.duration_s is None
    finding = stats.findings[0]
    assert (finding.kind, Path(finding.artifact).name, finding.exception) == (kind, artifact, exception)
    assert (stats.inputs_executed, stats.peak_rss_mb) == (inputs, peak_rss_mb)


def test_a_log_without_final_stats_is_refused(tmp_path, capsys):
    """A run still going (or started without -print_final_stats=1) is refused, and nothing is written."""
    cut = tmp_path / "stderr.log"
    cut.write_text((LOGS / "harness-3000-runs-timed.log").read_text().split("stat::")[0])
    with pytest.raises(ValueError, match="-print_final_stats=1"):
        parse_libfuzzer_log(cut.read_text())
    with pytest.raises(SystemExit) as stopped:
        record_from_logs([str(cut), "--run", "x", "-o", str(tmp_path / "fuzz.json")])
    assert stopped.value.code == 2 and "stderr.log: the log has no stat::" in capsys.readouterr().err
    assert not (tmp_path / "fuzz.json").exists()


def _head() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_runs_are_recorded_side_by_side_with_the_commit(tmp_path):
    """The command line records a run from its log; a second run keeps the first one's entry."""
    results = tmp_path / "fuzz.json"
    heads = {_head()}
    assert record_from_logs([str(LOGS / "harness-3000-runs-timed.log"), "--run", "short", "-o", str(results),
                             "--checkout", str(ROOT)]) == 0
    finding = parse_libfuzzer_log((LOGS / "timeout.log").read_text())
    record_run("stopped", finding, options=["-timeout=1"], finished=datetime(2026, 12, 5, tzinfo=timezone.utc),
               state=checkout_state(), path=results)
    heads.add(_head())  # the checkout may gain a commit meanwhile
    runs = json.loads(results.read_text())["runs"]
    assert set(runs) == {"short", "stopped"}
    assert {runs["short"]["commit"], runs["stopped"]["commit"]} <= heads
    assert all(path.startswith(("audiokit/", "fuzz/")) for path in runs["short"]["uncommitted_changes"])
    assert runs["short"]["inputs_executed"] == 3000 and runs["short"]["findings"] == []
    assert runs["short"]["options"] == ["-rss_limit_mb=2048", "-timeout=10", "-artifact_prefix=/tmp/figures/",
                                        "-runs=3000", "-seed=20261205", "-print_final_stats=1"]
    assert runs["stopped"]["findings"][0]["kind"] == "timeout"
    assert runs["stopped"]["finished_utc"] == "2026-12-05T00:00:00+00:00"


@pytest.mark.slow
def test_ten_minutes_of_fuzzing_find_nothing(corpus, tmp_path):
    options, state = ("-max_total_time=600", "-seed=1"), checkout_state()
    result = _fuzz(corpus, tmp_path, *options)
    _record("ten_minutes", result, state, *options)
    _assert_clean(result, tmp_path)


@pytest.mark.slow
def test_a_million_inputs_find_nothing(corpus, tmp_path):
    """The issue's long run: 10^6 inputs of probe/read/open (benchmarks/results/fuzz.json, runs.million_inputs)."""
    options, state = ("-runs=1000000", "-seed=20261205"), checkout_state()
    result = _fuzz(corpus, tmp_path, *options, timeout_s=6 * 3600)
    _record("million_inputs", result, state, *options)
    _assert_clean(result, tmp_path)
    assert "stat::number_of_executed_units: 1000000" in result.stderr
