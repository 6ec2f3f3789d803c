"""``-`` as a file name: audio from stdin, results and audio to stdout (docs/cli.md).

An input ``-`` is spooled from stdin to a temporary file in 1 MiB chunks
(decoders need to seek; memory stays bounded), named ``<stdin>`` in every
message, and removed when the command ends. An output ``-`` that is audio is
encoded to a temporary file in the container ``--format`` names and then
copied to stdout, so formats that must seek while muxing (MP4) work too.

Only click is imported here, so that ``audiokit --help`` stays fast.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

__all__ = ["AUDIO_FORMATS", "STDIN_NAME", "STDIO", "STDOUT_NAME", "AudioPath", "audio_output", "check_text_output",
           "force_option", "format_option", "input_files", "refuse_existing", "shown"]

#: The file name that means stdin (as an input) or stdout (as an output).
STDIO = "-"
#: How stdin and stdout are named in messages.
STDIN_NAME = "<stdin>"
STDOUT_NAME = "<stdout>"
#: Containers an audio output ``-`` can be written in: the extensions of
#: audiokit.io.writer.FORMATS (kept in step by tests/cli/test_stdio.py, so that
#: ``--help`` needs no PyAV).
AUDIO_FORMATS = ("wav", "flac", "aiff", "mp3", "ogg", "opus", "webm", "m4a", "mp4")
_COPY_CHUNK_BYTES = 1 << 20
#: Temporary file standing for stdin or stdout -> the name messages give it.
_SPOOLED: dict[str, str] = {}
_Command = TypeVar("_Command", bound=Callable[..., Any])


class AudioPath(click.Path):
    """An audio input argument that also accepts ``-`` (stdin); the walk in tests/cli finds it by type."""

    def __init__(self, *, dir_okay: bool = False) -> None:
        super().__init__(dir_okay=dir_okay, allow_dash=True, path_type=str)


def shown(text: str) -> str:
    """``text`` with the temporary files standing for stdin and stdout named ``<stdin>`` and ``<stdout>``.

    An output argument ``-`` on its own is ``<stdout>`` too.
    """
    if text == STDIO:
        return STDOUT_NAME
    for path, name in _SPOOLED.items():
        text = text.replace(path, name)
    return text


@contextmanager
def input_files(arguments: Sequence[str]) -> Iterator[list[tuple[str, str]]]:
    """``(name, path)`` for each input argument, with ``-`` spooled from stdin.

    The name is the argument itself, or ``<stdin>`` for ``-``; the path is
    what to open. Errors raised inside name ``<stdin>`` rather than the spool
    file, which is removed on exit.

    Raises
    ------
    click.UsageError
        If ``-`` is given twice, or stdin is a terminal (nothing piped in).
    """
    if list(arguments).count(STDIO) > 1:
        raise click.UsageError("'-' (stdin) can be given once only")
    if STDIO not in arguments:
        yield [(argument, argument) for argument in arguments]
        return
    stdin = sys.stdin.buffer
    if stdin.isatty():
        raise click.UsageError("'-' reads audio from stdin, which is a terminal: pipe a file in "
                               "(audiokit COMMAND - < FILE)")
    handle, spool = tempfile.mkstemp(prefix="audiokit-stdin-")
    _SPOOLED[spool] = STDIN_NAME
    try:
        with os.fdopen(handle, "wb") as file:
            shutil.copyfileobj(stdin, file, _COPY_CHUNK_BYTES)
        yield [(STDIN_NAME, spool) if argument == STDIO else (argument, argument) for argument in arguments]
    except Exception as error:
        _rename_in(error)
        raise
    finally:
        os.unlink(spool)


def _rename_in(error: Exception) -> None:
    """Replace temporary paths in ``error``'s message by the names :func:`shown` gives them."""
    error.args = tuple(shown(arg) if isinstance(arg, str) else arg for arg in error.args)


def force_option() -> Callable[[_Command], _Command]:
    """The ``--force`` option of a command that writes files (docs/cli.md): replace outputs that exist."""
    return click.option("--force", is_flag=True,
                        help="Replace outputs that exist (without it an existing output is kept and the input fails).")


def refuse_existing(*outputs: str | os.PathLike[str] | None, force: bool) -> None:
    """Refuse to replace an existing output unless ``force``: checked before any work, so none is wasted.

    ``-`` (stdout) and None (no such output) never exist.

    Raises
    ------
    audiokit.errors.ParameterError
        Naming the first of ``outputs`` that exists, and ``--force``.
    """
    if force:
        return
    for output in outputs:
        if output is not None and os.fspath(output) != STDIO and os.path.lexists(output):
            from audiokit.errors import ParameterError

            raise ParameterError(f"{os.fspath(output)}: exists; pass --force to replace it")


def format_option(noun: str = "OUTPUT") -> Callable[[_Command], _Command]:
    """The ``--format`` option of a command whose audio output may be ``-``."""
    return click.option("--format", "audio_format", type=click.Choice(AUDIO_FORMATS), default=None,
                        help=f"Container of {noun} when it is '-' (stdout); a file's extension decides otherwise.")


@contextmanager
def audio_output(output: str, audio_format: str | None, *, option: str = "--format") -> Iterator[str]:
    """The path to encode ``output`` to: itself, or for ``-`` a temporary file then copied to stdout.

    Parameters
    ----------
    output : str
        The output argument; ``-`` is stdout.
    audio_format : str, optional
        The ``--format`` given: required for ``-``; for a file it must agree
        with the extension.
    option : str
        How the command spells the option, for the messages.

    Raises
    ------
    click.UsageError
        For ``-`` without a format, ``-`` on a terminal, or a format that
        contradicts a file's extension.
    """
    if output != STDIO:
        extension = os.path.splitext(output)[1].lower().lstrip(".")
        if audio_format is not None and extension != audio_format:
            raise click.UsageError(f"{output} has the extension .{extension} but {option} is {audio_format}: "
                                   f"{option} names the container of '-' (stdout); drop it or change the name")
        yield output
        return
    if audio_format is None:
        raise click.UsageError(f"'-' writes audio to stdout: name its container with {option} "
                               f"({', '.join(AUDIO_FORMATS)})")
    stdout = sys.stdout.buffer
    if stdout.isatty():
        raise click.UsageError("'-' writes audio to stdout, which is a terminal: pipe it (| ffplay -) "
                               "or redirect it (> FILE)")
    with tempfile.TemporaryDirectory(prefix="audiokit-stdout-") as folder:
        path = os.path.join(folder, f"stdout.{audio_format}")
        _SPOOLED[path] = STDOUT_NAME
        try:
            yield path
        except Exception as error:
            _rename_in(error)
            raise
        with open(path, "rb") as file:
            shutil.copyfileobj(file, stdout, _COPY_CHUNK_BYTES)
        stdout.flush()


def check_text_output(output: str | None, *, as_json: bool, what: str) -> None:
    """A usage error when ``--json`` would share stdout with an output ``-`` carrying ``what``."""
    if output == STDIO and as_json:
        raise click.UsageError(f"-o - prints {what} on stdout, and so would --json: give one of them")
