"""`audiokit catalog similar` and `catalog duplicates` on a real ingest: a re-upload is found both ways."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _signals import notes

import audiokit
from audiokit.pipeline import Catalog

RATE = 44100


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audiokit.cli.main", *args], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    pytest.importorskip("torch", reason="the tags stage needs the ml extra")
    folder = tmp_path_factory.mktemp("uploads")
    song = (0.25 * notes(RATE, 25.0, np.random.default_rng(11))).astype(np.float32)
    # a different kind of programme: drum-like noise hits, four a second, each decaying over 0.1 s
    rng = np.random.default_rng(12)
    decay = np.exp(-np.arange(RATE // 4) / (0.1 * RATE / 5))
    hits = np.tile(decay, 100) * rng.uniform(0.3, 1.0, 100).repeat(RATE // 4)
    other = (0.3 * hits * rng.standard_normal((2, hits.size))).astype(np.float32)
    audiokit.write(folder / "song.flac", audiokit.Audio(song, RATE))
    # the same recording uploaded again: lossy, 3 s shorter at the start, quieter
    audiokit.write(folder / "song-reupload.mp3", audiokit.Audio(song[:, 3 * RATE:] * np.float32(0.6), RATE),
                   bitrate_bps=128_000)
    audiokit.write(folder / "other.flac", audiokit.Audio(other, RATE))
    out = tmp_path_factory.mktemp("catalog")
    # ingested with a relative output folder, as a user in the parent folder would type it
    result = _cli("ingest", str(folder), "-o", out.name, "--stages", "tags", "--jobs", "1", "--qa", "off",
                  cwd=out.parent)
    assert result.returncode == 0, result.stderr
    tracks = json.loads(_cli("catalog", "list", str(out), "--json").stdout)
    return out, {row["file_name"]: row["track_id"] for row in tracks}


def test_similar_ranks_the_re_upload_first(ingested):
    out, ids = ingested
    result = _cli("catalog", "similar", str(out), ids["song.flac"][:8], "-k", "2", "--json")
    assert result.returncode == 0, result.stderr
    ranked = json.loads(result.stdout)
    assert [row["file_name"] for row in ranked] == ["song-reupload.mp3", "other.flac"]
    assert ranked[0]["similarity"] > ranked[1]["similarity"]
    assert (out / "similarity.npz").exists()  # cached for the next query
    human = _cli("catalog", "similar", str(out), ids["other.flac"])
    assert human.returncode == 0 and human.stdout.splitlines()[0].split()[0] == "similarity"


def test_duplicates_groups_the_re_upload_with_its_offset(ingested):
    out, ids = ingested
    result = _cli("catalog", "duplicates", str(out), "--json")
    assert result.returncode == 0, result.stderr
    (group,) = json.loads(result.stdout)
    by_name = {member["file_name"]: member["offset_s"] for member in group}
    assert set(by_name) == {"song.flac", "song-reupload.mp3"}
    assert by_name["song-reupload.mp3"] - by_name["song.flac"] == pytest.approx(3.0, abs=0.13)
    # ingested without the fingerprint stage: each track was fingerprinted once, and stored in the catalog
    with Catalog(out, read_only=True) as catalog:
        assert set(catalog.fingerprints()) == set(ids.values())


def test_tag_search_ignores_case(ingested):
    out, ids = ingested
    record = json.loads(_cli("catalog", "show", str(out), ids["song.flac"], "--json").stdout)
    label = record["tags"][0]["label"]
    found = json.loads(_cli("catalog", "search", str(out), "--tag", label.upper(), "--json").stdout)
    assert ids["song.flac"] in {row["track_id"] for row in found}


def test_tables_have_headers_and_empty_searches_say_so(ingested):
    out, _ = ingested
    listing = _cli("catalog", "list", str(out))
    assert listing.stdout.splitlines()[0].split()[:2] == ["track", "duration"]
    nothing = _cli("catalog", "search", str(out), "--min-lufs", "-1")
    assert nothing.returncode == 0 and nothing.stdout == "" and "no track matches" in nothing.stderr
