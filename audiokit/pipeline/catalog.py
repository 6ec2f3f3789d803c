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

Every fault of the file itself reaches the caller as a :class:`~audiokit.errors.CatalogError`
naming the catalog and the fix: locked by another process past the busy
timeout, not a catalog or damaged (:func:`rebuild_catalog` sets such a file
aside and rebuilds), a full disk, a read-only folder, a folder in its place.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import numpy as np

from ..errors import CatalogError, ParameterError
from ..fingerprint import ALGORITHM, Fingerprint
from .manifest import MANIFEST_NAME, read_manifest
from .track import TRACKS_DIR

__all__ = ["CATALOG_NAME", "DAMAGED_SUFFIX", "Catalog", "RebuildSummary", "rebuild_catalog"]

CATALOG_NAME = "catalog.sqlite"
#: What :func:`rebuild_catalog` appends to the name of a catalog file it cannot read before setting it aside.
DAMAGED_SUFFIX = ".damaged"
#: ``PRAGMA user_version`` of a current catalog (catalogs made before versioning read 0).
SCHEMA_VERSION = 3
#: How long a connection waits for another process's lock before giving up with a CatalogError.
_BUSY_TIMEOUT_MS = 30_000
_WAL_RETRY_S = 0.01
#: The message for a folder where the catalog file should be.
_FOLDER_IN_PLACE = ("{path}: a folder, not a catalog; move it away, then run again "
                    "(`audiokit catalog rebuild` recreates the catalog from the manifests)")
#: SQLite's primary result codes (sqlite.org/rescode.html) that name a fault of the catalog file, and the text
#: sqlite3_errstr() gives each (Python before 3.11 has the text only: no ``sqlite_errorcode``).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, \
    _SQLITE_NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_SQLITE_CODE_OF_TEXT = {
    "database is locked": _SQLITE_BUSY, "database table is locked": _SQLITE_LOCKED,
    "attempt to write a readonly database": _SQLITE_READONLY, "disk I/O error": _SQLITE_IOERR,
    "database disk image is malformed": _SQLITE_CORRUPT, "database or disk is full": _SQLITE_FULL,
    "unable to open database file": _SQLITE_CANTOPEN, "file is not a database": _SQLITE_NOTADB,
}

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

_Arguments = ParamSpec("_Arguments")
_Result = TypeVar("_Result")


def _primary_code(error: sqlite3.Error) -> int | None:
    """SQLite's primary result code of ``error`` (the low byte of an extended code), None when unknown."""
    code = getattr(error, "sqlite_errorcode", None)
    return _SQLITE_CODE_OF_TEXT.get(str(error)) if code is None else code & 0xFF


def _catalog_error(path: Path, error: sqlite3.Error) -> CatalogError:
    """``error`` of the catalog at ``path`` as a CatalogError that names the file, the fault and the fix."""
    out_dir = path.parent
    primary = _primary_code(error)
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        fault = f"locked by another process for over {_BUSY_TIMEOUT_MS / 1000:g} s"
        fix = f"another ingest or `audiokit catalog rebuild` on {out_dir} holds it: wait for it to end, then run again"
    elif primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
        fault = "not a catalog, or damaged"
        fix = (f"rebuild it from the manifests with `audiokit catalog rebuild {out_dir}` "
               f"(which keeps this file as {path.name}{DAMAGED_SUFFIX})")
    elif primary == _SQLITE_FULL:
        fault, fix = "the disk is full", f"free space on the disk that holds {out_dir}, then run again"
    elif primary == _SQLITE_READONLY:
        fault = "cannot be written"
        fix = f"make {out_dir} and the catalog writable, or only query it (`audiokit catalog list {out_dir}`)"
    elif primary == _SQLITE_CANTOPEN:
        fault, fix = "cannot be opened", f"it must be a file in a folder this user can write ({out_dir})"
    elif primary == _SQLITE_IOERR:
        fault, fix = "the disk reported an I/O error", f"check the disk that holds {out_dir}, then run again"
    else:
        fault, fix = "SQLite refused the operation", "run again with `audiokit --debug` for the traceback"
    return CatalogError(f"{path}: {fault} ({error}); {fix}")


