"""Short and long atheris runs of fuzz/fuzz_io.py, seeded with fuzz/make_corpus.py's valid files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is in the test extra on Linux only")

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "fuzz" / "fuzz_io.py"


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
        [sys.executable, str(HARNESS), str(work), str(corpus), "-rss_limit_mb=2048", "-timeout=10",
         f"-artifact_prefix={tmp_path}/", *options],
        capture_output=True, check=False, text=True, timeout=timeout_s, cwd=tmp_path,
    )


def _assert_clean(result: subprocess.CompletedProcess, tmp_path: Path) -> None:
    findings = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert result.returncode == 0 and not findings, f"{findings}\n{result.stderr[-4000:]}"
    assert "Done" in result.stderr


def test_a_few_thousand_inputs_find_nothing(corpus, tmp_path):
    """3,000 mutated inputs (about 15 s here): every one decodes consistently or is an AudiokitError."""
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


@pytest.mark.slow
def test_ten_minutes_of_fuzzing_find_nothing(corpus, tmp_path):
    result = _fuzz(corpus, tmp_path, "-max_total_time=600", "-seed=1")
    _assert_clean(result, tmp_path)


@pytest.mark.slow
def test_a_million_inputs_find_nothing(corpus, tmp_path):
    """The issue's long run: 10^6 inputs of probe/read/open (about 1 to 2 hours on 2 cores; docs/reliability.md)."""
    result = _fuzz(corpus, tmp_path, "-runs=1000000", "-seed=20261205", "-print_final_stats=1", timeout_s=6 * 3600)
    _assert_clean(result, tmp_path)
    assert "stat::number_of_executed_units: 1000000" in result.stderr
