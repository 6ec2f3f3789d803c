"""``audiokit gain``: ReplayGain 2.0 / R128 tags written into files in place, audio untouched."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner
from test_loudness_crosscheck import music_like

import audiokit
from audiokit.cli.loudness import gain
from audiokit.loudness import read_gain_tags, tag_files

#: pyloudnorm and audiokit agree to this on music (test_loudness_crosscheck); the tags round to 0.01 dB.
REFERENCE_TOL_DB = 0.05
#: audiokit writes .ogg and .opus as Ogg Opus
FORMATS = {"a.flac": {}, "b.mp3": {}, "c.m4a": {}, "d.opus": {}, "e.wav": {}, "f.ogg": {}}
OPUS = {"d.opus", "f.ogg"}


@pytest.fixture
def files(tmp_path):
    written = {}
    for index, (name, options) in enumerate(FORMATS.items()):
        audio = audiokit.Audio(music_like(48000, 5.0, seed=index) * np.float32(0.5 + 0.1 * index), 48000)
        written[name] = audiokit.write(tmp_path / name, audio, tags={"title": f"Track {index}"}, **options)
    return written


def _pyloudnorm_lufs(path) -> float:
    audio = audiokit.read(path)
    return pyloudnorm.Meter(audio.sample_rate).integrated_loudness(audio.samples.T.astype(np.float64))


def test_track_gain_in_every_container_matches_an_independent_meter(files):
    before = {name: audiokit.read(path).samples for name, path in files.items()}
    results = tag_files(list(files.values()))
    assert [result.action for result in results] == ["tagged"] * len(files)
    for name, path in files.items():
        tags = read_gain_tags(path)
        reference = _pyloudnorm_lufs(path)
        if name in OPUS:  # RFC 7845: R128 only, Q7.8 relative to -23 LUFS
            assert set(tags) == {"R128_TRACK_GAIN"}
            assert int(tags["R128_TRACK_GAIN"]) / 256 == pytest.approx(-23.0 - reference, abs=REFERENCE_TOL_DB)
        else:
            assert float(tags["REPLAYGAIN_TRACK_GAIN"].removesuffix(" dB")) == pytest.approx(
                -18.0 - reference, abs=REFERENCE_TOL_DB)
            assert 0.0 < float(tags["REPLAYGAIN_TRACK_PEAK"]) < 1.2
        # ffmpeg (through audiokit.probe) reads the tags too, and the title is still there.
        probed = {key.upper(): value for key, value in audiokit.probe(path).tags.items()}
        assert probed.get("TITLE") == f"Track {list(files).index(name)}"
        assert any(key.startswith(("REPLAYGAIN_TRACK_GAIN", "R128_TRACK_GAIN")) for key in probed), probed
        np.testing.assert_array_equal(audiokit.read(path).samples, before[name])  # the audio is untouched


def test_album_mode_writes_the_joint_gain_and_skips_tagged_files(files):
    paths = [files["a.flac"], files["b.mp3"], files["e.wav"]]
    tag_files(paths, album=True)
    album_gains = {read_gain_tags(path)["REPLAYGAIN_ALBUM_GAIN"] for path in paths}
    assert len(album_gains) == 1  # one album gain for all
    track_gains = {read_gain_tags(path)["REPLAYGAIN_TRACK_GAIN"] for path in paths}
    assert len(track_gains) == 3
    result = CliRunner().invoke(gain, [str(path) for path in paths] + ["--album", "--json"])
    assert result.exit_code == 0, result.output
    assert [entry["action"] for entry in json.loads(result.stdout)] == ["skipped"] * 3
    forced = CliRunner().invoke(gain, [str(paths[0]), "--force"])
    assert forced.exit_code == 0 and "REPLAYGAIN_TRACK_GAIN=" in forced.stdout
    assert "REPLAYGAIN_ALBUM_GAIN" not in read_gain_tags(paths[0])  # a track run replaces the gain tags


def test_jsonl_prints_one_object_per_file_equal_to_json(files):
    paths = [str(files["a.flac"]), str(files["d.opus"])]
    lines = CliRunner().invoke(gain, [*paths, "--jsonl"])
    assert lines.exit_code == 0, lines.output
    documents = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [document["action"] for document in documents] == ["tagged", "tagged"]
    listed = CliRunner().invoke(gain, [*paths, "--json"])  # tagged now: both skipped, in the same shape
    assert [entry["path"] for entry in json.loads(listed.stdout)] == [document["path"] for document in documents]


def test_stale_tags_are_replaced_not_duplicated(files):
    import mutagen

    path = files["b.mp3"]
    tag_files([path])
    quieter = audiokit.Audio(audiokit.read(path).samples * np.float32(0.5), 48000)  # -6.02 dB
    audiokit.write(path, quieter, tags={"title": "Track 1"})
    tag_files([path], force=True)
    second = read_gain_tags(path)
    assert float(second["REPLAYGAIN_TRACK_GAIN"].split()[0]) == pytest.approx(
        -18.0 - _pyloudnorm_lufs(path), abs=REFERENCE_TOL_DB)
    frames = [frame.desc for frame in mutagen.File(path).tags.getall("TXXX")]
    assert sorted(frames) == ["REPLAYGAIN_TRACK_GAIN", "REPLAYGAIN_TRACK_PEAK"]


def test_a_file_that_is_not_audio_is_a_clean_error(tmp_path):
    bogus = tmp_path / "notes.mp3"
    bogus.write_bytes(b"not audio at all" * 100)
    result = CliRunner().invoke(gain, [str(bogus)])
    assert result.exit_code == 1
    assert bogus.read_bytes() == b"not audio at all" * 100