def _catalog_errors(
    method: Callable[Concatenate[Catalog, _Arguments], _Result],
) -> Callable[Concatenate[Catalog, _Arguments], _Result]:
    """``method`` with every sqlite3 error it raises turned into a CatalogError (:func:`_catalog_error`)."""

    @functools.wraps(method)
    def translated(catalog: Catalog, /, *args: _Arguments.args, **kwargs: _Arguments.kwargs) -> _Result:
        try:
            return method(catalog, *args, **kwargs)
        except sqlite3.Error as error:
            raise _catalog_error(catalog.path, error) from error

    return translated


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
    >>> from audiokit.pipeline import ingest
    >>> ingest("examples/example.flac", "out", jobs=1).counts
    {'ingested': 1}
    >>> with Catalog("out", read_only=True) as catalog:
    ...     for row in catalog.search(max_lufs=-10, min_duration_s=20):
    ...         print(row["file_name"], round(row["integrated_lufs"], 1), row["duration_s"])
    example.flac -13.7 20.2
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(out_dir) / CATALOG_NAME
        if read_only:
            self._db = self._open_read_only()
            return
        if self.path.is_dir():
            raise CatalogError(_FOLDER_IN_PLACE.format(path=self.path))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CatalogError(f"{self.path}: its folder cannot be made ({error.strerror}); "
                               "choose an output folder this user can write") from error
        try:
            self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as error:
            raise _catalog_error(self.path, error) from error
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            self._enable_wal()
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException as error:
            self._db.close()
            if isinstance(error, sqlite3.Error):
                raise _catalog_error(self.path, error) from error
            raise

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
        if self.path.is_dir():
            raise CatalogError(_FOLDER_IN_PLACE.format(path=self.path))
        if not self.path.is_file():
            raise CatalogError(f"{self.path}: no catalog here; run `audiokit ingest ... -o {self.path.parent}` first")
        uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        db = None
        try:
            db = sqlite3.connect(uri, uri=True)
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as error:
            if db is not None:
                db.close()
            raise _catalog_error(self.path, error) from error
        if version != SCHEMA_VERSION:
            db.close()
            raise CatalogError(f"{self.path}: catalog schema version {version}; this audiokit reads "
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
                raise CatalogError(f"{self.path}: catalog schema version {version} is newer than this audiokit's "
                                   f"{SCHEMA_VERSION}; upgrade audiokit, or rebuild it with "
                                   f"`audiokit catalog rebuild {self.path.parent}`")
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

    @_catalog_errors
    def add_fingerprint(self, track_id: str, fingerprint: Fingerprint) -> None:
        """Store the fingerprint of a catalogued track (one computed after its ingest)."""
        with self._db:
            self._insert_fingerprint(track_id, fingerprint)

    @_catalog_errors
    def fingerprints(self) -> dict[str, Fingerprint]:
        """``{track_id: Fingerprint}`` of every track with a stored Chromaprint fingerprint."""
        return {row["track_id"]: Fingerprint.from_bytes(row["words"], row["duration_s"])
                for row in self._db.execute("SELECT * FROM fingerprints WHERE algorithm = ?", (ALGORITHM,))}

    @_catalog_errors
    def embeddings(self, model: str) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """``{track_id: (mean, std or None)}``: the embedding of ``model`` per track that has one, float32."""
        return {row["track_id"]: (np.frombuffer(row["mean"], "<f4").astype(np.float32),
                                  None if row["std"] is None else np.frombuffer(row["std"], "<f4").astype(np.float32))
                for row in self._db.execute("SELECT * FROM embeddings WHERE model = ? ORDER BY track_id", (model,))}

    @_catalog_errors
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

    @_catalog_errors
    def has_track(self, track_id: str) -> bool:
        """Whether the catalog has a row for ``track_id``."""
        return self._db.execute("SELECT 1 FROM tracks WHERE track_id = ?", (track_id,)).fetchone() is not None

    @_catalog_errors
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

    @_catalog_errors
    def known_failures(self) -> dict[str, dict]:
        """``{track_id: failure row}`` of every remembered failure (those recorded with a track id)."""
        return {row["track_id"]: row for row in self._rows("SELECT * FROM failures WHERE track_id IS NOT NULL")}

    @_catalog_errors
    def tracks(self) -> list[dict]:
        """Every track, most recently ingested first."""
        return self._rows("SELECT * FROM tracks ORDER BY ingested_utc DESC, file_name")

    @_catalog_errors
    def failures(self) -> list[dict]:
        """Every recorded failure (input, stage, reason, sha256, track id, time), most recent first."""
        return self._rows("SELECT * FROM failures ORDER BY failed_utc DESC")

    @_catalog_errors
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

    @_catalog_errors
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

    @_catalog_errors
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

    @_catalog_errors
    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class RebuildSummary:
    """What :func:`rebuild_catalog` did."""

    #: the catalog file, ``OUT/catalog.sqlite``
    path: Path
    #: manifests read into it, one per track
    manifests: int
    #: where the file that was no readable catalog went (``catalog.sqlite.damaged``); None when it was readable,
    #: rebuilt in place with its failure records kept
    set_aside: Path | None = None
    #: why it was set aside (SQLite's message, or the newer schema version); None when it was not
    reason: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready: paths as strings."""
        return {"path": str(self.path), "manifests": self.manifests,
                "set_aside": None if self.set_aside is None else str(self.set_aside), "reason": self.reason}


def rebuild_catalog(out_dir: str | os.PathLike[str]) -> RebuildSummary:
    """Recreate ``OUT/catalog.sqlite`` from the manifests under ``out_dir`` (the source of truth).

    A readable catalog is rebuilt in place and keeps its failure records (they
    have no manifest). A file that is not a catalog, is damaged (SQLite's
    ``PRAGMA quick_check`` fails) or has a newer schema is renamed to
    ``catalog.sqlite.damaged``, its ``-wal`` and ``-shm`` files with it
    (sqlite.org/tempfiles.html), and a new catalog is made. Run it while no
    ingest writes into ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        The ingest output folder.

    Returns
    -------
    RebuildSummary

    Raises
    ------
    CatalogError
        The catalog is locked past the busy timeout, or cannot be written.
    """
    path = Path(out_dir) / CATALOG_NAME
    reason = _unreadable(path)
    set_aside = None
    if reason is not None:
        set_aside = path.with_name(path.name + DAMAGED_SUFFIX)
        for suffix in ("-wal", "-shm"):  # a new catalog of the old name would read the old one's journal
            companion, moved = path.with_name(path.name + suffix), set_aside.with_name(set_aside.name + suffix)
            if companion.exists():
                os.replace(companion, moved)
            else:
                moved.unlink(missing_ok=True)  # an earlier damaged file's, which would pair with this one
        os.replace(path, set_aside)
    with Catalog(out_dir) as catalog:
        count = catalog.rebuild(out_dir)
    return RebuildSummary(path, count, set_aside, reason)


def _unreadable(path: Path) -> str | None:
    """Why the file at ``path`` cannot be rebuilt in place (not a catalog, damaged, newer); None if it can or is absent."""
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
            (version,) = db.execute("PRAGMA user_version").fetchone()
        finally:
            db.close()
    except sqlite3.Error as error:
        if _primary_code(error) in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
            return str(error)
        raise _catalog_error(path, error) from error
    if check != "ok":
        return f"PRAGMA quick_check: {check}"
    if version > SCHEMA_VERSION:
        return f"catalog schema version {version} is newer than this audiokit's {SCHEMA_VERSION}"
    return None


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

