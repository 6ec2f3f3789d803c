"""The public API is typed: mypy sees through the lazy top level and accepts the README's Python."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mypy", reason="mypy comes with the test extra (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    """Run mypy on one file; the runs share one cache (the first pays for the package)."""
    cache = tmp_path_factory.mktemp("mypy_cache")

    def run(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context", "--ignore-missing-imports",
             "--follow-imports=silent",
             "--cache-dir", str(cache), str(path)],
            capture_output=True, text=True, cwd=ROOT, timeout=600,
        )

    return run


def test_lazy_top_level_names_have_their_real_types(tmp_path, mypy):
    probe = tmp_path / "reveal.py"
    probe.write_text(
        "import audiokit\n"
        "reveal_type(audiokit.read)\n"
        "reveal_type(audiokit.as_audio)\n"
        "reveal_type(audiokit.open('x.flac'))\n"
    )
    result = mypy(probe)
    revealed = [line for line in result.stdout.splitlines() if "Revealed type" in line]
    assert len(revealed) == 3, result.stdout + result.stderr
    assert "audiokit.audio.Audio" in revealed[0] and "Any" not in revealed[0]
    assert "audiokit.audio.Audio" in revealed[1]
    assert "AudioReader" in revealed[2]


def test_readme_python_examples_type_check(tmp_path, mypy):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "the README has Python examples"
    snippet = tmp_path / "readme_examples.py"
    snippet.write_text("\n".join(blocks))
    result = mypy(snippet)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_flags_a_wrong_call(tmp_path, mypy):
    # The check above can fail: a call with the wrong argument type is reported.
    wrong = tmp_path / "wrong.py"
    wrong.write_text("import audiokit\naudiokit.read('x.flac', sample_rate='fast')\n")
    result = mypy(wrong)
    assert result.returncode == 1 and "sample_rate" in result.stdout, result.stdout
