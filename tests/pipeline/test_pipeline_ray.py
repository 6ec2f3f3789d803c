"""`ingest(executor="ray")` on a local Ray runtime: byte-identical manifests, failures reported, CLI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _batch import manifests, music, partial_folders

from audiokit.pipeline import Catalog, ingest, read_manifest

pytest.importorskip("ray", reason="needs the optional extra audiokit[ray]")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-in")
    music(folder / "song one.flac", seed=1)
    music(folder / "song two.wav", seed=2, sample_rate=48000)
    music(folder / "song three.flac", seed=3)
    (folder / "broken.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    return folder


@pytest.fixture(scope="module")
def both(ray_runtime, inputs, tmp_path_factory):
    """The same batch under local (2 processes) and ray."""
    root = tmp_path_factory.mktemp("ray-out")
    local = ingest(str(inputs), root / "local", jobs=2)
    remote = ingest(str(inputs), root / "ray", executor="ray")
    return root, local, remote


def test_ray_and_local_write_the_same_manifests(both):
    root, local, remote = both
    assert local.counts == remote.counts == {"ingested": 3, "failed": 1}
    local_manifests, ray_manifests = manifests(root / "local"), manifests(root / "ray")
    assert len(ray_manifests) == 3
    # Equal to the bit, timings aside: floats and the renditions' sha256 included.
    assert ray_manifests == local_manifests
    for name in ("local", "ray"):
        assert not partial_folders(root / name), "no partial folders left behind"
    for track in ray_manifests:  # the same files, each the size its manifest says
        listing = {name: sorted(p.relative_to(root / name).as_posix()
                                for p in (root / name / "tracks" / track).rglob("*") if p.is_file())
                   for name in ("local", "ray")}
        assert listing["local"] == listing["ray"] and listing["ray"]
        manifest = read_manifest(root / "ray" / "tracks" / track / "manifest.json")
        for rendition in manifest["ladder"]["renditions"]:
            file = root / "ray" / "tracks" / track / "renditions" / rendition["path"]
            assert file.stat().st_size == rendition["size_bytes"]


def test_ray_reports_the_bad_file_and_completes_the_others(both):
    root, _, remote = both
    assert remote.failed == 1
    by_name = {Path(result.input_path).name: result for result in remote.results}
    assert by_name["broken.mp3"].status == "failed" and by_name["broken.mp3"].error
    assert all(by_name[name].status == "ingested" for name in ("song one.flac", "song two.wav", "song three.flac"))
    assert [Path(result.input_path).name for result in remote.results] == sorted(by_name)  # input order
    with Catalog(root / "ray") as catalog:
        assert len(catalog.tracks()) == 3 and len(catalog.failures()) == 1


def test_ray_rerun_is_a_no_op(both, inputs):
    root, _, _ = both
    before = {p: p.stat().st_mtime_ns for p in (root / "ray").glob("tracks/*/manifest.json")}
    again = ingest(str(inputs), root / "ray", executor="ray")
    assert again.counts == {"unchanged": 3, "failed": 1}
    assert {p: p.stat().st_mtime_ns for p in (root / "ray").glob("tracks/*/manifest.json")} == before


def test_cli_executor_ray_exits_3_on_partial_failure(inputs, tmp_path):
    # its own process, so its own local Ray runtime (started and shut down by ingest)
    result = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "ingest", str(inputs), "-o",
                             str(tmp_path / "out"), "--executor", "ray", "--ray-cpus", "0.5", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["counts"] == {"ingested": 3, "failed": 1}
    assert "[4/4, 1 failed," in result.stderr and "tracks/min" in result.stderr


def test_address_without_ray_is_a_usage_error(inputs, tmp_path):
    result = subprocess.run([sys.executable, "-m", "audiokit.cli.main", "ingest", str(inputs), "-o",
                             str(tmp_path / "out"), "--address", "auto"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--executor ray" in result.stderr
