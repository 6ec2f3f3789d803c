"""Small helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from .stdio import input_files, shown

__all__ = ["EXIT_FAILURE", "EXIT_PARTIAL", "echo_groups", "echo_result", "exit_for_batch", "note", "progress_bar",
           "report_error", "report_files", "warnings_named"]

EXIT_FAILURE = 1
EXIT_PARTIAL = 3


def exit_for_batch(failures: int, total: int) -> None:
    """Exit 0 when all items succeeded, 1 when all failed, 3 when some did (STYLE.md section 6)."""
    if failures == 0:
        return
    raise click.exceptions.Exit(EXIT_FAILURE if failures == total else EXIT_PARTIAL)


def echo_groups(groups: list[list[dict]], name: Callable[[dict], str]) -> None:
    """Print duplicate groups for people: each member's offset (s) and ``name(member)``; stderr when none."""
    if not groups:
        click.echo("no duplicates found", err=True)
    for number, group in enumerate(groups, 1):
        click.echo(f"group {number}:")
        for member in group:
            click.echo(f"  {member['offset_s']:+9.3f} s  {name(member)}")


def report_error(error: Exception, name: str | None = None) -> None:
    """One line on stderr for a failed item of a batch; with ``audiokit --debug``, its traceback too.

    ``name`` (the input) leads the line unless the message already names it.
    """
    import traceback

    message = shown(str(error))
    if name is not None and shown(name) not in message:
        message = f"{shown(name)}: {message}"
    click.echo(f"audiokit: error: {message}", err=True)
    context = click.get_current_context(silent=True)
    root = context.find_root() if context is not None else None
    if root is not None and root.obj and root.obj.get("debug"):
        click.echo("".join(traceback.format_exception(error)), err=True, nl=False)


def report_files(files: Iterable[str], measure: Callable[[str, str], dict], human: Callable[[dict], str], *,
                 as_json: bool, as_jsonl: bool = False, key: str = "file", quiet: bool = True) -> None:
    """Run ``measure(name, path)`` on each file and print the results, then exit 0, 1 or 3.

    ``-`` among ``files`` is stdin (:func:`.stdio.input_files`): ``name`` is
    what messages call a file, ``path`` what to open. Human text per file by
    default; ``as_json`` prints one JSON list, ``as_jsonl`` one object per
    line. A file whose measurement raises an AudiokitError is reported on
    stderr (and as ``{key: name, "error": ...}`` in JSON) and the batch goes
    on. Warnings name their file (:func:`warnings_named`); unless ``quiet``, a
    progress bar counts the files on a terminal.
    """
    from audiokit.errors import AudiokitError

    documents, failures = [], 0
    with input_files(list(files)) as inputs, progress_bar("files", quiet=quiet, total=len(inputs),
                                                           unit="file") as bar:
        for name, path in inputs:
            try:
                with warnings_named(name):
                    document = measure(name, path)
            except AudiokitError as error:
                failures += 1
                report_error(error, name)
                if as_json or as_jsonl:
                    documents.append({key: name, "error": shown(str(error))})
                continue
            finally:
                bar.update(1)
            documents.append(document)
            if not (as_json or as_jsonl):
                echo_result(human(document))
    if as_json:
        click.echo(json.dumps(documents, indent=2))
    elif as_jsonl:
        for document in documents:
            click.echo(json.dumps(document))
    exit_for_batch(failures, len(inputs))


def progress_bar(name: str, *, quiet: bool, total: float | None = None, unit: str = "s") -> Any:
    """A tqdm bar on stderr, or a disabled one (every call a no-op) when ``quiet`` or stderr is not a terminal.

    Parameters
    ----------
    name : str
        What is processed (a file name), shown before the bar.
    quiet : bool
        The command's ``--quiet``.
    total : float, optional
        The count at the end (seconds of audio, files, stages); without it the
        bar shows the count and the rate only.
    unit : str
        ``"s"`` for seconds of audio, or what is counted (``"file"``, ``"stage"``).

    Returns
    -------
    tqdm.tqdm
        Use it as a context manager; ``update(n)`` adds ``n`` to the count and
        ``write(text)`` prints a line above the bar.
    """
    from tqdm import tqdm

    stderr = sys.stderr
    counted = "s of audio" if unit == "s" else f"{unit}s"
    if total is None:
        bar_format = f"{{desc}}: {{n:.0f}} {counted} processed [{{elapsed}}, {{rate_fmt}}]"
    else:
        bar_format = f"{{desc}}: {{percentage:3.0f}}%|{{bar}}| {{n:.0f}}/{{total:.0f}} {counted} [{{elapsed}}<{{remaining}}]"
    return tqdm(desc=shown(name), total=total, unit=unit, leave=False, file=stderr, bar_format=bar_format,
                disable=quiet or not stderr.isatty())


def echo_result(text: str) -> None:
    """Print a result line on stdout, lifting any progress bar on stderr out of its way first."""
    from tqdm import tqdm

    with tqdm.external_write_mode(file=sys.stderr):
        click.echo(text)


def note(message: str, *, quiet: bool) -> None:
    """An informational line on stderr (``audiokit: FILE: ...``), left out with ``--quiet``."""
    if not quiet:
        click.echo(f"audiokit: {shown(message)}", err=True)


@contextmanager
def warnings_named(name: str) -> Iterator[None]:
    """Print each warning raised inside as ``audiokit: warning: NAME: message`` on stderr.

    Python's own display names the module that warned, not the input it was
    about; in a batch that leaves the user guessing which file it meant.
    """
    with warnings.catch_warnings(record=True) as caught:
        try:
            yield
        finally:
            for warning in caught:
                click.echo(f"audiokit: warning: {shown(name)}: {shown(str(warning.message))}", err=True)
