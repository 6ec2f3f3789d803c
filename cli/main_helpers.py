"""Small helpers shared by the command modules."""

from __future__ import annotations

import click

__all__ = ["EXIT_FAILURE", "EXIT_PARTIAL", "exit_for_batch"]

EXIT_FAILURE = 1
EXIT_PARTIAL = 3


def exit_for_batch(failures: int, total: int) -> None:
    """Exit 0 when all items succeeded, 1 when all failed, 3 when some did (STYLE.md section 6)."""
    if failures == 0:
        return
    raise click.exceptions.Exit(EXIT_FAILURE if failures == total else EXIT_PARTIAL)
