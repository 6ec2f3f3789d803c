"""``audiokit catalog list|show|search|similar|duplicates|report|rebuild OUT_DIR``: query what ingest produced."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from .main_helpers import echo_groups

if TYPE_CHECKING:
    from audiokit.pipeline import Catalog

__all__ = ["COMMANDS", "catalog"]

_LIST_COLUMNS = ("track_id", "duration_s", "integrated_lufs", "true_peak_dbtp", "file_name")
#: Header and width of each column of the human table.
_HEADERS = {"track_id": ("track", 16), "duration_s": ("duration s", 10), "integrated_lufs": ("LUFS", 8),
            "true_peak_dbtp": ("dBTP", 8), "file_name": ("file", 0)}


@click.group()
def catalog() -> None:
    """Query the catalog an ingest run wrote (OUT_DIR/catalog.sqlite)."""


def _require_catalog(out_dir: str) -> None:
    from pathlib import Path

    from audiokit.errors import ParameterError
    from audiokit.pipeline import CATALOG_NAME

    if not (Path(out_dir) / CATALOG_NAME).exists():
        raise ParameterError(f"{out_dir}: no {CATALOG_NAME}; run `audiokit ingest ... -o {out_dir}` first")


def _open(out_dir: str) -> Catalog:
    """The catalog, opened for queries only (it may sit on read-only media)."""
    from audiokit.pipeline import Catalog

    _require_catalog(out_dir)
    return Catalog(out_dir, read_only=True)


def _print_rows(rows: list[dict], as_json: bool, *, empty: str) -> None:
    """A table with a header for people, or JSON; ``empty`` goes to stderr when there is no row."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(empty, err=True)
        return
    click.echo("  ".join(f"{_HEADERS[c][0]:<{_HEADERS[c][1]}}" if _HEADERS[c][1] else _HEADERS[c][0]
                         for c in _LIST_COLUMNS))
    for row in rows:
        cells = []
        for column in _LIST_COLUMNS:
            value = row.get(column)
            text = f"{value:.2f}" if isinstance(value, float) else f"{'-' if value is None else value}"
            if column == "track_id":
                text = text[:_HEADERS[column][1]]
            width = _HEADERS[column][1]
            cells.append(f"{text:>{width}}" if isinstance(value, float) else f"{text:<{width}}" if width else text)
        click.echo("  ".join(cells))


