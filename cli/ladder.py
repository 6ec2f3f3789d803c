"""``audiokit ladder IN -o DIR``: encode, check and package a streaming ladder."""

from __future__ import annotations

import json

import click

__all__ = ["COMMANDS", "ladder"]


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder (created; replaced only with --force).")
@click.option("--preset", default=None, help="spotify-like (default), hls-aac or podcast.")
@click.option("--rungs", "rungs_file", type=click.Path(dir_okay=False, path_type=str),
              help="Custom rungs JSON file (instead of --preset).")
@click.option("--hls/--no-hls", default=False, help="Package the AAC, Opus and FLAC rungs for HLS (master.m3u8).")
@click.option("--dash/--no-dash", default=False, help="Package the AAC, Opus and FLAC rungs for DASH (manifest.mpd).")
@click.option("--normalize", default=None, help="Bake a normalized master first: a loudness preset (spotify, apple-music, podcast, ebu-r128, ...).")
@click.option("--qa", type=click.Choice(["off", "fast", "full"]), default="fast", show_default=True,
              help="Rendition QA: fast (decode back in the encoder threads, every check, gain tags measured on each "
                   "rendition), full (also whole-track alignment and AAC level matching by re-encoding), off.")
@click.option("--force/--no-force", default=False, help="Replace an existing output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
def ladder(source: str, out_dir: str, preset: str | None, rungs_file: str | None, hls: bool, dash: bool,
           normalize: str | None, qa: str, force: bool, as_json: bool) -> None:
    """Encode every rendition of a ladder from SOURCE, check each (QA) and package them.

    A rendition that fails QA is left out (the others ship) and the ladder is
    degraded: exit code 3, with the failures on stderr.

    \b
    Examples:
      audiokit ladder master.flac -o ladder/ --hls --dash
      audiokit ladder episode.wav -o out/ --preset podcast --normalize podcast --qa full --json
    """
    from audiokit.transcode import build_ladder

    if preset is not None and rungs_file is not None:
        raise click.UsageError("pass --preset or --rungs, not both")
    result = build_ladder(source, out_dir, ladder=preset, rungs=rungs_file, hls=hls, dash=dash,
                          normalize=normalize, force=force, qa=qa)
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
