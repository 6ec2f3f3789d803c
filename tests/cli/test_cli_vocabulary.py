"""One CLI vocabulary (docs/cli.md), checked on every command by walking the click tree."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from audiokit.cli.main import cli

#: Commands that print results only as files or as a human line, never a document.
NO_DOCUMENT = {"bench spatial"}
#: Commands whose result is files, whatever their option's name: each takes ``-o/--output``.
WRITES_FILES = {"bench spatial", "catalog report", "generate", "ingest", "ladder", "normalize", "peaks",
                "spatial binaural", "spatial render", "transcribe"}
#: Commands that take many inputs but print one result about all of them together (groups of copies), so
#: ``--jsonl`` (one object per input) has nothing to print per input.
ONE_RESULT_FOR_ALL_INPUTS = {"duplicates"}
#: Commands that run for minutes on a long input or a batch, and so report progress on stderr, which
#: ``-q/--quiet`` turns off.
LONG_RUNNING = {"analyze", "generate", "ingest", "ladder", "moderate", "normalize", "spatial binaural",
                "spatial render", "tag", "transcribe"}


def _leaves(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _leaves(command, f"{path} ")
        else:
            yield path, command


COMMANDS = dict(_leaves(cli))
GROUPS = [""] + [path.rsplit(" ", 1)[0] for path in COMMANDS if " " in path]


def _options(command: click.Command) -> dict[str, click.Option]:
    return {opt: param for param in command.params if isinstance(param, click.Option) for opt in param.opts}


def test_the_tree_is_walked():
    assert {"info", "loudness", "normalize", "gain", "peaks", "ladder", "ingest", "transcribe", "moderate",
            "catalog list", "catalog search", "spatial binaural"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_help_has_an_example(path):
    help_text = COMMANDS[path].help or ""
    assert "Examples:" in help_text, f"audiokit {path} --help has no Examples section"
    assert f"audiokit {path}" in help_text.split("Examples:", 1)[1], f"the example does not run audiokit {path}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_examples_use_options_the_command_has(path):
    command = COMMANDS[path]
    known = set(_options(command)) | {opt for param in command.params for opt in getattr(param, "secondary_opts", [])}
    examples = (command.help or "").split("Examples:", 1)[-1]
    for line in examples.splitlines():
        for word in line.split():
            if word.startswith("-") and not word.startswith("---") and len(word) > 1 and not word[1:2].isdigit():
                option = word.split("=", 1)[0]
                assert option in known, f"audiokit {path}: the example uses {option}, which the command lacks"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_help_runs_and_shows_the_examples_as_written(path):
    """``audiokit PATH --help`` exits 0, and each example line survives click's rewrapping (the \\b marker)."""
    result = CliRunner().invoke(cli, [*path.split(), "--help"], prog_name="audiokit", terminal_width=80)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: audiokit {path} "), result.output
    rendered = [line.strip() for line in result.output.split("Examples:", 1)[-1].splitlines()]
    for line in (COMMANDS[path].help or "").split("Examples:", 1)[1].splitlines():
        if line.strip():
            assert line.strip() in rendered, f"audiokit {path} --help rewraps its example {line.strip()!r}"


@pytest.mark.parametrize("path", sorted(set(GROUPS)))
def test_every_group_has_help(path):
    result = CliRunner().invoke(cli, [*path.split(), "--help"], prog_name="audiokit")
    assert result.exit_code == 0 and "Commands:" in result.output, result.output


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_outputs_are_spelled_o_output(path):
    """Where a command writes its results, the option is ``-o/--output``: never a positional or another name."""
    command = COMMANDS[path]
    writers = [param for param in command.params if "output" in (param.name or "")]
    if path in WRITES_FILES:
        assert writers or "-o" in _options(command), f"audiokit {path} writes files but has no -o/--output"
    for param in writers:
        assert isinstance(param, click.Option) and {"-o", "--output"} <= set(param.opts), (
            f"audiokit {path}: its output {param.name!r} is {'/'.join(getattr(param, 'opts', [param.name]))}, "
            "not -o/--output")


@pytest.mark.parametrize("path", sorted(
    path for path, command in COMMANDS.items()
    if any(isinstance(param, click.Argument) and param.nargs == -1 for param in command.params)
    and path not in ONE_RESULT_FOR_ALL_INPUTS))
def test_batches_print_jsonl(path):
    """A command that takes many inputs prints one JSON object per input with ``--jsonl``."""
    options = _options(COMMANDS[path])
    assert "--jsonl" in options and options["--jsonl"].is_flag, f"audiokit {path} takes many inputs but no --jsonl"


@pytest.mark.parametrize("path", sorted(LONG_RUNNING))
def test_long_running_commands_take_quiet(path):
    options = _options(COMMANDS[path])
    assert "--quiet" in options and "-q" in options["--quiet"].opts, f"audiokit {path} has no -q/--quiet"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_short_o_is_always_output(path):
    options = _options(COMMANDS[path])
    if "-o" in options:
        assert "--output" in options["-o"].opts, f"audiokit {path}: -o is {options['-o'].opts}, not --output"


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - NO_DOCUMENT))
def test_results_can_be_printed_as_json(path):
    assert "--json" in _options(COMMANDS[path]), f"audiokit {path} has no --json"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_flags_that_exist_mean_the_same_everywhere(path):
    options = _options(COMMANDS[path])
    if "--quiet" in options:
        assert "-q" in options["--quiet"].opts
    if "--jobs" in options:
        assert "-j" in options["--jobs"].opts
    for flag in ("--json", "--jsonl", "--force"):
        if flag in options:
            assert options[flag].is_flag or options[flag].secondary_opts, f"audiokit {path}: {flag} takes a value"
