"""``-`` for stdin and stdout (docs/cli.md): which commands take it, and real audio piped through each.

The commands are found by walking the click tree (an audio input argument of
type ``AudioPath`` takes stdin; an output that allows a dash takes stdout) and
must be exactly the table in docs/cli.md; each is then run as a real process
with real audio on its stdin or its result read from its stdout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest

import audiokit
from audiokit.cli.main import cli
from audiokit.cli.stdio import AUDIO_FORMATS, AudioPath

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "example.flac"
FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")
SCENE = {
    "hrtf": "spherical-head", "sample_rate": 16000, "block_size": 256, "duration_s": 0.5,
    "sources": [{"signal": {"type": "noise", "seed": 1}, "gain_db": -6.0,
                 "trajectory": [[0.0, 0.0, 0.0, 1.0], [0.5, 180.0, 20.0, 2.0]]},
                {"signal": {"type": "sine", "frequency_hz": 300.0}, "position": [90.0, 0.0, 1.0]}],
}


def _leaves(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


COMMANDS = dict(_leaves(cli))


def _reads_stdin(command: click.Command) -> bool:
    return any(isinstance(param.type, AudioPath) for param in command.params)


def _writes_stdout(command: click.Command) -> bool:
    return any(not isinstance(param.type, AudioPath)
               and ((isinstance(param.type, click.Path) and param.type.allow_dash)
                    or "'-' for stdout" in (getattr(param, "help", None) or ""))
               for param in command.params)


def _documented() -> tuple[set[str], set[str]]:
    """(commands taking '-' as input, as output) from the table in docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## `-`: stdin and stdout", 1)[1].split("\n## ", 1)[0]
    inputs, outputs = set(), set()
    for name, as_input, as_output in re.findall(r"^\| `([a-z ]+)` \|([^|]*)\|([^|]*)\|$", section, re.M):
        if as_input.strip():
            inputs.add(name)
        if as_output.strip():
            outputs.add(name)
    return inputs, outputs


STDIN_COMMANDS = {path for path, command in COMMANDS.items() if _reads_stdin(command)}
STDOUT_COMMANDS = {path for path, command in COMMANDS.items() if _writes_stdout(command)}


def test_the_commands_that_take_a_dash_are_the_documented_ones():
    inputs, outputs = _documented()
    assert STDIN_COMMANDS == inputs
    assert STDOUT_COMMANDS == outputs
    assert {"info", "loudness", "transcribe", "tag", "analyze", "moderate", "ladder"} <= STDIN_COMMANDS
    assert {"transcribe", "peaks", "normalize", "generate", "spatial render"} <= STDOUT_COMMANDS


def test_audio_formats_are_containers_the_writer_has():
    from audiokit.io.writer import FORMATS

    assert {f".{name}" for name in AUDIO_FORMATS} == set(FORMATS) - {".aif"}  # .aif: a second name of aiff


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    """The child's environment: a private TMPDIR (to see that spool files go) and the shared model cache."""
    temporary = tmp_path_factory.mktemp("child-tmp")
    return {**os.environ, "TMPDIR": str(temporary),
            "AUDIOKIT_CACHE": str(tmp_path_factory.getbasetemp() / "cli-cache")}


def run(environment: dict[str, str], *args: str, stdin: bytes = b"", timeout: float = 300
        ) -> subprocess.CompletedProcess:
    """``audiokit ARGS`` as a process, ``stdin`` piped in; stdout as bytes, stderr as text."""
    result = subprocess.run([sys.executable, "-m", "audiokit.cli.main", *args], input=stdin,
                            capture_output=True, timeout=timeout, env=environment)
    result.stderr = result.stderr.decode("utf-8", "replace")
    left = [name for name in os.listdir(environment["TMPDIR"]) if name.startswith("audiokit-")]
    assert not left, f"temporary files standing for stdin or stdout were left behind: {left}"
    return result


