"""One CLI vocabulary (docs/cli.md), checked on every command by walking the click tree."""

from __future__ import annotations

import click
import pytest

from audiokit.cli.main import cli

#: Commands that print results only as files or as a human line, never a document.
NO_DOCUMENT = {"bench spatial"}


def _leaves(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _leaves(command, f"{path} ")
        else:
            yield path, command


COMMANDS = dict(_leaves(cli))


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
