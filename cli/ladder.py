"""``audiokit ladder IN -o DIR``: encode, check and package a streaming ladder.

Also the ``--ladder NAME`` option that ``audiokit ingest`` shares, with its
hidden, deprecated spelling ``--preset`` (a preset is a loudness target:
``audiokit normalize --preset``, ``--normalize NAME``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .main_helpers import progress_bar
from .stdio import AudioPath, input_files

if TYPE_CHECKING:
    import numpy as np

__all__ = ["COMMANDS", "chosen_ladder", "ladder", "ladder_options"]

_Command = TypeVar("_Command", bound=Callable[..., Any])


def _check_ladder(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    """A usage error (exit 2) for a ladder name that is not one of LADDERS; the message lists them."""
    if value is None:
        return None
    from audiokit.transcode.ladders import LADDERS

    if value not in LADDERS:
        raise click.BadParameter(f"{value!r} is not a ladder; expected one of {', '.join(LADDERS)}")
    return value


def ladder_options(help_text: str) -> Callable[[_Command], _Command]:
    """``--ladder NAME`` and its hidden, deprecated spelling ``--preset NAME``; see :func:`chosen_ladder`."""
    def decorate(command: _Command) -> _Command:
        command = click.option("--preset", "preset", default=None, hidden=True, callback=_check_ladder,
                               help="Deprecated spelling of --ladder.")(command)
        return click.option("--ladder", "ladder_name", default=None, metavar="NAME", callback=_check_ladder,
                            help=help_text)(command)
    return decorate


def chosen_ladder(ladder_name: str | None, preset: str | None) -> str | None:
    """The ladder ``--ladder`` or the deprecated ``--preset`` named (None: neither), noting the deprecation on stderr.

    Raises
    ------
    click.UsageError
        If both are given.
    """
    if preset is None:
        return ladder_name
    if ladder_name is not None:
        raise click.UsageError("--preset is the old name of --ladder: give --ladder only")
    click.echo(f"audiokit: warning: --preset is deprecated for a ladder; use --ladder {preset} "
               "(--preset names a loudness target, as in audiokit normalize)", err=True)
    return preset


class _PassProgress:
    """A BlockConsumer of the encoding pass that moves a progress bar by the seconds of audio in each block."""

    def __init__(self, bar: Any, sample_rate: int) -> None:
        self._bar = bar
        self._sample_rate = sample_rate

    def process(self, block: np.ndarray) -> None:
        self._bar.update(block.shape[-1] / self._sample_rate)

    def flush(self) -> None:
        """Nothing is left to count at the end of the pass."""


@click.command()
@click.argument("source", metavar="IN", type=AudioPath())
@click.option("-o", "--output", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder (created; replaced only with --force).")
@ladder_options("Named ladder: spotify-like (default), hls-aac or podcast.")
@click.option("--rungs", "rungs_file", type=click.Path(dir_okay=False, path_type=str),
              help="Custom rungs JSON file (instead of --ladder).")
@click.option("--hls/--no-hls", default=False, help="Package the AAC, Opus and FLAC rungs for HLS (master.m3u8).")
@click.option("--dash/--no-dash", default=False, help="Package the AAC, Opus and FLAC rungs for DASH (manifest.mpd).")
@click.option("--normalize", default=None, metavar="PRESET",
              help="Bake a normalized master first: a loudness preset (spotify, apple-music, podcast, ebu-r128, ...).")
@click.option("--qa", type=click.Choice(["off", "fast", "full"]), default="fast", show_default=True,
              help="Rendition QA: fast (decode back in the encoder threads, every check, gain tags measured on each "
                   "rendition), full (also whole-track alignment and AAC level matching by re-encoding), off.")
@click.option("--force/--no-force", default=False, help="Replace an existing output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def ladder(source: str, out_dir: str, ladder_name: str | None, preset: str | None, rungs_file: str | None,
           hls: bool, dash: bool, normalize: str | None, qa: str, force: bool, as_json: bool, quiet: bool) -> None:
    """Encode every rendition of a ladder from IN, check each (QA) and package them.

    IN '-' is read from stdin (ladder.json names it <stdin>). A rendition that
    fails QA is left out (the others ship) and the ladder is degraded: exit
    code 3, with the failures on stderr. A progress bar on a terminal follows
    the seconds of audio encoded.

    \b
    Examples:
      audiokit ladder master.flac -o ladder/ --hls --dash
      audiokit ladder episode.wav -o out/ --ladder podcast --normalize podcast --qa full --json
      audiokit ladder - -o ladder/ --ladder hls-aac --hls < master.flac
    """
    import audiokit
    from audiokit.transcode import build_ladder

    name = chosen_ladder(ladder_name, preset)
    if name is not None and rungs_file is not None:
        raise click.UsageError("pass --ladder or --rungs, not both")
    with input_files([source]) as ((source_name, path),):
        info = audiokit.probe(path)
        with progress_bar(source_name, quiet=quiet, total=round(info.duration_s, 1)) as bar:
            result = build_ladder(path, out_dir, ladder=name, rungs=rungs_file, hls=hls, dash=dash,
                                  normalize=normalize, force=force, qa=qa, source_name=source_name,
                                  consumers=[_PassProgress(bar, info.sample_rate)])
    for reason in result.degraded_reasons:
        click.echo(f"audiokit ladder: left out {reason}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        verdict = {"off": "QA off", "fast": "all QA checks passed", "full": "all full QA checks passed"}[result.qa_mode]
        if result.degraded:
            verdict = f"DEGRADED, {len(result.excluded)} left out after failing QA"
        click.echo(f"{result.out_dir}: {len(result.renditions)} renditions, {verdict}")
        for rendition in result.renditions:
            target = f"{rendition.bitrate_bps / 1000:g}" if rendition.bitrate_bps else "lossless"
            measured = (f", {rendition.integrated_lufs:6.1f} LUFS, mel {rendition.mel_distance:.2f} dB"
                        if rendition.qa is not None and rendition.integrated_lufs is not None else "")
            click.echo(
                f"  {rendition.path:<22} {rendition.codec:<5} {target:>8} kbit/s target, "
                f"{rendition.measured_bitrate_bps / 1000:7.1f} measured, {rendition.sample_rate} Hz "
                f"x{rendition.num_channels}{measured}"
            )
        for playlist in (result.hls_master, result.dash_manifest):
            if playlist:
                click.echo(f"  {playlist}")
    if result.degraded:
        raise SystemExit(3)


COMMANDS = [ladder]
