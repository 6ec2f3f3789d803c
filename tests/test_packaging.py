"""The installed package: audiokit.cli and audiokit.models import from an editable
install and from a built wheel, and no top-level `cli` or `models` is installed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = {"audiokit": ROOT / "audiokit", "audiokit.cli": ROOT / "cli", "audiokit.models": ROOT / "models"}


def test_installed_package_exposes_cli_and_models():
    code = ("import audiokit.cli.main, audiokit.models, sys; "
            "print(audiokit.cli.main.__file__); print(audiokit.models.__file__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=60)
    assert result.returncode == 0, result.stderr
    cli_file, models_file = result.stdout.split()
    assert Path(cli_file).parent.name == "cli" and Path(models_file).parent.name == "models"


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for name, folder in PACKAGE_ROOTS.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.slow
def test_built_wheel_maps_cli_and_models_under_audiokit(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("audiokit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "audiokit/cli/main.py" in names and "audiokit/models/__init__.py" in names
    top_level = {name.split("/")[0] for name in names}
    assert not top_level & {"cli", "models", "tests", "benchmarks"}
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    code = "import audiokit.cli.main, audiokit.models, audiokit; print(audiokit.__file__)"
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path),
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(target))