@catalog.command("list")
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--failures", is_flag=True, help="List the inputs that failed instead (stage and reason).")
@click.option("--degraded", is_flag=True, help="Only tracks shipped with a rendition left out by QA.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_tracks(out_dir: str, failures: bool, degraded: bool, as_json: bool) -> None:
    """List tracks: id, duration (s), integrated loudness (LUFS), true peak (dBTP), file.

    \b
    Examples:
      audiokit catalog list catalog/
      audiokit catalog list catalog/ --failures --json
    """
    with _open(out_dir) as db:
        if failures:
            rows = db.failures()
            if as_json:
                click.echo(json.dumps(rows, indent=2))
            elif not rows:
                click.echo("no failed inputs", err=True)
            for row in [] if as_json else rows:
                stage = f"[{row['stage']}] " if row.get("stage") else ""
                click.echo(f"{row['input_path']}: {stage}{row['error']}")
            return
        _print_rows([row for row in db.tracks() if row["degraded"] or not degraded], as_json,
                    empty="no degraded tracks" if degraded else "the catalog holds no track yet")


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("track_id")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON (default: a summary).")
def show(out_dir: str, track_id: str, as_json: bool) -> None:
    """Show one track (id or unique prefix) with renditions, tags and flags.

    \b
    Examples:
      audiokit catalog show catalog/ 3fa9c2
      audiokit catalog show catalog/ 3fa9c2 --json
    """
    with _open(out_dir) as db:
        record = db.show(track_id)
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for key, value in record.items():
        if isinstance(value, list):
            click.echo(f"{key}: {len(value)}")
            for item in value:
                click.echo(f"  {json.dumps(item)}")
        else:
            click.echo(f"{key}: {value}")


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--tag", help="Has this tag label.")
@click.option("--min-lufs", type=float, help="Integrated loudness at least this (LUFS).")
@click.option("--max-lufs", type=float, help="Integrated loudness at most this (LUFS).")
@click.option("--explicit/--not-explicit", default=None, help="Explicit label set / not set.")
@click.option("--min-duration", "min_duration_s", type=float, help="At least this long (s).")
@click.option("--max-duration", "max_duration_s", type=float, help="At most this long (s).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(out_dir: str, tag: str | None, min_lufs: float | None, max_lufs: float | None, explicit: bool | None,
           min_duration_s: float | None, max_duration_s: float | None, as_json: bool) -> None:
    """Find tracks by tag (any case), loudness range, explicit label and duration.

    \b
    Examples:
      audiokit catalog search catalog/ --tag piano
      audiokit catalog search catalog/ --min-lufs -20 --max-lufs -12 --not-explicit --json
    """
    with _open(out_dir) as db:
        rows = db.search(tag=tag, min_lufs=min_lufs, max_lufs=max_lufs, explicit=explicit,
                         min_duration_s=min_duration_s, max_duration_s=max_duration_s)
    _print_rows(rows, as_json, empty="no track matches")


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("track_id")
@click.option("-k", "k", type=click.IntRange(1), default=10, show_default=True, help="How many tracks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def similar(out_dir: str, track_id: str, k: int, as_json: bool) -> None:
    """Tracks that sound most like TRACK_ID (cosine similarity of musicnn embeddings).

    Needs the tags stage (`ingest --stages tags` or `all`). The index is cached
    beside the catalog as similarity.npz and rebuilt when the catalog changes.

    \b
    Examples:
      audiokit catalog similar catalog/ 3fa9c2 -k 10
      audiokit catalog similar catalog/ 3fa9c2 --json
    """
    from audiokit.pipeline.lookalikes import similar_tracks

    _require_catalog(out_dir)
    rows = similar_tracks(out_dir, track_id, k=k)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no other tagged track to compare with", err=True)
        return
    click.echo(f"{'similarity':>10}  {'track':<16}  file")
    for row in rows:
        click.echo(f"{row['similarity']:>10.4f}  {row['track_id'][:16]:<16}  {row['file_name']}")


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--max-offset", "max_offset_s", type=click.FloatRange(0, 600), default=60.0, show_default=True,
              help="Largest time offset between copies searched, seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def duplicates(out_dir: str, max_offset_s: float, as_json: bool) -> None:
    """Groups of tracks that are the same recording, with the time offset between copies.

    Fingerprints (Chromaprint) come from the catalog: the ingest stage
    `fingerprint` stores them. A track ingested without it is fingerprinted
    from its audio once, and the fingerprint stored in the catalog.

    \b
    Examples:
      audiokit catalog duplicates catalog/
      audiokit catalog duplicates catalog/ --json
    """
    from audiokit.pipeline.lookalikes import duplicate_tracks

    _require_catalog(out_dir)
    groups = duplicate_tracks(out_dir, max_offset_s=max_offset_s)
    if as_json:
        click.echo(json.dumps(groups, indent=2))
        return
    echo_groups(groups, lambda member: f"{member['track_id'][:16]}  {member['file_name']}")


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("track_id", required=False)
@click.option("-o", "--output", type=click.Path(path_type=str), default=None,
              help="With TRACK_ID: the HTML file to write. Without: a folder for index.html and ID.html per track. "
                   "[default: OUT_DIR/tracks/ID/report.html and OUT_DIR/report/index.html]")
@click.option("--json", "as_json", is_flag=True, help="Print the pages written as JSON.")
def report(out_dir: str, track_id: str | None, output: str | None, as_json: bool) -> None:
    """Write the HTML report of TRACK_ID (or of every track, with the index page).

    Each page is self-contained (no network): loudness curves, waveform,
    spectrogram, the ladder with QA, tags, analysis and the transcript with
    its flags, which play the track from the flag's time when clicked.

    \b
    Examples:
      audiokit catalog report catalog/
      audiokit catalog report catalog/ 3fa9c2 -o 3fa9c2.html
    """
    from audiokit.report import write_reports

    _require_catalog(out_dir)
    pages = write_reports(out_dir, track_id, output=output)
    if as_json:
        click.echo(json.dumps([str(page) for page in pages], indent=2))
        return
    for page in pages:
        click.echo(str(page))


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print how many manifests were read, as JSON.")
def rebuild(out_dir: str, as_json: bool) -> None:
    """Recreate catalog.sqlite from the manifests (the source of truth).

    A catalog.sqlite that is not a catalog or is damaged is kept as
    catalog.sqlite.damaged and a new one is made (the failure records it held
    are lost: failures have no manifest). Run it while no ingest writes into
    OUT_DIR.

    \b
    Examples:
      audiokit catalog rebuild catalog/
    """
    from audiokit.pipeline.catalog import rebuild_catalog

    summary = rebuild_catalog(out_dir)
    if summary.set_aside is not None:
        click.echo(f"audiokit: warning: {summary.path}: {summary.reason}; kept as {summary.set_aside}", err=True)
    if as_json:
        click.echo(json.dumps({"out_dir": out_dir, **summary.to_dict()}, indent=2))
    else:
        click.echo(f"audiokit catalog: rebuilt from {summary.manifests} manifests", err=True)


COMMANDS = [catalog]
