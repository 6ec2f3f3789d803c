"""Start-up stays light: `import audiokit` and `audiokit --help` load no numerical stack."""

from __future__ import annotations

import subprocess
import sys

#: Modules that cost hundreds of milliseconds to import (numba also loads cached kernels).
HEAVY = ("numpy", "scipy", "librosa", "numba", "torch", "av", "soundfile")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint('loaded:', *(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split()[1:]


def test_import_audiokit_loads_none_of_the_numerical_stack():
    assert _imported_after("import audiokit") == []


def test_help_loads_none_of_the_numerical_stack():
    code = ("from audiokit.cli.main import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass")
    assert _imported_after(code) == []


def test_the_first_use_loads_what_it_needs():
    assert "numpy" in _imported_after("import audiokit\naudiokit.Audio")


def test_the_ingest_process_leaves_the_numerical_stack_to_its_worker(tmp_path):
    """`audiokit ingest` runs each track in a worker process: the driver needs numpy, not numba, PyAV or scipy."""
    code = ("from audiokit.cli.main import cli\n"
            f"try:\n    cli(['ingest', 'examples/example.flac', '-o', {str(tmp_path / 'out')!r}, '-q'])\n"
            "except SystemExit as exit:\n    assert not exit.code, exit.code")
    assert _imported_after(code) == ["numpy"]
    assert list((tmp_path / "out" / "tracks").glob("*/manifest.json"))
