"""``audiokit duplicates FILE...``: the same recording uploaded twice, with the offset between copies."""

from __future__ import annotations

import json

import click

from .main_helpers import echo_groups

__all__ = ["COMMANDS", "duplicates"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--max-offset", "max_offset_s", type=click.FloatRange(0, 600), default=60.0, show_default=True,
              help="Largest time offset between copies searched, seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as one JSON document.")
def duplicates(files: tuple[str, ...], max_offset_s: float, as_json: bool) -> None:
    """Find FILES that are the same recording (re-encoded, trimmed, louder, resampled).

    Each file gets a Chromaprint fingerprint; a group lists copies of one
    recording and where each starts in the first one's time.

    \b
    Examples:
      audiokit duplicates uploads/*.mp3
      audiokit duplicates a.flac b.m4a c.opus --json
    """
    from audiokit.fingerprint import duplicate_groups, fingerprint

    prints = [fingerprint(path) for path in files]
    groups = duplicate_groups(prints, max_offset_s=max_offset_s)
    document = [[{"file": files[index], "offset_s": round(offset, 3)} for index, offset in group]
                for group in groups]
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    echo_groups(document, lambda member: member["file"])


COMMANDS = [duplicates]
