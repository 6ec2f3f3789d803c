"""``audiokit catalog list|show|search|rebuild OUT_DIR``: query what ingest produced."""

from __future__ import annotations

import json

import click

__all__ = ["COMMANDS", "catalog"]

_LIST_COLUMNS = ("track_id", "duration_s", "integrated_lufs", "true_peak_dbtp", "file_name")


@click.group()
def catalog() -> None:
    """Query the catalog an ingest run wrote (OUT_DIR/catalog.sqlite)."""


def _open(out_dir: str):
    from pathlib import Path

    from audiokit.errors import ParameterError
    from audiokit.pipeline import CATALOG_NAME, Catalog

    if not (Path(out_dir) / CATALOG_NAME).exists():
        raise ParameterError(f"{out_dir}: no {CATALOG_NAME}; run `audiokit ingest ... -o {out_dir}` first")
    return Catalog(out_dir)


def _print_rows(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        cells = []
        for column in _LIST_COLUMNS:
            value = row.get(column)
            cells.append(f"{value:8.2f}" if isinstance(value, float) else f"{'-' if value is None else value}")
        click.echo("  ".join(cells))


@catalog.command("list")
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--failures", is_flag=True, help="List the inputs that failed instead (stage and reason).")
@click.option("--degraded", is_flag=True, help="Only tracks shipped with a rendition left out by QA.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_tracks(out_dir: str, failures: bool, degraded: bool, as_json: bool) -> None:
    """List tracks: id, duration (s), integrated loudness (LUFS), true peak (dBTP), file."""
    with _open(out_dir) as db:
        if failures:
            rows = db.failures()
            if as_json:
                click.echo(json.dumps(rows, indent=2))
            for row in [] if as_json else rows:
                stage = f"[{row['stage']}] " if row.get("stage") else ""
                click.echo(f"{row['input_path']}: {stage}{row['error']}")
            return
        _print_rows([row for row in db.tracks() if row["degraded"] or not degraded], as_json)


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("track_id")
def show(out_dir: str, track_id: str) -> None:
    """Show one track (id or unique prefix) with renditions, tags and flags, as JSON."""
    with _open(out_dir) as db:
        click.echo(json.dumps(db.show(track_id), indent=2))


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--tag", help="Has this tag label.")
@click.option("--min-lufs", type=float, help="Integrated loudness at least this (LUFS).")
@click.option("--max-lufs", type=float, help="Integrated loudness at most this (LUFS).")
@click.option("--explicit/--not-explicit", default=None, help="Explicit label set / not set.")
@click.option("--min-duration", "min_duration_s", type=float, help="At least this long (s).")
@click.option("--max-duration", "max_duration_s", type=float, help="At most this long (s).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(out_dir: str, as_json: bool, **conditions) -> None:
    """Find tracks by tag, loudness range, explicit label and duration."""
    with _open(out_dir) as db:
        _print_rows(db.search(**conditions), as_json)


@catalog.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True))
def rebuild(out_dir: str) -> None:
    """Recreate catalog.sqlite from the manifests (the source of truth)."""
    from audiokit.pipeline import Catalog

    with Catalog(out_dir) as db:
        count = db.rebuild(out_dir)
    click.echo(f"audiokit catalog: rebuilt from {count} manifests", err=True)


COMMANDS = [catalog]
