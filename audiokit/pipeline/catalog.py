"""The ingest catalog: ``OUT_DIR/catalog.sqlite``, one row per ingested track.

stdlib sqlite3 in WAL mode with a busy timeout, so several ingest processes
can write at once. The manifests are the source of truth: :meth:`Catalog.rebuild`
recreates the catalog from them (failures have no manifest and are kept).

The schema is versioned with SQLite's ``PRAGMA user_version``
(:data:`SCHEMA_VERSION`); opening an older catalog migrates it in place, in one
transaction. Version 2 added ``tracks.degraded``/``degraded_reasons`` and the
failure memory: ``failures.track_id`` (content and settings), ``input_sha256``
and ``stage``, so that ingest can skip an input that already failed the same way.
Version 3 added ``fingerprints`` (each track's Chromaprint words, from the
manifest's ``fingerprint`` section) and ``embeddings`` (the tagger's embedding
per model, from the manifest's ``tags`` section), the inputs of
``audiokit catalog duplicates`` and ``catalog similar``; its migration fills
them from the manifests of the tracks already catalogued.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError, ParameterError
from ..fingerprint import ALGORITHM, Fingerprint
from .manifest import MANIFEST_NAME, read_manifest
from .track import TRACKS_DIR

__all__ = ["CATALOG_NAME", "Catalog"]

CATALOG_NAME = "catalog.sqlite"
#: ``PRAGMA user_version`` of a current catalog (catalogs made before versioning read 0).
SCHEMA_VERSION = 3
_BUSY_TIMEOUT_MS = 30_000
_WAL_RETRY_S = 0.01

#: The tables schema version 3 added: what duplicate and similarity search read.
_LOOKALIKE_TABLES = """
CREATE TABLE IF NOT EXISTS fingerprints (
    track_id TEXT PRIMARY KEY REFERENCES tracks(track_id) ON DELETE CASCADE,
    algorithm TEXT NOT NULL, duration_s REAL NOT NULL,
    words BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    track_id TEXT NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    mean BLOB NOT NULL,
    std BLOB,
    PRIMARY KEY (track_id, model)
);
"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tracks (
    track_id TEXT PRIMARY KEY,
    input_path TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    ingested_utc TEXT NOT NULL,
    manifest_path TEXT NOT NULL,
    container TEXT, codec TEXT, sample_rate INTEGER, num_channels INTEGER,
    num_frames INTEGER, duration_s REAL,
    title TEXT, artist TEXT, album TEXT,
    integrated_lufs REAL, loudness_range_lu REAL, true_peak_dbtp REAL,
    explicit INTEGER,
    degraded INTEGER NOT NULL DEFAULT 0,
    degraded_reasons TEXT
);
CREATE TABLE IF NOT EXISTS renditions (
    track_id TEXT NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    path TEXT NOT NULL, codec TEXT, container TEXT, bitrate_bps INTEGER,
    sample_rate INTEGER, num_channels INTEGER, size_bytes INTEGER, sha256 TEXT,
    PRIMARY KEY (track_id, path)
);
CREATE TABLE IF NOT EXISTS tags (
    track_id TEXT NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    model TEXT NOT NULL, label TEXT NOT NULL, score REAL NOT NULL,
    PRIMARY KEY (track_id, model, label)
);
CREATE TABLE IF NOT EXISTS flags (
    track_id TEXT NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    category TEXT NOT NULL, severity TEXT, start_s REAL, end_s REAL, text TEXT, rule_id TEXT
);
CREATE TABLE IF NOT EXISTS failures (
    input_path TEXT PRIMARY KEY,
    error TEXT NOT NULL,
    failed_utc TEXT NOT NULL,
    track_id TEXT,
    input_sha256 TEXT,
    stage TEXT
);
CREATE INDEX IF NOT EXISTS tags_by_label ON tags(label);
CREATE INDEX IF NOT EXISTS failures_by_track ON failures(track_id);
""" + _LOOKALIKE_TABLES
#: Version -> the statements that bring a catalog of the version before it up to it.
_MIGRATIONS = {
    2: (
        "ALTER TABLE tracks ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tracks ADD COLUMN degraded_reasons TEXT",
        "ALTER TABLE failures ADD COLUMN track_id TEXT",
        "ALTER TABLE failures ADD COLUMN input_sha256 TEXT",
        "ALTER TABLE failures ADD COLUMN stage TEXT",
        "CREATE INDEX IF NOT EXISTS failures_by_track ON failures(track_id)",
    ),
    3: tuple(statement for statement in _LOOKALIKE_TABLES.split(";") if statement.strip()),
}


class Catalog:
    """Open (creating if needed) the catalog of one ingest output folder.

    Parameters
    ----------
    out_dir : str or os.PathLike
        The ingest output folder holding ``catalog.sqlite``.
    read_only : bool
        Open for queries only (``audiokit catalog list|show|search``): no file
        is written or created, so a catalog on read-only media can be read.

    Examples
    --------
    >>> with Catalog("out") as catalog:          # doctest: +SKIP
    ...     rows = catalog.search(tag="rock", max_lufs=-10)
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(out_dir) / CATALOG_NAME
        if read_only:
            self._db = self._open_read_only()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000)
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._enable_wal()
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _enable_wal(self) -> None:
        """Switch to WAL mode, retrying while another process holds the lock (up to the busy timeout).

        Changing the journal mode needs an exclusive lock, and SQLite answers
        SQLITE_BUSY at once, without the busy handler, when two connections
        race to do it on a new database (sqlite.org/wal.html, "Activating And
        Configuring WAL Mode"). WAL mode persists in the file, so once one
        process has set it the others find it set.
        """
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(_WAL_RETRY_S)

    def _open_read_only(self) -> sqlite3.Connection:
        """Open for queries only, touching no file: works on read-only media, where WAL mode cannot start.

        SQLite's ``immutable`` URI flag (sqlite.org/uri.html) reads the file as it
        is, without the -wal and -shm files; nothing may write it meanwhile,
        which holds for a catalog on read-only media or between ingest runs.
        """
        if not self.path.is_file():
            raise FormatError(f"{self.path}: no catalog here; run `audiokit ingest ... -o {self.path.parent}` first")
        uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        try:
            db = sqlite3.connect(uri, uri=True)
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise FormatError(f"{self.path}: not a readable catalog ({error}); rebuild it with "
                              "`audiokit catalog rebuild`") from None
        if version != SCHEMA_VERSION:
            db.close()
            raise FormatError(f"{self.path}: catalog schema version {version}; this audiokit reads "
                              f"{SCHEMA_VERSION}. Open it once where it is writable to migrate it")
        db.row_factory = sqlite3.Row
        return db

    def _migrate(self) -> None:
        """Create the tables, or bring an older catalog up to :data:`SCHEMA_VERSION` (one transaction)."""
        self._db.isolation_level = None  # explicit transactions below
        try:
            self._db.execute("BEGIN IMMEDIATE")  # one writer at a time: concurrent openers migrate once
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self._db.execute("ROLLBACK")
                raise FormatError(f"{self.path}: catalog schema version {version} is newer than this audiokit's "
                                  f"{SCHEMA_VERSION}; upgrade audiokit, or rebuild it with `audiokit catalog rebuild`")
            existing = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tracks'").fetchone()
            if existing is None:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            else:
                for target in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[target]:
                        self._db.execute(statement)
                if version < 3:
                    self._backfill_lookalikes()
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._db.isolation_level = "DEFERRED"  # back to implicit transactions (sqlite3 default)

    def _backfill_lookalikes(self) -> None:
        """Fill the version 3 tables from the manifests of the tracks already catalogued (inside the migration).

        A track's manifest is found by the output layout (``OUT/tracks/ID/``); a
        track whose manifest is gone keeps no fingerprint or embedding (``catalog
        duplicates`` fingerprints it again from its audio).
        """
        for (track_id,) in self._db.execute("SELECT track_id FROM tracks").fetchall():
            manifest_path = self.path.parent / TRACKS_DIR / track_id / MANIFEST_NAME
            if manifest_path.is_file():
                self._add_lookalike_rows(read_manifest(manifest_path))

    def _add_lookalike_rows(self, manifest: dict) -> None:
        """The manifest's fingerprint and embeddings into their tables (the caller holds the transaction)."""
        section = manifest.get("fingerprint")
        if isinstance(section, dict) and section.get("words_base64"):
            self._insert_fingerprint(manifest["track_id"], Fingerprint.from_dict(section))
        for model, result in (manifest.get("tags") or {}).items():
            if isinstance(result, dict) and result.get("embedding"):
                std = result.get("embedding_std")
                self._db.execute(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
                    (manifest["track_id"], model, np.asarray(result["embedding"], "<f4").tobytes(),
                     None if std is None else np.asarray(std, "<f4").tobytes()))

    def _insert_fingerprint(self, track_id: str, fingerprint: Fingerprint) -> None:
        self._db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?, ?)",
                         (track_id, ALGORITHM, fingerprint.duration_s, fingerprint.to_bytes()))

    def add_fingerprint(self, track_id: str, fingerprint: Fingerprint) -> None:
        """Store the fingerprint of a catalogued track (one computed after its ingest)."""
        with self._db:
            self._insert_fingerprint(track_id, fingerprint)

    def fingerprints(self) -> dict[str, Fingerprint]:
        """``{track_id: Fingerprint}`` of every track with a stored Chromaprint fingerprint."""
        return {row["track_id"]: Fingerprint.from_bytes(row["words"], row["duration_s"])
                for row in self._db.execute("SELECT * FROM fingerprints WHERE algorithm = ?", (ALGORITHM,))}

    def embeddings(self, model: str) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """``{track_id: (mean, std or None)}``: the embedding of ``model`` per track that has one, float32."""
        return {row["track_id"]: (np.frombuffer(row["mean"], "<f4").astype(np.float32),
                                  None if row["std"] is None else np.frombuffer(row["std"], "<f4").astype(np.float32))
                for row in self._db.execute("SELECT * FROM embeddings WHERE model = ? ORDER BY track_id", (model,))}

    def add_manifest(self, manifest: dict, manifest_path: Path) -> None:
        """Insert or replace one track from its manifest (one transaction)."""
        source, loudness = manifest["source"], manifest.get("loudness") or {}
        tags = source.get("tags") or {}
        explicit = manifest.get("explicit")
        row = {
            "track_id": manifest["track_id"], "input_path": source["input_path"],
            "input_sha256": source["sha256"], "file_name": source["file_name"],
            "ingested_utc": manifest["created_utc"], "manifest_path": str(manifest_path),
            "container": source.get("container"), "codec": source.get("codec"),
            "sample_rate": source.get("sample_rate"), "num_channels": source.get("num_channels"),
            "num_frames": source.get("num_frames"), "duration_s": source.get("duration_s"),
            "title": tags.get("title"), "artist": tags.get("artist"), "album": tags.get("album"),
            "integrated_lufs": loudness.get("integrated_lufs"),
            "loudness_range_lu": loudness.get("loudness_range_lu"),
            "true_peak_dbtp": loudness.get("true_peak_dbtp"),
            "explicit": None if explicit is None else int(bool(explicit)),
            "degraded": int(bool(manifest.get("degraded"))),
            "degraded_reasons": json.dumps((manifest.get("ladder") or {}).get("degraded_reasons") or []) or None,
        }
        with self._db:
            self._db.execute("DELETE FROM tracks WHERE track_id = ?", (row["track_id"],))
            self._db.execute(
                f"INSERT INTO tracks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(_storable(value) for value in row.values()))
            for rendition in (manifest.get("ladder") or {}).get("renditions", []):
                self._db.execute(
                    "INSERT INTO renditions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row["track_id"], rendition["path"], rendition.get("codec"), rendition.get("container"),
                     rendition.get("bitrate_bps"), rendition.get("sample_rate"), rendition.get("num_channels"),
                     rendition.get("size_bytes"), rendition.get("sha256")))
            for model, labels in _tag_scores(manifest).items():
                self._db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)",
                                     [(row["track_id"], model, label, score) for label, score in labels])
            for flag in manifest.get("flags") or []:
                self._db.execute(
                    "INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (row["track_id"], flag.get("category"), flag.get("severity"), flag.get("start_s"),
                     flag.get("end_s"), flag.get("text"), flag.get("rule_id")))
            self._add_lookalike_rows(manifest)
            self._db.execute("DELETE FROM failures WHERE input_path = ?", (_storable(row["input_path"]),))

    def has_track(self, track_id: str) -> bool:
        """Whether the catalog has a row for ``track_id``."""
        return self._db.execute("SELECT 1 FROM tracks WHERE track_id = ?", (track_id,)).fetchone() is not None

    def add_failure(self, input_path: str, error: str, *, track_id: str | None = None,
                    input_sha256: str | None = None, stage: str | None = None) -> None:
        """Record that ``input_path`` failed (replacing an earlier failure of it).

        With ``track_id`` (its content and settings) the failure is remembered:
        :meth:`known_failures` returns it and ingest skips the input until asked to retry.
        """
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO failures (input_path, error, failed_utc, track_id, input_sha256, stage) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_storable(input_path), _storable(error), datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 track_id, input_sha256, stage))

    def known_failures(self) -> dict[str, dict]:
        """``{track_id: failure row}`` of every remembered failure (those recorded with a track id)."""
        return {row["track_id"]: row for row in self._rows("SELECT * FROM failures WHERE track_id IS NOT NULL")}

    def tracks(self) -> list[dict]:
        """Every track, most recently ingested first."""
        return self._rows("SELECT * FROM tracks ORDER BY ingested_utc DESC, file_name")

    def failures(self) -> list[dict]:
        """Every recorded failure (input, stage, reason, sha256, track id, time), most recent first."""
        return self._rows("SELECT * FROM failures ORDER BY failed_utc DESC")

    def show(self, track_id: str) -> dict:
        """One track (an id or a unique id prefix) with its renditions, tags and flags."""
        matches = self._rows("SELECT * FROM tracks WHERE track_id LIKE ?", (f"{track_id}%",))
        if len(matches) != 1:
            what = "no track" if not matches else f"{len(matches)} tracks"
            raise ParameterError(f"{what} in {self.path} match id {track_id!r}; see `audiokit catalog list`")
        track = matches[0]
        key = (track["track_id"],)
        track["renditions"] = self._rows("SELECT * FROM renditions WHERE track_id = ? ORDER BY path", key)
        track["tags"] = self._rows("SELECT model, label, score FROM tags WHERE track_id = ? ORDER BY score DESC", key)
        track["flags"] = self._rows("SELECT * FROM flags WHERE track_id = ? ORDER BY start_s", key)
        return track

    def search(self, *, tag: str | None = None, min_lufs: float | None = None, max_lufs: float | None = None,
               explicit: bool | None = None, min_duration_s: float | None = None,
               max_duration_s: float | None = None) -> list[dict]:
        """Tracks matching every given condition (None means: any)."""
        conditions: list[str] = []
        values: list[str | float | int] = []  # the query's parameters, one per "?"
        if tag is not None:
            conditions.append("track_id IN (SELECT track_id FROM tags WHERE label = ? COLLATE NOCASE)")
            values.append(tag)
        for column, operator, value in (("integrated_lufs", ">=", min_lufs), ("integrated_lufs", "<=", max_lufs),
                                        ("duration_s", ">=", min_duration_s), ("duration_s", "<=", max_duration_s)):
            if value is not None:
                conditions.append(f"{column} {operator} ?")
                values.append(float(value))
        if explicit is not None:
            conditions.append("explicit = ?")
            values.append(int(explicit))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._rows(f"SELECT * FROM tracks {where} ORDER BY file_name", tuple(values))

    def rebuild(self, out_dir: str | os.PathLike[str]) -> int:
        """Recreate every table from the manifests under ``out_dir``; returns the track count."""
        with self._db:
            for table in ("fingerprints", "embeddings", "flags", "tags", "renditions", "tracks"):
                self._db.execute(f"DELETE FROM {table}")
        count = 0
        for manifest_path in sorted(Path(out_dir).glob(f"tracks/*/{MANIFEST_NAME}")):
            self.add_manifest(read_manifest(manifest_path), manifest_path)
            count += 1
        return count

    def _rows(self, query: str, values: tuple = ()) -> list[dict]:
        return [dict(row) for row in self._db.execute(query, values)]

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _storable(value: object) -> object:
    """``value`` as SQLite can hold it: text must be valid UTF-8.

    A file name with bytes that are not UTF-8 reaches Python surrogate-escaped
    (PEP 383, ``os.fsdecode``); its bytes are stored as ``\\xNN`` escapes, as
    Python prints them. The manifest keeps the exact name.
    """
    if not isinstance(value, str):
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name decodes to
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _tag_scores(manifest: dict) -> dict[str, list[tuple[str, float]]]:
    """``{model: [(label, score), ...]}`` from the manifest's tags section."""
    section = manifest.get("tags") or {}
    return {model: [(tag["label"], float(tag["score"])) for tag in result.get("tags", [])]
            for model, result in section.items() if isinstance(result, dict)}