def _decoded(data: bytes, suffix: str, folder: Path) -> audiokit.Audio:
    path = folder / f"decoded{suffix}"
    path.write_bytes(data)
    return audiokit.read(path)


def _speech(folder: Path, text: str) -> Path:
    """``text`` read by espeak-ng (tests/_episodes.py), as a 16-bit WAV."""
    from _episodes import Line, available, build_episode

    if not available():
        pytest.skip("needs espeak-ng (Debian package libespeak-ng1)")
    spoken = build_episode([Line(text, voice="en-us", words_per_minute=150, pause_before_s=0.4)])
    path = folder / "speech.wav"
    audiokit.write(path, audiokit.Audio(spoken.samples, spoken.sample_rate), bit_depth=16)
    return path


# --- every command that reads '-' really reads stdin -------------------------------------------------


def _info(environment, tmp_path):
    result = run(environment, "info", "-", "--json", stdin=EXAMPLE.read_bytes())
    assert result.returncode == 0, result.stderr
    (document,) = json.loads(result.stdout)
    assert document["path"] == "<stdin>"
    assert document["num_frames"] == audiokit.probe(EXAMPLE).num_frames


def _loudness(environment, tmp_path):
    from audiokit.loudness import measure_file

    result = run(environment, "loudness", "-", str(FRONT_CENTER), "--json", stdin=EXAMPLE.read_bytes())
    assert result.returncode == 0, result.stderr
    piped, named = json.loads(result.stdout)
    assert piped["file"] == "<stdin>" and named["file"] == str(FRONT_CENTER)
    assert piped["integrated_lufs"] == pytest.approx(measure_file(EXAMPLE).integrated_lufs, abs=1e-9)
    # the warning about the short file names that file, not the piped one
    assert f"audiokit: warning: {FRONT_CENTER}: loudness_range_lu" in result.stderr


def _analyze(environment, tmp_path):
    from audiokit.analysis import analyze

    result = run(environment, "analyze", "-", "--json", stdin=FRONT_CENTER.read_bytes())
    assert result.returncode == 0, result.stderr
    (document,) = json.loads(result.stdout)
    expected = analyze(str(FRONT_CENTER)).to_dict()
    assert document["file"] == "<stdin>"
    assert document["key"] == expected["key"] and document["spectral"] == expected["spectral"]


def _tag(environment, tmp_path):
    from audiokit.models.tagging import tag

    result = run(environment, "tag", "-", "--json", "--top", "3", stdin=EXAMPLE.read_bytes())
    assert result.returncode == 0, result.stderr
    (document,) = json.loads(result.stdout)
    expected = tag(str(EXAMPLE), top_k=3).to_dict()["tags"]
    assert document["file"] == "<stdin>"
    assert [item["label"] for item in document["tags"]] == [item["label"] for item in expected]


