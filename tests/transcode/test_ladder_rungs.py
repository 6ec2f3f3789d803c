"""Named ladders, custom rungs validation, rung resolution, downmix and gain tags."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audiokit.errors import FormatError, ParameterError
from audiokit.transcode import LADDERS, Rung, downmix, gain_tags, ladder_rungs, load_rungs, parse_rungs
from audiokit.transcode.encode import canonical_tags, lame_scale, rendition_tags
from audiokit.transcode.rungs import resolve_rung


@pytest.mark.parametrize("name", sorted(LADDERS))
def test_ladders_are_valid_and_monotone_per_codec(name):
    rungs = parse_rungs(list(ladder_rungs(name)))
    by_codec = {}
    for rung in rungs:
        if rung.bitrate_bps is not None:
            by_codec.setdefault((rung.codec, rung.num_channels), []).append(rung.bitrate_bps)
    for bitrates in by_codec.values():
        assert bitrates == sorted(bitrates)


def test_ladder_contents_match_the_contract():
    spotify = {r.name: r for r in LADDERS["spotify-like"]}
    assert [r.bitrate_bps for r in spotify.values() if r.codec == "opus"] == [24_000, 96_000, 160_000, 320_000]
    assert [r.bitrate_bps for r in spotify.values() if r.codec == "aac"] == [128_000, 256_000]
    assert spotify["flac"].codec == "flac"
    assert {(r.bitrate_bps, r.sample_rate) for r in LADDERS["hls-aac"]} == {(64_000, 48000), (96_000, 48000), (160_000, 48000)}
    podcast = {(r.codec, r.bitrate_bps, r.num_channels) for r in LADDERS["podcast"]}
    assert podcast == {("mp3", 64_000, 1), ("mp3", 128_000, 2), ("aac", 64_000, 1), ("opus", 32_000, 1)}


def test_unknown_ladder_names_the_choices():
    with pytest.raises(ParameterError, match="spotify-like"):
        ladder_rungs("youtube")


@pytest.mark.parametrize("rung, message", [
    ({"name": "x", "codec": "vorbis", "bitrate_bps": 96000}, r"rungs\[0\]\.codec is 'vorbis'"),
    ({"name": "x", "codec": "aac", "bitrate_bps": "128k"}, r"rungs\[0\]\.bitrate_bps is '128k'"),
    ({"name": "x", "codec": "aac"}, r"rungs\[0\]\.bitrate_bps is None"),
    ({"name": "x", "codec": "flac", "bitrate_bps": 900000}, r"rungs\[0\]\.bitrate_bps .* lossless"),
    ({"name": "x", "codec": "mp3", "bitrate_bps": 128000, "sample_rate": 96000}, r"rungs\[0\]\.sample_rate is 96000"),
    ({"name": "x", "codec": "opus", "bitrate_bps": 64000, "sample_rate": 44100}, r"rungs\[0\]\.sample_rate is 44100"),
    ({"name": "x", "codec": "mp3", "bitrate_bps": 128000, "num_channels": 6}, r"rungs\[0\]\.num_channels is 6"),
    ({"name": "../evil", "codec": "aac", "bitrate_bps": 128000}, r"rungs\[0\]\.name is '\.\./evil'"),
    ({"name": "x", "codec": "aac", "bitrate_bps": 128000, "bitrate": 1}, r"rungs\[0\] has unknown field\(s\) bitrate"),
    ({"codec": "aac", "bitrate_bps": 128000}, r"rungs\[0\]\.name is missing"),
    ({"name": "x", "codec": "aac", "bitrate_bps": True}, r"rungs\[0\]\.bitrate_bps is True"),
])
def test_custom_rung_errors_name_the_field(rung, message):
    with pytest.raises(ParameterError, match=message):
        parse_rungs([rung])


def test_repeated_names_and_empty_ladders_are_rejected():
    rung = {"name": "a", "codec": "opus", "bitrate_bps": 64000}
    with pytest.raises(ParameterError, match=r"rungs\[1\]\.name 'a' repeats rungs\[0\]"):
        parse_rungs([rung, rung])
    with pytest.raises(ParameterError, match="non-empty list"):
        parse_rungs([])
    with pytest.raises(ParameterError, match="exactly"):
        parse_rungs({"rungs": [rung], "extra": 1})


def test_load_rungs_reads_json_and_reports_bad_files(tmp_path):
    good = tmp_path / "rungs.json"
    good.write_text(json.dumps({"rungs": [{"name": "lo", "codec": "aac", "bitrate_bps": 64000, "num_channels": 1}]}))
    assert load_rungs(good) == (Rung("lo", "aac", 64000, None, 1),)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        load_rungs(bad)
    with pytest.raises(FormatError, match="cannot read"):
        load_rungs(tmp_path / "missing.json")


@pytest.mark.parametrize("codec, source_rate, expected_rate", [
    ("opus", 44100, 48000), ("aac", 44100, 44100), ("aac", 96000, 48000), ("aac", 88200, 44100),
    ("mp3", 22050, 22050), ("mp3", 96000, 48000), ("flac", 96000, 96000),
])
def test_default_rates(codec, source_rate, expected_rate):
    rung = parse_rungs([{"name": "r", "codec": codec, **({} if codec == "flac" else {"bitrate_bps": 96000})}])[0]
    resolved = resolve_rung(rung, source_rate=source_rate, source_channels=2, source_bit_depth=16)
    assert resolved.sample_rate == expected_rate


def test_resolution_of_channels_depth_and_bitrate_caps():
    stereo_opus = Rung("o", "opus", 320_000, None, 2)
    mono = resolve_rung(stereo_opus, source_rate=48000, source_channels=1, source_bit_depth=None)
    assert (mono.num_channels, mono.bitrate_bps) == (1, 256_000)  # mono sources stay mono; libopus' cap
    mp3 = resolve_rung(Rung("m", "mp3", 128_000), source_rate=48000, source_channels=6, source_bit_depth=24)
    assert mp3.num_channels == 2  # MP3 cannot carry 5.1: downmixed
    flac = Rung("f", "flac")
    assert resolve_rung(flac, source_rate=44100, source_channels=2, source_bit_depth=16).bit_depth == 16
    assert resolve_rung(flac, source_rate=44100, source_channels=2, source_bit_depth=24).bit_depth == 24
    assert resolve_rung(flac, source_rate=44100, source_channels=2, source_bit_depth=None).bit_depth == 24
    assert resolve_rung(flac, source_rate=44100, source_channels=6, source_bit_depth=16).num_channels == 6


def test_bs775_downmix():
    five_one = np.zeros((6, 3), np.float32)
    five_one[:, 0] = [1, 0, 0, 0, 0, 0]  # L only
    five_one[:, 1] = [0, 0, 1, 0, 0, 0]  # C only
    five_one[:, 2] = [0, 0, 0, 1, 1, 0]  # LFE + Ls
    stereo = downmix(five_one, 2)
    np.testing.assert_allclose(stereo, [[1.0, 0.7071, 0.7071], [0.0, 0.7071, 0.0]], atol=1e-6)
    mono = downmix(five_one, 1)
    np.testing.assert_allclose(mono, stereo.mean(axis=0, keepdims=True), atol=1e-7)
    assert downmix(five_one, 6) is five_one
    with pytest.raises(ParameterError, match="no upmixing"):
        downmix(np.zeros((1, 4), np.float32), 2)


def test_gain_tags_follow_replaygain2_and_rfc7845():
    assert gain_tags(-14.0, -1.0, codec="mp3") == {"REPLAYGAIN_TRACK_GAIN": "-4.00 dB", "REPLAYGAIN_TRACK_PEAK": "0.891251"}
    assert gain_tags(-23.0, -1.0, codec="opus") == {"R128_TRACK_GAIN": "0"}
    assert gain_tags(-30.0, -10.0, codec="opus") == {"R128_TRACK_GAIN": str(7 * 256)}
    assert gain_tags(float("-inf"), float("-inf"), codec="flac") == {}


def test_tags_are_mapped_per_container():
    tags = canonical_tags({"TITLE": "Song", "musicbrainz track id": "abc", "isrc": "US1", "replaygain_track_gain": "1 dB",
                           "encoder": "x"})
    assert tags == {"title": "Song", "musicbrainz_trackid": "abc", "isrc": "US1"}
    assert rendition_tags(tags, "flac") == (tags, {})
    assert rendition_tags(tags, "mp3")[0] == {"title": "Song", "MusicBrainz Track Id": "abc", "isrc": "US1"}
    metadata, freeform = rendition_tags(tags, "aac")
    assert metadata == {"title": "Song"}
    assert freeform == {"MusicBrainz Track Id": "abc", "ISRC": "US1"}


def test_lame_scale_table():
    assert lame_scale(64_000) == 0.95 and lame_scale(192_000) == 0.97 and lame_scale(320_000) == 1.0
