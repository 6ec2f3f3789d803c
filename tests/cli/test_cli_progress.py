"""Progress bars (docs/cli.md): on a terminal, never when piped or with --quiet, and stdout stays clean.

Each command runs as a real process with its stderr on a pseudo-terminal
(``pty``) or a pipe.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import click
import pytest

from audiokit.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "example.flac"
FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")
FRONT_LEFT = Path("/usr/share/sounds/alsa/Front_Left.wav")
SCENE = {"hrtf": "spherical-head", "sample_rate": 16000, "block_size": 256, "duration_s": 1.0,
         "sources": [{"signal": {"type": "noise", "seed": 1}, "position": [30.0, 0.0, 1.0]}]}

#: The commands with a progress bar, and what their bar counts.
PROGRESS = {"normalize": "s of audio", "transcribe": "s of audio", "moderate": "s of audio", "analyze": "files",
            "tag": "files", "spatial render": "stages", "generate": "stages", "ladder": "s of audio",
            "spatial binaural": "s of audio"}


def _command(path: str) -> click.Command:
    command: click.Command = cli
    for name in path.split():
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", sorted(PROGRESS))
def test_commands_with_a_bar_take_quiet(path):
    options = {opt: param for param in _command(path).params for opt in getattr(param, "opts", [])}
    assert "--quiet" in options and "-q" in options["--quiet"].opts, f"audiokit {path} has no -q/--quiet"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    if not FRONT_CENTER.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    folder = tmp_path_factory.mktemp("progress")
    (folder / "scene.json").write_text(json.dumps(SCENE), encoding="utf-8")
    return {"folder": str(folder), "scene": str(folder / "scene.json")}


def _arguments(path: str, files: dict[str, str]) -> list[str]:
    out = files["folder"]
    return {
        "normalize": ["normalize", str(EXAMPLE), "-o", f"{out}/normalized.flac", "--preset", "podcast", "--force",
                      "--json"],
        "transcribe": ["transcribe", str(FRONT_CENTER), "-o", out, "-f", "txt", "--beam-size", "1", "--force",
                       "--json"],
        "moderate": ["moderate", str(FRONT_CENTER), "--no-audio-checks", "--json"],
        "analyze": ["analyze", str(FRONT_CENTER), str(FRONT_LEFT), "--json"],
        "tag": ["tag", str(FRONT_CENTER), str(EXAMPLE), "--json"],
        "spatial render": ["spatial", "render", files["scene"], "-o", f"{out}/scene.wav", "--force", "--json"],
        "generate": ["generate", "-o", f"{out}/piece.wav", "--bars", "1", "--force", "--json"],
        "ladder": ["ladder", str(FRONT_CENTER), "-o", f"{out}/ladder", "--ladder", "hls-aac", "--qa", "off", "--force",
                   "--json"],
        "spatial binaural": ["spatial", "binaural", str(FRONT_CENTER), "-o", f"{out}/binaural.wav", "--azimuth", "90",
                             "--force", "--json"],
    }[path]


def run(args: list[str], *, terminal: bool, environment: dict[str, str]) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of ``audiokit ARGS``, stderr on a 100-column pseudo-terminal or a pipe."""
    command = [sys.executable, "-m", "audiokit.cli.main", *args]
    if not terminal:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
        return result.stdout, result.stderr, result.returncode
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                               env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    return stdout, b"".join(chunks).decode("utf-8", "replace"), process.wait(timeout=300)


@pytest.fixture()
def environment(tmp_path_factory) -> dict[str, str]:
    return {**os.environ, "AUDIOKIT_CACHE": str(tmp_path_factory.getbasetemp() / "cli-cache")}


#: Commands whose run is quick (the model and analysis ones load torch or librosa and are marked slow).
_QUICK = ("normalize", "transcribe", "spatial render", "generate", "ladder", "spatial binaural")


@pytest.mark.parametrize("path", [*_QUICK, *(pytest.param(path, marks=pytest.mark.slow)
                                               for path in sorted(set(PROGRESS) - set(_QUICK)))])
def test_a_bar_on_a_terminal_and_clean_json_on_stdout(path, files, environment):
    stdout, stderr, code = run(_arguments(path, files), terminal=True, environment=environment)
    assert code == 0, stderr
    assert PROGRESS[path] in stderr and "\r" in stderr, f"no progress bar on the terminal: {stderr!r}"
    json.loads(stdout)  # the bar went to stderr only


@pytest.mark.parametrize("path", ["transcribe", "generate", "ladder", "spatial binaural"])
def test_no_bar_when_piped_or_quiet(path, files, environment):
    _, piped, code = run(_arguments(path, files), terminal=False, environment=environment)
    assert code == 0, piped
    assert PROGRESS[path] not in piped and "\r" not in piped
    _, quiet, code = run([*_arguments(path, files), "--quiet"], terminal=True, environment=environment)
    assert code == 0, quiet
    assert PROGRESS[path] not in quiet and "\r" not in quiet
