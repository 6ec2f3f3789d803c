"""``audiokit info FILE...``: what each file holds."""

from __future__ import annotations

import math

import click

from .main_helpers import report_files
from .stdio import AudioPath

__all__ = ["COMMANDS", "info"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=AudioPath(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (a list with one object per file).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line, per file.")
def info(files: tuple[str, ...], as_json: bool, as_jsonl: bool) -> None:
    """Show format, codec, rate, channels, exact length, bit depth and tags of FILES ('-': stdin).

    \b
    Examples:
      audiokit info track.flac
      audiokit info uploads/* --jsonl
      cat upload.bin | audiokit info - --json
    """
    from audiokit import probe

    report_files(files, lambda name, path: {**probe(path).to_dict(), "path": name}, _human, as_json=as_json,
                 as_jsonl=as_jsonl, key="path")


def _human(document: dict) -> str:
    from audiokit._files import display_path

    minutes, seconds = divmod(document["duration_s"], 60)
    bitrate = document["bitrate_bps"]
    lines = [
        display_path(document["path"]),
        f"  container   {document['container']}",
        f"  codec       {document['codec']}"
        + (f", {document['bit_depth']}-bit" if document["bit_depth"] else "")
        + (f", {bitrate / 1000:.0f} kbit/s" if bitrate and not math.isnan(bitrate) else ""),
        f"  audio       {document['sample_rate']} Hz, {document['num_channels']} ch ({document['channel_layout']})",
        f"  length      {int(minutes)}:{seconds:06.3f} ({document['num_frames']} frames)",
        f"  cover art   {'yes' if document['has_cover_art'] else 'no'}",
    ]
    lines += [f"  {key:<11} {value}" for key, value in sorted(document["tags"].items())]
    return "\n".join(lines)


COMMANDS = [info]
