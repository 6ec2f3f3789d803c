"""Small helpers shared by the command modules."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

__all__ = ["EXIT_FAILURE", "EXIT_PARTIAL", "echo_groups", "exit_for_batch", "report_error", "report_files"]

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


def report_error(error: Exception) -> None:
    """One line on stderr for a failed item of a batch; with ``audiokit --debug``, its traceback too."""
    import traceback

    click.echo(f"audiokit: error: {error}", err=True)
    context = click.get_current_context(silent=True)
    root = context.find_root() if context is not None else None
    if root is not None and root.obj and root.obj.get("debug"):
        click.echo("".join(traceback.format_exception(error)), err=True, nl=False)


def report_files(files, measure: Callable[[str], dict], human: Callable[[dict], str], *, as_json: bool,
                 as_jsonl: bool = False, key: str = "file") -> None:
    """Run ``measure(path)`` on each file and print the results, then exit 0, 1 or 3.

    Human text per file by default; ``as_json`` prints one JSON list, ``as_jsonl``
    one object per line. A file whose measurement raises an AudiokitError is
    reported on stderr (and as ``{key: path, "error": ...}`` in JSON) and the
    batch goes on.
    """
    from audiokit.errors import AudiokitError

    documents, failures = [], 0
    for path in files:
        try:
            document = measure(path)
        except AudiokitError as error:
            failures += 1
            report_error(error)
            if as_json or as_jsonl:
                documents.append({key: path, "error": str(error)})
            continue
        documents.append(document)
        if not (as_json or as_jsonl):
            click.echo(human(document))
    if as_json:
        click.echo(json.dumps(documents, indent=2))
    elif as_jsonl:
        for document in documents:
            click.echo(json.dumps(document))
    exit_for_batch(failures, len(files))
