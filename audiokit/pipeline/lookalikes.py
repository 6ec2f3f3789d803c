"""Catalog queries across tracks: "more like this" and "the same recording twice".

Both work on an ingest output folder and keep what they compute beside its
catalog, so a second query is quick:

- :func:`similar_tracks` ranks tracks by the cosine similarity of their
  MTT_musicnn embeddings (from the tags stage, read from the manifests) with
  :class:`audiokit.similarity.EmbeddingIndex`, cached as ``similarity.npz``;
- :func:`duplicate_tracks` groups tracks whose Chromaprint fingerprints match
  (:mod:`audiokit.fingerprint`), fingerprinting each track's source once and
  caching it as ``fingerprints/ID.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._files import write_atomically
from ..errors import FormatError, ParameterError
from .catalog import CATALOG_NAME, Catalog
from .manifest import MANIFEST_NAME, read_manifest
from .track import TRACKS_DIR

__all__ = ["EMBEDDING_MODEL", "duplicate_tracks", "similar_tracks"]

#: The tagging model whose embedding places tracks for similarity search.
EMBEDDING_MODEL = "MTT_musicnn"
_INDEX_NAME = "similarity.npz"
_FINGERPRINTS = "fingerprints"


def _track_dir(out_dir: Path, row: dict) -> Path:
    """A track's folder, by the output layout (OUT/tracks/ID/), wherever ingest was run from."""
    return out_dir / TRACKS_DIR / row["track_id"]


def _manifest(out_dir: Path, row: dict) -> dict:
    return read_manifest(_track_dir(out_dir, row) / MANIFEST_NAME)


def _index(out_dir: Path, catalog: Catalog):
    """The embedding index of every tagged track, rebuilt when the catalog changed since it was cached."""
    from ..similarity import EmbeddingIndex, track_vector

    cached = out_dir / _INDEX_NAME
    if cached.exists() and cached.stat().st_mtime >= (out_dir / CATALOG_NAME).stat().st_mtime:
        return EmbeddingIndex.load(cached)
    ids, vectors = [], []
    for row in catalog.tracks():
        section = (_manifest(out_dir, row).get("tags") or {}).get(EMBEDDING_MODEL)
        if section and section.get("embedding"):
            ids.append(row["track_id"])
            vectors.append(track_vector(section["embedding"]))
    if not ids:
        raise ParameterError(f"{out_dir}: no track has {EMBEDDING_MODEL} embeddings; ingest with --stages tags "
                             "(or all) first")
    index = EmbeddingIndex(ids, np.array(vectors))
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
    with Catalog(out_dir) as catalog:
        full_id = catalog.show(track_id)["track_id"]
        names = {row["track_id"]: row["file_name"] for row in catalog.tracks()}
        index = _index(out_dir, catalog)
    return [{**neighbour.to_dict(), "file_name": names.get(neighbour.track_id)}
            for neighbour in index.similar_to(full_id, k=k)]


def _source_of(out_dir: Path, row: dict, manifest: dict) -> Path:
    """The best audio of a track to fingerprint: its input when still there, else its best rendition."""
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
    from ..fingerprint import Fingerprint, duplicate_groups, fingerprint

    out_dir = Path(os.fspath(out_dir))
    cache = out_dir / _FINGERPRINTS
    cache.mkdir(exist_ok=True)
    with Catalog(out_dir) as catalog:
        rows = catalog.tracks()
    prints = []
    for row in rows:
        cached = cache / f"{row['track_id']}.json"
        if cached.exists():
            prints.append(Fingerprint.from_dict(json.loads(cached.read_text(encoding="utf-8"))))
            continue
        found = fingerprint(_source_of(out_dir, row, _manifest(out_dir, row)))
        write_atomically(cached, json.dumps(found.to_dict()))
        prints.append(found)
    return [[{"track_id": rows[index]["track_id"], "file_name": rows[index]["file_name"],
              "offset_s": round(offset, 3)} for index, offset in group]
            for group in duplicate_groups(prints, max_offset_s=max_offset_s)]