def _transcribe(environment, tmp_path):
    from _episodes import word_error_rate

    text = "Please turn the music down, the neighbours are sleeping."
    speech = _speech(tmp_path, text)
    result = run(environment, "transcribe", "-", "-o", "-", "-f", "srt", "--beam-size", "1",
                 stdin=speech.read_bytes())
    assert result.returncode == 0, result.stderr
    subtitles = result.stdout.decode("utf-8")
    assert re.match(r"1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n", subtitles), subtitles
    spoken = " ".join(line for line in subtitles.splitlines() if line and "-->" not in line and not line.isdigit())
    assert word_error_rate(text, spoken) <= 0.2, spoken
    # to a folder, stdin's transcript is called "stdin"
    result = run(environment, "transcribe", "-", "-o", str(tmp_path / "subs"), "-f", "txt", "--beam-size", "1",
                 stdin=speech.read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == str(tmp_path / "subs" / "stdin.txt")
    assert word_error_rate(text, (tmp_path / "subs" / "stdin.txt").read_text()) <= 0.2


def _moderate(environment, tmp_path):
    speech = _speech(tmp_path, "Well, holy shit, that was loud.")
    result = run(environment, "moderate", "-", "--json", stdin=speech.read_bytes())
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["source"] == "<stdin>"
    assert any(flag["source"] == "transcript" and flag["category"] == "profanity" for flag in document["flags"])
    assert "audiokit: <stdin>: transcribing with tiny.en" in result.stderr
    quiet = run(environment, "moderate", "-", "--json", "--quiet", "--no-audio-checks", stdin=speech.read_bytes())
    assert quiet.returncode == 0 and quiet.stderr == ""


def _normalize(environment, tmp_path):
    from audiokit.loudness import measure_file

    result = run(environment, "normalize", "-", "-o", "-", "--preset", "podcast", "--codec", "flac",
                 stdin=EXAMPLE.read_bytes())
    assert result.returncode == 0, result.stderr
    output = tmp_path / "normalized.flac"
    output.write_bytes(result.stdout)
    assert audiokit.probe(output).num_frames == audiokit.probe(EXAMPLE).num_frames
    assert measure_file(output).integrated_lufs == pytest.approx(-16.0, abs=0.5)
    assert result.stderr.startswith("audiokit: <stdout>: gain ")


def _binaural(environment, tmp_path):
    by_file = tmp_path / "by-file.wav"
    assert run(environment, "spatial", "binaural", str(FRONT_CENTER), "-o", str(by_file), "--azimuth", "90").returncode == 0
    result = run(environment, "spatial", "binaural", "-", "-o", "-", "--format", "wav", "--azimuth", "90",
                 stdin=FRONT_CENTER.read_bytes())
    assert result.returncode == 0, result.stderr
    piped = _decoded(result.stdout, ".wav", tmp_path)
    np.testing.assert_array_equal(piped.samples, audiokit.read(by_file).samples)
    assert piped.num_channels == 2


def _ladder(environment, tmp_path):
    rungs = tmp_path / "rungs.json"
    rungs.write_text(json.dumps([{"name": "lossless", "codec": "flac"},
                                 {"name": "aac-96", "codec": "aac", "bitrate_bps": 96000}]), encoding="utf-8")
    by_file = run(environment, "ladder", str(FRONT_CENTER), "-o", str(tmp_path / "by-file"), "--rungs", str(rungs))
    assert by_file.returncode == 0, by_file.stderr
    result = run(environment, "ladder", "-", "-o", str(tmp_path / "piped"), "--rungs", str(rungs), "--json",
                 stdin=FRONT_CENTER.read_bytes())
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["source"] == "<stdin>"
    assert json.loads((tmp_path / "piped" / "ladder.json").read_text())["source"] == "<stdin>"
    expected = json.loads((tmp_path / "by-file" / "ladder.json").read_text())
    assert expected["source"] == str(FRONT_CENTER)
    # the FLAC rung holds the same bytes (same samples, same tags) whichever way the source came in
    piped, named = document["renditions"][0], expected["renditions"][0]
    assert piped["path"] == named["path"] == "lossless.flac"
    assert hashlib.sha256((tmp_path / "piped" / "lossless.flac").read_bytes()).hexdigest() == named["sha256"]
    assert [r["num_frames"] for r in document["renditions"]] == [r["num_frames"] for r in expected["renditions"]]


def _render(environment, tmp_path):
    scene = tmp_path / "scene.json"
    scene.write_text(json.dumps(SCENE), encoding="utf-8")
    by_file = tmp_path / "scene.flac"
    assert run(environment, "spatial", "render", str(scene), "-o", str(by_file), "--subtype", "pcm24").returncode == 0
    result = run(environment, "spatial", "render", str(scene), "-o", "-", "--format", "flac", "--subtype", "pcm24")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(_decoded(result.stdout, ".flac", tmp_path).samples, audiokit.read(by_file).samples)


def _generate(environment, tmp_path):
    by_file = tmp_path / "piece.wav"
    assert run(environment, "generate", "-o", str(by_file), "--bars", "1", "--seed", "3").returncode == 0
    result = run(environment, "generate", "-o", "-", "--format", "wav", "--bars", "1", "--seed", "3")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(_decoded(result.stdout, ".wav", tmp_path).samples, audiokit.read(by_file).samples)
    assert result.stderr.startswith("audiokit: <stdout>")


def _peaks(environment, tmp_path):
    result = run(environment, "peaks", str(EXAMPLE), "-o", "-", "--samples-per-pixel", "4410")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["length"] == -(-audiokit.probe(EXAMPLE).num_frames // 4410)


#: One end-to-end run per command that takes '-' (as input, output or both).
RUNS = {"info": _info, "loudness": _loudness, "analyze": _analyze, "tag": _tag, "transcribe": _transcribe,
        "moderate": _moderate, "normalize": _normalize, "ladder": _ladder, "spatial binaural": _binaural,
        "spatial render": _render,
        "generate": _generate, "peaks": _peaks}


def test_every_command_that_takes_a_dash_has_a_run():
    assert set(RUNS) == STDIN_COMMANDS | STDOUT_COMMANDS


@pytest.mark.parametrize("path", sorted(RUNS))
def test_a_dash_works_end_to_end(path, environment, tmp_path):
    if not FRONT_CENTER.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    RUNS[path](environment, tmp_path)


# --- what '-' refuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("info", "-", "-"), "'-' (stdin) can be given once only"),
    (("generate", "-o", "-", "--bars", "1"), "name its container with --format"),
    (("generate", "-o", "piece.wav", "--format", "flac", "--bars", "1"), "has the extension .wav but --format is flac"),
    (("normalize", "-", "-o", "-", "--preset", "podcast"), "name its codec with --codec"),
    (("normalize", "-", "-o", "-", "--preset", "podcast", "--codec", "flac", "--json"), "--json"),
    (("transcribe", "-", "-o", "-", "-f", "srt,vtt"), "one -f format"),
    (("transcribe", "-", "-o", "-", "-f", "srt", "--json"), "--json"),
    (("moderate", "-", "--bleep", "-"), "needs a file name"),
])
def test_usage_errors(args, message, environment):
    result = run(environment, *args, stdin=EXAMPLE.read_bytes())
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == b""


