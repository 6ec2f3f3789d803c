"""The index page of an ingest output folder, and rewriting every report from the catalog.

``OUT/report/index.html`` links every track's ``report.html``, one row per
track (file, duration, loudness, renditions, flags, top tags). During ingest
the report stage of each track records its row as
``OUT/report/entries/ID.json`` and rewrites the page from every recorded row
while it holds a lock on ``OUT/report/.lock``, so tracks finishing at the same
time in different workers all end up listed.

:func:`write_reports` is ``audiokit catalog report``: it rewrites the pages of
one or every catalogued track from its manifest and audio (the input when it is
still there, else the best rendition), and the index with them.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from html import escape
from pathlib import Path

from .._files import write_atomically
from ..pipeline.track import TRACKS_DIR
from .page import REPORT_NAME, write_track_report

__all__ = ["INDEX_DIR", "add_to_index", "index_entry", "write_index", "write_reports"]

#: Folder of OUT holding the run's index page.
INDEX_DIR = "report"
_ENTRIES_DIR = "entries"
_INDEX_NAME = "index.html"

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1d1d1f}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}td.num{text-align:right}.muted{color:#666}
"""


def index_entry(document: dict) -> dict:
    """One track's row of the index page, from its manifest (or the sections written so far)."""
    source, loudness = document.get("source") or {}, document.get("loudness") or {}
    ladder = document.get("ladder") or {}
    top_tags = [tag["label"] for result in (document.get("tags") or {}).values() if isinstance(result, dict)
                for tag in result.get("tags", [])[:3]]
    return {"track_id": document["track_id"], "file_name": source.get("file_name"),
            "title": (source.get("tags") or {}).get("title"), "duration_s": source.get("duration_s"),
            "integrated_lufs": loudness.get("integrated_lufs"), "true_peak_dbtp": loudness.get("true_peak_dbtp"),
            "renditions": len(ladder.get("renditions") or []), "degraded": bool(ladder.get("degraded")),
            "flags": len(document.get("flags") or []), "explicit": document.get("explicit"), "tags": top_tags}


def _cell(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def render_index(entries: list[dict], link_for: Callable[[str], str]) -> str:
    """The index page: one row per entry; ``link_for(track_id)`` gives the href of its report."""
    rows = "".join(
        f'<tr class="track"><td><a href="{escape(link_for(entry["track_id"]))}">'
        f'{escape(str(entry.get("title") or entry.get("file_name") or entry["track_id"]))}</a></td>'
        f'<td>{_cell(entry.get("file_name"))}</td><td class="num">{_cell(entry.get("duration_s"))}</td>'
        f'<td class="num">{_cell(entry.get("integrated_lufs"))}</td><td class="num">{_cell(entry.get("true_peak_dbtp"))}</td>'
        f'<td class="num">{_cell(entry.get("renditions"))}{" (degraded)" if entry.get("degraded") else ""}</td>'
        f'<td class="num">{_cell(entry.get("flags"))}</td><td>{_cell(entry.get("explicit"))}</td>'
        f'<td>{escape(", ".join(map(str, entry.get("tags") or [])))}</td></tr>'
        for entry in sorted(entries, key=lambda e: (str(e.get("file_name")), e["track_id"])))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>audiokit ingest report</title><style>{_STYLE}</style></head>
<body><h1>Ingest report</h1><p class="muted">{len(entries)} tracks</p>
<table id="tracks"><tr><th>track</th><th>file</th><th>duration s</th><th>LUFS</th><th>dBTP</th>
<th>renditions</th><th>flags</th><th>explicit</th><th>top tags</th></tr>{rows}</table>
</body></html>
"""


def write_index(path: str | os.PathLike[str], entries: list[dict], link_for: Callable[[str], str]) -> Path:
    """Write the index page of ``entries`` to ``path``, atomically; ``link_for(track_id)`` gives each href."""
    return write_atomically(path, render_index(entries, link_for))


def _link_from_index(track_id: str) -> str:
    return f"../{TRACKS_DIR}/{track_id}/{REPORT_NAME}"


def add_to_index(out_dir: str | os.PathLike[str], document: dict) -> Path:
    """Record one track's row and rewrite ``OUT/report/index.html`` from every row recorded (under a lock).

    Returns
    -------
    Path
        The index page.
    """
    return _record_entries(Path(out_dir), [document])


def _record_entries(out_dir: Path, documents: list[dict], *, only: bool = False) -> Path:
    """Record the rows of ``documents`` (with ``only``: and forget every other row), then rewrite the index."""
    folder = out_dir / INDEX_DIR
    (folder / _ENTRIES_DIR).mkdir(parents=True, exist_ok=True)
    for document in documents:
        entry = index_entry(document)
        write_atomically(folder / _ENTRIES_DIR / f"{entry['track_id']}.json", json.dumps(entry))
    with open(folder / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if only:
            keep = {f"{document['track_id']}.json" for document in documents}
            for stale in (folder / _ENTRIES_DIR).glob("*.json"):
                if stale.name not in keep:
                    stale.unlink(missing_ok=True)
        entries = [json.loads(path.read_text(encoding="utf-8"))
                   for path in sorted((folder / _ENTRIES_DIR).glob("*.json"))]
        return write_index(folder / _INDEX_NAME, entries, _link_from_index)


def write_reports(out_dir: str | os.PathLike[str], track_id: str | None = None, *,
                  output: str | os.PathLike[str] | None = None) -> list[Path]:
    """Rewrite report pages from the catalog and manifests (``audiokit catalog report``).

    Parameters
    ----------
    out_dir : str or os.PathLike
        An ``audiokit ingest`` output folder.
    track_id : str, optional
        One track (an id or a unique prefix); default every track, and the index.
    output : str or os.PathLike, optional
        With ``track_id``: the HTML file to write (default ``OUT/tracks/ID/report.html``).
        Without: a folder receiving ``index.html`` and ``ID.html`` per track
        (default: each track's folder, and ``OUT/report/index.html``).

    Returns
    -------
    list of Path
        The pages written, the index last when there is one.
    """
    from ..pipeline.catalog import Catalog
    from ..pipeline.lookalikes import track_audio
    from ..pipeline.manifest import MANIFEST_NAME, read_manifest
    from ..pipeline.track import TRACKS_DIR

    out_dir = Path(os.fspath(out_dir))
    with Catalog(out_dir, read_only=True) as catalog:
        rows = [catalog.show(track_id)] if track_id is not None else catalog.tracks()
    written, entries = [], []
    target = None if output is None else Path(os.fspath(output))
    if target is not None and track_id is None:
        target.mkdir(parents=True, exist_ok=True)
    for row in rows:
        track_dir = out_dir / TRACKS_DIR / row["track_id"]
        manifest = read_manifest(track_dir / MANIFEST_NAME)
        if target is None:
            page = track_dir / REPORT_NAME
        else:
            page = target if track_id is not None else target / f"{row['track_id']}.html"
        written.append(write_track_report(manifest, track_dir, source=track_audio(out_dir, row, manifest),
                                          output=page))
        entries.append(manifest)
    if track_id is not None:
        if target is None:
            written.append(add_to_index(out_dir, entries[0]))
        return written
    if target is None:
        written.append(_record_entries(out_dir, entries, only=True))
    else:
        written.append(write_index(target / _INDEX_NAME, [index_entry(m) for m in entries],
                                   lambda identity: f"{identity}.html"))
    return written
