"""A file name of any bytes ingests, is cataloged and printed safely (no internal error, no lost batch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

import audiokit


def test_a_name_that_is_not_utf8_is_ingested_and_cataloged(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(2 * 44100) / 44100)).astype(np.float32)
    good = audiokit.write(uploads / "good.flac", audiokit.Audio(np.vstack([tone, tone]), 44100))
    odd = os.path.join(os.fsencode(uploads), b"caf\xe9 \xff.flac")  # Latin-1 bytes in the name
    with open(odd, "wb") as handle:
        handle.write(good.read_bytes()[:-1] + b"\x00")  # other content, so another track
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "ingest", str(uploads), "-o", str(out),
                          "--jobs", "1", "--qa", "off", "--json"], capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    listing = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "catalog", "list", str(out), "--json"],
                             capture_output=True, text=True, timeout=120)
    names = sorted(row["file_name"] for row in json.loads(listing.stdout))
    assert names == ["caf\\xe9 \\xff.flac", "good.flac"]
    manifests = [json.loads(path.read_text()) for path in out.glob("tracks/*/manifest.json")]
    exact = {os.fsencode(m["source"]["file_name"]) for m in manifests}
    assert b"caf\xe9 \xff.flac" in exact  # the manifest keeps the name byte for byte


def test_queries_open_the_catalog_read_only_and_write_nothing(tmp_path):
    from audiokit.pipeline import Catalog

    with Catalog(tmp_path) as catalog:  # a writer creates it (WAL mode), then closes
        catalog.add_failure("/uploads/bad.wav", "not audio")
    before = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}
    with Catalog(tmp_path, read_only=True) as catalog:
        assert [row["input_path"] for row in catalog.failures()] == ["/uploads/bad.wav"]
    listing = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "catalog", "list", str(tmp_path),
                              "--failures", "--json"], capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and json.loads(listing.stdout)[0]["error"] == "not audio"
    # nothing created or touched: on read-only media WAL mode could not create its -wal/-shm files
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before
