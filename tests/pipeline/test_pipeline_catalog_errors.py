"""A catalog that cannot be used is a CatalogError naming the file and the fix, in the API and in `audiokit ingest`.

Faults: a file that is not SQLite, a damaged catalog (one that fails at open
and one that opens and fails at the first write of a track), a folder where
the file should be, a lock held past the busy timeout, a full disk, a write
through a read-only connection and a read-only folder (root ignores
permissions, so that test's process gives up root first). `audiokit catalog
rebuild` must recover every damaged catalog from the manifests, as the
messages promise.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from _batch import music
from click.testing import CliRunner

from audiokit.errors import CatalogError
from audiokit.pipeline import CATALOG_NAME, Catalog, IngestOptions, ingest
from audiokit.pipeline import catalog as catalog_module
from audiokit.pipeline.catalog import DAMAGED_SUFFIX, rebuild_catalog

#: A short lock wait for the tests (the catalog's own is 30 s).
SHORT_BUSY_TIMEOUT_MS = 200
#: Ingest settings of the one real track the tests catalog.
OPTIONS = IngestOptions(qa="off")
#: Opens the catalog in argv[1] and runs `audiokit ingest argv[2] -o argv[1]` where the folder is read-only;
#: prints the error, the exit code and ingest's stderr. Run as root, it becomes nobody first (after its imports:
#: nobody may not read root's Python installation).
READ_ONLY_RUN = """
import difflib, os, sys  # difflib: click's option parser imports it on this path
from click.testing import CliRunner
import audiokit.cli.ingest, audiokit.pipeline.batch
from audiokit.cli.main import cli
from audiokit.errors import CatalogError
from audiokit.pipeline import Catalog
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
try:
    Catalog(sys.argv[1])
except CatalogError as error:
    print(error)
