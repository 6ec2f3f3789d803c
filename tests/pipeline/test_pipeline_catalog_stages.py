"""The peaks, fingerprint and report stages on a real ingest, and the catalog (schema 3) that stores their results.

Three uploads: a music-like track, the same recording again (MP3, 3 s cut at
the start, quieter) and a different programme (noise hits). They are ingested
with the core stages, the tags stage (for the embeddings) and
:data:`audiokit.pipeline.extra_stages.CATALOG_STAGES`, and catalogued as
``audiokit ingest`` does.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile
from _signals import notes
from click.testing import CliRunner

import audiokit
from audiokit.cli.catalog import catalog as catalog_command
from audiokit.errors import FormatError, MissingDependencyError
from audiokit.fingerprint import fingerprint
from audiokit.io.reader import AudioReader
from audiokit.pipeline import Catalog, read_manifest
from audiokit.pipeline.extra_stages import PEAKS_SAMPLES_PER_PIXEL
from audiokit.pipeline.lookalikes import duplicate_tracks, similar_tracks
from audiokit.pipeline.stages import CORE_STAGES, resolve_stages
from audiokit.pipeline.track import PartialTrack, finish_track, ingest_track, split_stages, start_track
from audiokit.report.measure import measure_track
from audiokit.waveform import WaveformPeaks, waveform_peaks

RATE = 44100
TRIM_S = 3.0


def _uploads(folder: Path) -> list[Path]:
    song = (0.25 * notes(RATE, 20.0, np.random.default_rng(21))).astype(np.float32)
    rng = np.random.default_rng(22)
    decay = np.exp(-np.arange(RATE // 4) / (0.1 * RATE / 5))
    hits = np.tile(decay, 80) * rng.uniform(0.3, 1.0, 80).repeat(RATE // 4)
    other = (0.3 * hits * rng.standard_normal((2, hits.size))).astype(np.float32)
    return [audiokit.write(folder / "song.flac", audiokit.Audio(song, RATE)),
            audiokit.write(folder / "song-reupload.mp3",
                           audiokit.Audio(song[:, int(TRIM_S * RATE):] * np.float32(0.6), RATE), bitrate_bps=128_000),
            audiokit.write(folder / "other.flac", audiokit.Audio(other, RATE))]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    pytest.importorskip("torch", reason="the tags stage needs the ml extra")
    uploads = _uploads(tmp_path_factory.mktemp("uploads"))
    out = tmp_path_factory.mktemp("out")
    stages = resolve_stages("tags,peaks,fingerprint,report")  # what `audiokit ingest --stages tags,peaks,fingerprint,report` runs
    settings = {"preset": "hls-aac", "hls": False, "dash": False, "qa": "fast",
                "stages": [stage.name for stage in stages]}
    ids = {}
    with Catalog(out) as catalog:
        for path in uploads:
            result = ingest_track(path, out, settings, stages)
            assert result.status == "ingested", result.error
            manifest_path = Path(result.manifest_path)
            manifest = read_manifest(manifest_path)
            assert {name: manifest["stages"][name]["status"] for name in ("tags", "peaks", "fingerprint", "report")} \
                == dict.fromkeys(("tags", "peaks", "fingerprint", "report"), "ok"), manifest["stages"]
            catalog.add_manifest(manifest, manifest_path)
            ids[path.name] = result.track_id
    return out, ids, {path.name: path for path in uploads}


def _manifest(out: Path, track_id: str) -> dict:
    return read_manifest(out / "tracks" / track_id / "manifest.json")


def test_peaks_are_written_per_track_and_match_the_decoded_samples(ingested):
    out, ids, uploads = ingested
    section = _manifest(out, ids["song.flac"])["peaks"]
    assert [level["samples_per_pixel"] for level in section["levels"]] == list(PEAKS_SAMPLES_PER_PIXEL)
    samples, rate = soundfile.read(uploads["song.flac"], dtype="float32", always_2d=True)
    samples = samples.T
    for level in section["levels"]:
        peaks = WaveformPeaks.from_dict(json.loads((out / "tracks" / ids["song.flac"] / level["path"]).read_text()))
        per_pixel = level["samples_per_pixel"]
        assert peaks.length == level["length"] == -(-samples.shape[1] // per_pixel)
        assert (peaks.sample_rate, peaks.channels, peaks.bits) == (rate, samples.shape[0], 8)
        # the reference: numpy's min and max of each pixel's frames, scaled as audiowaveform scales 8 bits
        whole = samples.shape[1] // per_pixel * per_pixel
        frames = samples[:, :whole].reshape(samples.shape[0], -1, per_pixel)
        expected = np.clip(np.floor(np.stack([frames.min(axis=2), frames.max(axis=2)], -1) * 128), -128, 127)
        np.testing.assert_array_equal(peaks.data[: whole // per_pixel].transpose(1, 0, 2), expected)


def test_the_fingerprint_is_in_the_manifest_and_the_catalog(ingested):
    out, ids, uploads = ingested
    reference = fingerprint(uploads["song-reupload.mp3"])
    section = _manifest(out, ids["song-reupload.mp3"])["fingerprint"]
    assert section["algorithm"] == "chromaprint" and section["num_words"] == reference.words.size
    with Catalog(out, read_only=True) as catalog:
        stored = catalog.fingerprints()
    assert set(stored) == set(ids.values())
    np.testing.assert_array_equal(stored[ids["song-reupload.mp3"]].words, reference.words)


def test_duplicates_come_from_the_catalog_without_decoding_again(ingested, monkeypatch):
    out, ids, _ = ingested

    def no_decoding(source):
        raise AssertionError(f"fingerprinted {source} again; the catalog holds every fingerprint")

    monkeypatch.setattr("audiokit.fingerprint.fingerprint", no_decoding)
    (group,) = duplicate_tracks(out)
    offsets = {member["file_name"]: member["offset_s"] for member in group}
    assert set(offsets) == {"song.flac", "song-reupload.mp3"}
    assert offsets["song-reupload.mp3"] - offsets["song.flac"] == pytest.approx(TRIM_S, abs=0.13)


def test_similarity_search_reads_the_catalog_embeddings(ingested):
    out, ids, _ = ingested
    with Catalog(out, read_only=True) as catalog:
        embeddings = catalog.embeddings("MTT_musicnn")
    manifest = _manifest(out, ids["song.flac"])
    np.testing.assert_array_equal(embeddings[ids["song.flac"]][0],
                                  np.asarray(manifest["tags"]["MTT_musicnn"]["embedding"], np.float32))
    ranked = similar_tracks(out, ids["song.flac"], k=2)
    assert [row["file_name"] for row in ranked] == ["song-reupload.mp3", "other.flac"]


def _downgrade(catalog_path: Path, version: int) -> None:
    """Make a current catalog look as version 2 or 1 (pre-versioning, user_version 0) made it."""
    db = sqlite3.connect(catalog_path)
    db.executescript("DROP TABLE fingerprints; DROP TABLE embeddings;")
    if version == 1:
        db.executescript("DROP INDEX failures_by_track;"
                         "ALTER TABLE tracks DROP COLUMN degraded; ALTER TABLE tracks DROP COLUMN degraded_reasons;"
                         "ALTER TABLE failures DROP COLUMN track_id; ALTER TABLE failures DROP COLUMN input_sha256;"
                         "ALTER TABLE failures DROP COLUMN stage;")
    db.execute(f"PRAGMA user_version = {0 if version == 1 else version}")
    db.commit()
    db.close()


@pytest.mark.parametrize("version", [2, 1])
def test_an_older_catalog_migrates_and_is_backfilled_from_the_manifests(ingested, tmp_path, version):
    out, ids, _ = ingested
    with Catalog(out, read_only=True) as catalog:
        fingerprints, embeddings = catalog.fingerprints(), catalog.embeddings("MTT_musicnn")
    old = tmp_path / "old"
    shutil.copytree(out, old, ignore=shutil.ignore_patterns("renditions", "catalog.sqlite-*"))
    source, target = sqlite3.connect(out / "catalog.sqlite"), sqlite3.connect(old / "catalog.sqlite")
    source.backup(target)  # a consistent copy, write-ahead log included
    source.close()
    target.close()
    _downgrade(old / "catalog.sqlite", version)
    with pytest.raises(FormatError, match="Open it once where it is writable"):
        Catalog(old, read_only=True)
    with Catalog(old) as migrated:
        assert migrated._db.execute("PRAGMA user_version").fetchone()[0] == 3
        assert {row["track_id"] for row in migrated.tracks()} == set(ids.values())
        again = migrated.fingerprints()
        assert set(again) == set(fingerprints)
        for track_id, stored in fingerprints.items():
            np.testing.assert_array_equal(again[track_id].words, stored.words)
        backfilled = migrated.embeddings("MTT_musicnn")
        assert set(backfilled) == set(embeddings)
        np.testing.assert_array_equal(backfilled[ids["other.flac"]][0], embeddings[ids["other.flac"]][0])
    with Catalog(old, read_only=True) as reopened:  # and read-only opening works again once migrated
        assert len(reopened.fingerprints()) == 3


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a":
            self.links.append(attributes["href"])
        if tag == "source":
            self.sources.append(attributes["src"])


def test_the_report_stage_writes_each_page_and_the_run_index(ingested):
    out, ids, _ = ingested
    index = out / "report" / "index.html"
    parser = _Links()
    parser.feed(index.read_text())
    pages = sorted((index.parent / link).resolve() for link in parser.links)
    assert pages == sorted((out / "tracks" / track_id / "report.html").resolve() for track_id in ids.values())
    for page in pages:
        sources = _Links()
        sources.feed(page.read_text())
        assert sources.sources and all((page.parent / src).is_file() for src in sources.sources)


def test_catalog_report_rewrites_pages_from_the_catalog(ingested, tmp_path):
    out, ids, _ = ingested
    page = out / "tracks" / ids["other.flac"] / "report.html"
    before = page.read_text()
    page.unlink()
    (out / "report" / "index.html").unlink()
    result = CliRunner().invoke(catalog_command, ["report", str(out), "--json"])
    assert result.exit_code == 0, result.output
    written = [Path(p) for p in json.loads(result.stdout)]
    assert written[-1] == out / "report" / "index.html" and page in written and len(written) == 4
    assert page.read_text() == before  # the same page as the ingest pass wrote
    single = tmp_path / "one" / "song.html"
    single.parent.mkdir()
    result = CliRunner().invoke(catalog_command, ["report", str(out), ids["song.flac"][:8], "-o", str(single)])
    assert result.exit_code == 0, result.output
    sources = _Links()
    sources.feed(single.read_text())
    assert sources.sources and all((single.parent / src).is_file() for src in sources.sources)


# --- peaks, fingerprint and report ride the decode stage's one pass ------------------------------------------------

def _count_source_decodes(monkeypatch: pytest.MonkeyPatch, source: Path) -> list[Path]:
    """Record every decode of ``source`` (probing reads its header without decoding and is not counted)."""
    decodes: list[Path] = []
    original = AudioReader._decoded_chunks

    def counting(reader):
        if reader.path.resolve() == source.resolve():
            decodes.append(reader.path)
        return original(reader)

    monkeypatch.setattr(AudioReader, "_decoded_chunks", counting)
    return decodes


@pytest.fixture(scope="module")
def upload(tmp_path_factory):
    """A 12.345 s music-like 44.1 kHz stereo FLAC."""
    song = (0.3 * notes(RATE, 12.345, np.random.default_rng(31))).astype(np.float32)
    return audiokit.write(tmp_path_factory.mktemp("upload") / "song.flac", audiokit.Audio(song, RATE))


def _ingest_catalog_stages(upload: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *, fed: bool):
    """Ingest with peaks, fingerprint and report; ``fed=False`` drops what the pass fed them (a resumed track).

    Returns the track folder, the pass's results as the core stages left them, and the decodes of the input.
    """
    stages = resolve_stages("peaks,fingerprint,report")
    settings = {"preset": "hls-aac", "hls": False, "dash": False, "qa": "fast",
                "stages": [stage.name for stage in stages]}
    core, catalog_stages = split_stages(stages)
    decodes = _count_source_decodes(monkeypatch, upload)
    started = start_track(upload, out, settings, core)
    assert isinstance(started, PartialTrack), started
    pass_results = dict(started.context.fed)
    if not fed:
        started.context.fed.clear()
    result = finish_track(started, catalog_stages)
    assert result.status == "ingested", result.error
    manifest = read_manifest(Path(result.manifest_path))
    assert {name: manifest["stages"][name]["status"] for name in ("peaks", "fingerprint", "report")} \
        == dict.fromkeys(("peaks", "fingerprint", "report"), "ok"), manifest["stages"]
    return Path(result.manifest_path).parent, pass_results, list(decodes)


def test_catalog_stages_ride_the_one_decode_pass(upload, tmp_path, monkeypatch):
    track_dir, fed, decodes = _ingest_catalog_stages(upload, tmp_path / "out", monkeypatch, fed=True)
    assert len(decodes) == 1, f"the input was decoded {len(decodes)} times; the catalog stages must ride the pass"
    assert set(fed) == {"peaks", "fingerprint", "report"}
    # what the pass fed equals each standalone function on the file
    for got, expected in zip(fed["peaks"], waveform_peaks(upload, samples_per_pixel=PEAKS_SAMPLES_PER_PIXEL, bits=8),
                             strict=True):
        np.testing.assert_array_equal(got.data, expected.data)
    reference = fingerprint(upload)
    np.testing.assert_array_equal(fed["fingerprint"].words, reference.words)
    assert fed["fingerprint"].duration_s == reference.duration_s
    measured = measure_track(upload, with_peaks=False, channel_layout=audiokit.probe(upload).channel_layout)
    np.testing.assert_array_equal(fed["report"].spectrogram_db, measured.spectrogram_db)
    np.testing.assert_array_equal(fed["report"].momentary.lufs, measured.momentary.lufs)
    np.testing.assert_array_equal(fed["report"].short_term.lufs, measured.short_term.lufs)
    assert fed["report"].peaks is None  # the page draws the peaks stage's finest level
    # and the written peaks equal numpy's min and max of the decoded samples, scaled as audiowaveform scales 8 bits
    samples = soundfile.read(upload, dtype="float32", always_2d=True)[0].T
    manifest = read_manifest(track_dir / "manifest.json")
    for level in manifest["peaks"]["levels"]:
        peaks = WaveformPeaks.from_dict(json.loads((track_dir / level["path"]).read_text()))
        per_pixel = level["samples_per_pixel"]
        whole = samples.shape[1] // per_pixel * per_pixel
        frames = samples[:, :whole].reshape(samples.shape[0], -1, per_pixel)
        expected = np.clip(np.floor(np.stack([frames.min(axis=2), frames.max(axis=2)], -1) * 128), -128, 127)
        np.testing.assert_array_equal(peaks.data[: whole // per_pixel].transpose(1, 0, 2), expected)
        tail = samples[:, whole:]
        np.testing.assert_array_equal(peaks.data[-1], np.clip(np.floor(
            np.stack([tail.min(axis=1), tail.max(axis=1)], -1) * 128), -128, 127))
    assert manifest["fingerprint"] == reference.to_dict()


def test_a_catalog_stage_the_pass_did_not_feed_streams_the_file_itself(upload, tmp_path, monkeypatch):
    fed_dir, _, _ = _ingest_catalog_stages(upload, tmp_path / "fed", monkeypatch, fed=True)
    monkeypatch.undo()
    alone_dir, _, decodes = _ingest_catalog_stages(upload, tmp_path / "alone", monkeypatch, fed=False)
    assert len(decodes) == 4  # the pass, then peaks, fingerprint and report each on their own
    fed, alone = read_manifest(fed_dir / "manifest.json"), read_manifest(alone_dir / "manifest.json")
    for name in ("peaks", "fingerprint", "report"):
        assert alone[name] == fed[name]
    for level in fed["peaks"]["levels"]:
        assert (alone_dir / level["path"]).read_bytes() == (fed_dir / level["path"]).read_bytes()
    assert (alone_dir / "report.html").read_text() == (fed_dir / "report.html").read_text()


def test_a_stage_selected_after_the_pass_streams_the_file_itself(upload, tmp_path, monkeypatch):
    """A track whose settings name only the core stages: the decode stage builds no riders."""
    stages = resolve_stages("fingerprint")
    settings = {"preset": "hls-aac", "hls": False, "dash": False, "qa": "off", "stages": list(CORE_STAGES)}
    decodes = _count_source_decodes(monkeypatch, upload)
    result = ingest_track(upload, tmp_path / "out", settings, stages)
    assert result.status == "ingested", result.error
    assert len(decodes) == 2
    assert read_manifest(Path(result.manifest_path))["fingerprint"] == fingerprint(upload).to_dict()


def test_a_rider_that_cannot_be_built_leaves_the_pass_and_its_stage_is_skipped(upload, tmp_path, monkeypatch):
    def no_chromaprint():
        raise MissingDependencyError("fingerprints need the Chromaprint library (libchromaprint.so.1: cannot open "
                                     "shared object file): apt-get install libchromaprint1")

    monkeypatch.setattr("audiokit.fingerprint._chromaprint", no_chromaprint)
    stages = resolve_stages("peaks,fingerprint")
    settings = {"preset": "hls-aac", "hls": False, "dash": False, "qa": "off",
                "stages": [stage.name for stage in stages]}
    decodes = _count_source_decodes(monkeypatch, upload)
    result = ingest_track(upload, tmp_path / "out", settings, stages)
    assert result.status == "ingested", result.error
    manifest = read_manifest(Path(result.manifest_path))
    assert manifest["stages"]["fingerprint"]["status"] == "skipped"
    assert "apt-get install libchromaprint1" in manifest["stages"]["fingerprint"]["reason"]
    assert manifest["stages"]["peaks"]["status"] == "ok" and len(decodes) == 1
