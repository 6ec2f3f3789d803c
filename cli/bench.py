"""``audiokit bench spatial``: run benchmarks/bench_spatial.py from the CLI."""

from __future__ import annotations

import click

__all__ = ["COMMANDS", "bench"]


@click.group()
def bench() -> None:
    """Run audiokit's benchmarks."""


@bench.command("spatial")
@click.option("--quick/--no-quick", default=False, help="Small grid (about a minute).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the JSON results and plots.")
def spatial(quick: bool, out_dir: str) -> None:
    """Binaural renderer throughput, real-time capacity and accuracy vs ffmpeg's headphone filter and scipy.

    Prints the JSON path (plots beside it when matplotlib is installed).

    \b
    Examples:
      audiokit bench spatial -o bench-results/ --quick
    """
    import importlib.util
    from pathlib import Path

    from audiokit.errors import AudiokitError

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_spatial.py"
    if not script.is_file():
        raise AudiokitError(f"{script} not found: the benchmarks ship with the source tree, not the wheel")
    spec = importlib.util.spec_from_file_location("bench_spatial", script)
    if spec is None or spec.loader is None:
        raise AudiokitError(f"{script} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    click.echo(str(module.run(quick=quick, out_dir=Path(out_dir))))


COMMANDS = [bench]