result = CliRunner().invoke(cli, ["ingest", sys.argv[2], "-o", sys.argv[1], "--jobs", "1", "--qa", "off"])
print(result.exit_code)
print(result.stderr, end="")
"""


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> tuple[Path, Path]:
    """(input track, output folder) of one real ingest: a manifest and the catalog that lists it."""
    folder = tmp_path_factory.mktemp("ingested")
    track = music(folder / "song.wav", seconds=2.0)
    summary = ingest([str(track)], folder / "out", OPTIONS, jobs=1)
    assert summary.counts == {"ingested": 1}
    return track, folder / "out"


@pytest.fixture
def out(ingested, tmp_path) -> Path:
    """A copy of the ingested output folder that a test may damage."""
    return Path(shutil.copytree(ingested[1], tmp_path / "out"))


def _flip_page(path: Path, page: int) -> None:
    """Overwrite SQLite page ``page`` (1-based) of the file at ``path`` with bytes no b-tree page starts with."""
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file, none left in the WAL
    db.close()
    with open(path, "r+b") as file:
        file.seek((page - 1) * page_size)
        file.write(b"\xee" * page_size)


def _root_page(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        (page,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    db.close()
    return int(page)


def _ingest_cli(track: Path, out: Path) -> tuple[int, str]:
    from audiokit.cli.main import cli

    result = CliRunner().invoke(cli, ["ingest", str(track), "-o", str(out), "--jobs", "1", "--qa", "off",
                                      "--force"])
    return result.exit_code, result.stderr


def _assert_one_clean_line(stderr: str, path: Path, *phrases: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("audiokit: ")
              and "warning" not in line.split(":")[1]]
    assert len(errors) == 1, stderr
    assert errors[0].startswith(f"audiokit: error: {path}: "), stderr
    for phrase in phrases:
        assert phrase in errors[0], stderr
    assert "internal error" not in stderr


def test_a_file_that_is_not_sqlite(ingested, out):
    path = out / CATALOG_NAME
    path.write_text("track_id,file\n3fa9c2,song.wav\n", encoding="utf-8")  # someone saved a CSV export here
    expected = f"not a catalog, or damaged (file is not a database); rebuild it from the manifests with " \
               f"`audiokit catalog rebuild {out}` (which keeps this file as {CATALOG_NAME}{DAMAGED_SUFFIX})"
    with pytest.raises(CatalogError) as raised:
        Catalog(out)
    assert str(raised.value) == f"{path}: {expected}"
    with pytest.raises(CatalogError, match="not a catalog, or damaged"):
        Catalog(out, read_only=True).tracks()
    code, stderr = _ingest_cli(ingested[0], out)
    assert code == 1
    _assert_one_clean_line(stderr, path, expected)


def test_rebuild_sets_an_unreadable_file_aside_and_recovers_every_track(ingested, out):
    path = out / CATALOG_NAME
    with Catalog(out, read_only=True) as catalog:
        before = [row["track_id"] for row in catalog.tracks()]
    (out / f"{CATALOG_NAME}{DAMAGED_SUFFIX}-wal").write_bytes(b"left by an earlier damaged catalog")
    path.write_bytes(b"\x00" * 4096)
    summary = rebuild_catalog(out)
    assert summary.manifests == 1 and summary.set_aside == out / f"{CATALOG_NAME}{DAMAGED_SUFFIX}"
    assert summary.reason == "file is not a database"
    assert summary.set_aside.read_bytes() == b"\x00" * 4096
    assert not (out / f"{CATALOG_NAME}{DAMAGED_SUFFIX}-wal").exists()  # it would pair with the wrong file
    with Catalog(out, read_only=True) as catalog:
        assert [row["track_id"] for row in catalog.tracks()] == before
    # A readable catalog is rebuilt in place: nothing set aside, failure records kept.
    with Catalog(out) as catalog:
        catalog.add_failure("/uploads/broken.wav", "not audio", track_id="t1", input_sha256="aa", stage="probe")
    summary = rebuild_catalog(out)
    assert summary.set_aside is None and summary.reason is None and summary.manifests == 1
    with Catalog(out, read_only=True) as catalog:
        assert [row["input_path"] for row in catalog.failures()] == ["/uploads/broken.wav"]


def test_a_catalog_damaged_where_it_opens(ingested, out):
    path = out / CATALOG_NAME
    _flip_page(path, 1)  # the header page: SQLite refuses the file at once
    with pytest.raises(CatalogError, match="not a catalog, or damaged"):
        Catalog(out)
    code, stderr = _ingest_cli(ingested[0], out)
    assert code == 1
    _assert_one_clean_line(stderr, path, "not a catalog, or damaged", f"`audiokit catalog rebuild {out}`")
    assert rebuild_catalog(out).manifests == 1


def test_a_catalog_damaged_where_ingest_writes_its_track(ingested, out):
    """The catalog opens and answers the failure query; the damage shows when the finished track is recorded."""
    path = out / CATALOG_NAME
    _flip_page(path, _root_page(path, "tracks"))
    with Catalog(out) as catalog:
        assert catalog.known_failures() == {}
        with pytest.raises(CatalogError, match="not a catalog, or damaged .database disk image is malformed."):
            catalog.tracks()
    code, stderr = _ingest_cli(ingested[0], out)
    assert code == 1
    _assert_one_clean_line(stderr, path, "not a catalog, or damaged", f"`audiokit catalog rebuild {out}`")
    summary = rebuild_catalog(out)
    assert summary.set_aside is not None and summary.reason.startswith("PRAGMA quick_check")
    with Catalog(out, read_only=True) as catalog:
        assert len(catalog.tracks()) == 1


def test_a_folder_where_the_catalog_should_be(ingested, tmp_path):
    out = tmp_path / "out"
    (out / CATALOG_NAME).mkdir(parents=True)
    for read_only in (False, True):
        with pytest.raises(CatalogError, match="a folder, not a catalog; move it away, then run again"):
            Catalog(out, read_only=read_only)
    code, stderr = _ingest_cli(ingested[0], out)
    assert code == 1
    _assert_one_clean_line(stderr, out / CATALOG_NAME, "a folder, not a catalog")


def test_a_lock_held_past_the_busy_timeout(ingested, out, monkeypatch):
    monkeypatch.setattr(catalog_module, "_BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)
    path = out / CATALOG_NAME
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another ingest in the middle of a write
    try:
        expected = (f"locked by another process for over 0.2 s (database is locked); another ingest or "
                    f"`audiokit catalog rebuild` on {out} holds it: wait for it to end, then run again")
        with pytest.raises(CatalogError) as raised:
            Catalog(out)
        assert str(raised.value) == f"{path}: {expected}"
        code, stderr = _ingest_cli(ingested[0], out)
        assert code == 1
        _assert_one_clean_line(stderr, path, expected)
        with pytest.raises(CatalogError, match="locked by another process"):
            rebuild_catalog(out)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Catalog(out) as catalog:  # the lock is gone: the same catalog works
        catalog.add_failure("/uploads/x.wav", "not audio")


def test_a_lock_taken_while_the_catalog_is_open(out, monkeypatch):
    monkeypatch.setattr(catalog_module, "_BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)
    with Catalog(out) as catalog:
        holder = sqlite3.connect(out / CATALOG_NAME, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(CatalogError, match="locked by another process for over 0.2 s"):
                catalog.add_failure("/uploads/x.wav", "not audio")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        catalog.add_failure("/uploads/x.wav", "not audio")
        assert len(catalog.failures()) == 1


def test_a_full_disk(out):
    with Catalog(out) as catalog:
        # SQLite answers SQLITE_FULL when the file would grow past max_page_count, as when the disk is full
        # (sqlite.org/pragma.html#pragma_max_page_count).
        pages = catalog._db.execute("PRAGMA page_count").fetchone()[0]
        catalog._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(CatalogError) as raised:
            catalog.add_failure("/uploads/long.wav", "x" * 100_000)
    assert str(raised.value) == (f"{out / CATALOG_NAME}: the disk is full (database or disk is full); "
                                 f"free space on the disk that holds {out}, then run again")


def test_a_read_only_folder(ingested):
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        out = Path(shutil.copytree(ingested[1], folder / "out"))
        track = Path(shutil.copy(ingested[0], folder / "song.wav"))
        for path in (folder, track, out / CATALOG_NAME):
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the unprivileged process
        out.chmod(0o555)
        try:
            done = subprocess.run([sys.executable, "-c", READ_ONLY_RUN, str(out), str(track)], capture_output=True,
                                  text=True, timeout=120, env=os.environ)
        finally:
            out.chmod(0o755)
    assert done.returncode == 0, done.stderr
    error, code, *stderr = done.stdout.splitlines()
    assert error.startswith(f"{out / CATALOG_NAME}: cannot be "), error
    assert f"({out})" in error or f"make {out} and the catalog writable" in error, error
    assert code == "1"
    _assert_one_clean_line("\n".join(stderr), out / CATALOG_NAME, error.split(": ", 1)[1])


def test_a_write_through_a_read_only_catalog(out):
    with Catalog(out, read_only=True) as catalog, pytest.raises(CatalogError, match="cannot be written"):
        catalog.add_failure("/uploads/x.wav", "not audio")


def test_a_newer_catalog_is_rebuilt(out):
    path = out / CATALOG_NAME
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {catalog_module.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(CatalogError, match=f"upgrade audiokit, or rebuild it with `audiokit catalog rebuild {out}`"):
        Catalog(out)
    summary = rebuild_catalog(out)
    assert summary.reason == (f"catalog schema version {catalog_module.SCHEMA_VERSION + 1} is newer than this "
                              f"audiokit's {catalog_module.SCHEMA_VERSION}")
    assert summary.manifests == 1


def test_the_rebuild_command_reports_what_it_set_aside(out):
    from audiokit.cli.main import cli

    (out / CATALOG_NAME).write_text("not a catalog", encoding="utf-8")
    result = CliRunner().invoke(cli, ["catalog", "rebuild", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"audiokit: warning: {out / CATALOG_NAME}: file is not a database; kept as "
        f"{out / CATALOG_NAME}{DAMAGED_SUFFIX}",
        "audiokit catalog: rebuilt from 1 manifests",
    ]
    listed = CliRunner().invoke(cli, ["catalog", "list", str(out)])
    assert listed.exit_code == 0 and "song.wav" in listed.stdout
