"""Catalog queries across tracks: "more like this" and "the same recording twice".

Both read what ingest stored in the catalog (schema version 3):

- :func:`similar_tracks` ranks tracks by the cosine similarity of their
  MTT_musicnn embeddings (the tags stage's, in the catalog's ``embeddings``
  table) with :class:`audiokit.similarity.EmbeddingIndex`, cached beside the
  catalog as ``similarity.npz``;
- :func:`duplicate_tracks` groups tracks whose Chromaprint fingerprints match
  (:mod:`audiokit.fingerprint`; the fingerprint stage's, in the catalog's
  ``fingerprints`` table). A track ingested without that stage is fingerprinted
  from its audio once, and the fingerprint stored in the catalog (unless it is
  opened read-only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FormatError, ParameterError
from .catalog import CATALOG_NAME, Catalog
from .manifest import MANIFEST_NAME, read_manifest
from .track import TRACKS_DIR

if TYPE_CHECKING:
    from ..similarity import EmbeddingIndex

__all__ = ["EMBEDDING_MODEL", "duplicate_tracks", "similar_tracks", "track_audio"]

#: The tagging model whose embedding places tracks for similarity search.
EMBEDDING_MODEL = "MTT_musicnn"
_INDEX_NAME = "similarity.npz"


def _track_dir(out_dir: Path, row: dict) -> Path:
    """A track's folder, by the output layout (OUT/tracks/ID/), wherever ingest was run from."""
    return out_dir / TRACKS_DIR / row["track_id"]


def _manifest(out_dir: Path, row: dict) -> dict:
    return read_manifest(_track_dir(out_dir, row) / MANIFEST_NAME)


def _catalog_changed_s(out_dir: Path) -> float:
    """When the catalog last changed: its file or its write-ahead log (WAL mode writes land there first)."""
    files = (out_dir / CATALOG_NAME, out_dir / f"{CATALOG_NAME}-wal")
    return max(path.stat().st_mtime for path in files if path.exists())


def _index(out_dir: Path, catalog: Catalog, *, writable: bool) -> EmbeddingIndex:
    """The embedding index of every tagged track, rebuilt when the catalog changed since it was cached."""
    from ..similarity import EmbeddingIndex, track_vector

    cached = out_dir / _INDEX_NAME
    if cached.exists() and cached.stat().st_mtime >= _catalog_changed_s(out_dir):
        return EmbeddingIndex.load(cached)
    embeddings = catalog.embeddings(EMBEDDING_MODEL)
    if not embeddings:
        raise ParameterError(f"{out_dir}: no track has {EMBEDDING_MODEL} embeddings; ingest with --stages tags "
                             "(or all) first")
    index = EmbeddingIndex(list(embeddings), np.array([track_vector(mean, std) for mean, std in embeddings.values()]))
    if writable:
        index.save(cached)
    return index


def similar_tracks(out_dir: str | os.PathLike[str], track_id: str, *, k: int = 10) -> list[dict]:
    """The ``k`` tracks of an ingest folder that sound most like ``track_id``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        An ``audiokit ingest`` output folder.
    track_id : str
        A track id or a unique prefix of one.
    k : int

    Returns
    -------
    list of dict
        ``{"track_id", "similarity", "file_name"}``, most similar first.
    """
    out_dir = Path(os.fspath(out_dir))
    writable = os.access(out_dir, os.W_OK)
    with Catalog(out_dir, read_only=not writable) as catalog:
        full_id = catalog.show(track_id)["track_id"]
        names = {row["track_id"]: row["file_name"] for row in catalog.tracks()}
        index = _index(out_dir, catalog, writable=writable)
    return [{**neighbour.to_dict(), "file_name": names.get(neighbour.track_id)}
            for neighbour in index.similar_to(full_id, k=k)]


def track_audio(out_dir: Path, row: dict, manifest: dict) -> Path:
    """The best audio of a catalogued track: its input when still there, else its best rendition.

    Parameters
    ----------
    out_dir : Path
        The ingest output folder.
    row : dict
        The track's catalog row (``track_id``, ``input_path``).
    manifest : dict
        The track's manifest.

    Raises
    ------
    FormatError
        If neither the input nor any rendition is readable.
    """
    source = Path(row["input_path"])
    if source.is_file():
        return source
    renditions = (manifest.get("ladder") or {}).get("renditions") or []
    ladder_dir = _track_dir(out_dir, row) / (manifest.get("ladder") or {}).get("out_dir", "")
    ranked = sorted(renditions, key=lambda r: (r.get("codec") != "flac", -(r.get("bitrate_bps") or 0)))
    for rendition in ranked:
        candidate = ladder_dir / rendition["path"]
        if candidate.is_file():
            return candidate
    raise FormatError(f"track {row['track_id']}: neither its input {source} nor a rendition is readable")


def duplicate_tracks(out_dir: str | os.PathLike[str], *, max_offset_s: float = 60.0) -> list[list[dict]]:
    """Groups of tracks in an ingest folder that are the same recording.

    Parameters
    ----------
    out_dir : str or os.PathLike
    max_offset_s : float
        Largest time offset between copies searched, seconds.

    Returns
    -------
    list of list of dict
        Each group: ``{"track_id", "file_name", "offset_s"}`` per member, the
        first member at offset 0 and the others where they start in its time.
    """
    from ..fingerprint import duplicate_groups, fingerprint

    out_dir = Path(os.fspath(out_dir))
    writable = os.access(out_dir, os.W_OK)
    with Catalog(out_dir, read_only=not writable) as catalog:
        rows = catalog.tracks()
        stored = catalog.fingerprints()
        prints = []
        for row in rows:
            found = stored.get(row["track_id"])
            if found is None:  # ingested without the fingerprint stage
                found = fingerprint(track_audio(out_dir, row, _manifest(out_dir, row)))
                if writable:
                    catalog.add_fingerprint(row["track_id"], found)
            prints.append(found)
    return [[{"track_id": rows[index]["track_id"], "file_name": rows[index]["file_name"],
              "offset_s": round(offset, 3)} for index, offset in group]
            for group in duplicate_groups(prints, max_offset_s=max_offset_s)]
