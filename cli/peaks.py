"""``audiokit peaks FILE -o peaks.json``: waveform peaks for players (audiowaveform / peaks.js JSON)."""

from __future__ import annotations

import click

from .stdio import force_option, refuse_existing

__all__ = ["COMMANDS", "peaks"]


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="JSON file to write; '-' for stdout.")
@click.option("--pixels-per-second", type=click.IntRange(1, 48000), default=None,
              help="Zoom level as pixels per second of audio (instead of --samples-per-pixel).")
@click.option("--samples-per-pixel", type=click.IntRange(1), default=None,
              help="Zoom level as frames per pixel.  [default: 256]")
@click.option("--bits", type=click.Choice(["8", "16"]), default="8", show_default=True,
              help="Resolution of the peaks.")
@click.option("--mono/--split-channels", default=False, show_default=True,
              help="One min/max pair per pixel from the mono downmix, or one per channel.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary of what was written (with -o FILE).")
@force_option()
def peaks(file: str, output: str, pixels_per_second: int | None, samples_per_pixel: int | None, bits: str,
          mono: bool, as_json: bool, force: bool) -> None:
    """Write FILE's waveform peaks as JSON that peaks.js and audiowaveform read.

    Each pixel holds the smallest and the largest sample of its frames, per
    channel (or of the mono downmix with --mono). The file is streamed.

    \b
    Examples:
      audiokit peaks track.flac -o track.peaks.json --pixels-per-second 20
      audiokit peaks episode.mp3 -o - --samples-per-pixel 1024 --bits 16 --mono
    """
    import json

    import audiokit
    from audiokit.waveform import waveform_peaks, write_peaks

    if pixels_per_second is not None and samples_per_pixel is not None:
        raise click.UsageError("give --pixels-per-second or --samples-per-pixel, not both")
    refuse_existing(output, force=force)
    if pixels_per_second is not None:
        samples_per_pixel = max(1, round(audiokit.probe(file).sample_rate / pixels_per_second))
    (level,) = waveform_peaks(file, samples_per_pixel=(samples_per_pixel or 256,), bits=int(bits), mono=mono)
    if output == "-":
        click.echo(json.dumps(level.to_dict(), separators=(",", ":")))
    else:
        write_peaks(output, level)
        summary = {"output": output, "length": level.length, "samples_per_pixel": level.samples_per_pixel,
                   "channels": level.channels, "bits": level.bits, "sample_rate": level.sample_rate}
        click.echo(json.dumps(summary, indent=2) if as_json else
                   f"{output}: {level.length} pixels of {level.samples_per_pixel} frames, {level.channels} "
                   f"channel(s), {level.bits}-bit")


COMMANDS = [peaks]