def test_bad_stdin_is_named_stdin(environment):
    result = run(environment, "loudness", "-", stdin=b"this is not audio\n" * 100)
    assert result.returncode == 1
    assert result.stderr.startswith("audiokit: error: <stdin>: ")
    assert "audiokit-stdin" not in result.stderr


def test_stdin_is_spooled_in_bounded_memory(environment, tmp_path):
    """Peak RSS of ``info -`` grows by far less than the size of what is piped in (here 192 MB)."""
    # VmHWM is this process image's own peak (ru_maxrss would carry the parent's over exec)
    code = ("import re, sys\nfrom audiokit.cli.main import cli\n"
            "try:\n    cli(['info', '-', '--json'])\nexcept SystemExit:\n    pass\n"
            "status = open('/proc/self/status').read()\n"
            "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1), file=sys.stderr)")

    def peak_kib(seconds: float) -> int:
        path = tmp_path / f"{seconds}.wav"
        audiokit.write(path, audiokit.Audio(np.zeros((2, int(seconds * 48000)), np.float32), 48000),
                       codec="pcm_f32le")
        with open(path, "rb") as stdin:
            result = subprocess.run([sys.executable, "-c", code], stdin=stdin, capture_output=True, text=True,
                                    timeout=300, env=environment)
        assert '"path": "<stdin>"' in result.stdout, result.stderr
        return int(result.stderr.strip().splitlines()[-1])

    small, large = peak_kib(1.0), peak_kib(500.0)  # 384 kB and 192 MB of WAV
    assert large - small < 32 * 1024, (small, large)
