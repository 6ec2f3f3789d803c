"""``--force`` on every command that writes files: an existing output is kept unless it is given.

Each behavioural case writes an output, runs the same command again without
``--force`` (exit 1, one line naming the file and ``--force``, the file
untouched) and with it (replaced).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli_vocabulary import COMMANDS, WRITES_FILES, _options

from audiokit.cli.main import cli

FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")
#: Commands that write files and replace them by design: ``catalog report`` exists to rewrite the pages
#: of a catalog, ``bench spatial`` rewrites its own results file.
REWRITE_BY_DESIGN = {"catalog report", "bench spatial"}


@pytest.mark.parametrize("path", sorted(WRITES_FILES - REWRITE_BY_DESIGN))
def test_every_writer_has_force(path):
    assert "--force" in _options(COMMANDS[path]), f"audiokit {path} writes files but has no --force"


def _cases(out: Path) -> dict[str, tuple[list[str], Path]]:
    source = str(FRONT_CENTER)
    return {
        "peaks": (["peaks", source, "-o", str(out / "p.json")], out / "p.json"),
        "spatial binaural": (["spatial", "binaural", source, "-o", str(out / "b.wav"), "--azimuth", "90"],
                             out / "b.wav"),
        "generate": (["generate", "-o", str(out / "g.wav"), "--bars", "1", "--midi", str(out / "g.mid")],
                     out / "g.mid"),
        "transcribe": (["transcribe", source, "-o", str(out), "-f", "txt"], out / "Front_Center.txt"),
        "normalize": (["normalize", source, "-o", str(out / "n.flac"), "--preset", "podcast"], out / "n.flac"),
    }


@pytest.mark.parametrize("path", ["peaks", "spatial binaural", "generate", "transcribe", "normalize"])
def test_an_existing_output_is_kept_without_force(path, tmp_path):
    if not FRONT_CENTER.is_file():
        raise AssertionError("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    arguments, output = _cases(tmp_path)[path]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(b"keep me")
    refused = CliRunner().invoke(cli, arguments)
    assert refused.exit_code in (1, 3), refused.output  # one command, or one input of a batch, failed
    assert f"{output}: exists; pass --force to replace it" in refused.output
    assert output.read_bytes() == b"keep me"
    replaced = CliRunner().invoke(cli, [*arguments, "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert output.read_bytes() != b"keep me" and os.path.getsize(output) > 0
