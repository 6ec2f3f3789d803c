"""Entry point of the ``audiokit`` command: the group, error handling, exit codes.

Exit codes (STYLE.md section 6): 0 ok, 1 failure, 2 usage error, 3 partial
batch failure. Errors print one line to stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from audiokit._version import __version__

from .main_helpers import EXIT_FAILURE

__all__ = ["main", "cli"]

# Modules under audiokit.cli whose `COMMANDS` list is added to the group.
_COMMAND_MODULES = ("info", "loudness", "peaks", "duplicates", "ladder", "transcribe", "moderate", "generate", "ingest", "catalog", "tag", "analyze", "spatial", "bench")


class _AudiokitGroup(click.Group):
    """A click group that turns exceptions into one line on stderr and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:  # stdout closed early (`audiokit ... | head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_FAILURE)
        except Exception as error:  # one line for the user, the traceback on --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            from audiokit.errors import AudiokitError

            kind = "error" if isinstance(error, AudiokitError) else f"internal error ({type(error).__name__})"
            message = str(error) or type(error).__name__
            click.echo(f"audiokit: {kind}: {message}", err=True)
            if not isinstance(error, AudiokitError):
                click.echo("audiokit: run again with --debug for the traceback", err=True)
            ctx.exit(EXIT_FAILURE)


@click.group(cls=_AudiokitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="audiokit", message="%(prog)s %(version)s")
@click.option("--debug/--no-debug", default=False, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """audiokit: loudness, transcoding, spatial audio and content intelligence."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for _module_name in _COMMAND_MODULES:
    for _command in importlib.import_module(f"audiokit.cli.{_module_name}").COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="audiokit")


if __name__ == "__main__":
    main()
