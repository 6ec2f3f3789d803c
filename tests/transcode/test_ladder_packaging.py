"""HLS/DASH packaging: playlists parse, segments are aligned and concatenate back exactly."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from _ladder_signals import music

import audiokit
from audiokit.errors import ParameterError
from audiokit.io.resample import output_length
from audiokit.transcode import build_ladder
from audiokit.transcode.presets import HLS_SEGMENT_AAC_FRAMES

MPD = "{urn:mpeg:dash:schema:mpd:2011}"
SEGMENT_FRAMES = HLS_SEGMENT_AAC_FRAMES * 1024


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """An hls-aac ladder of 9.3 s at 44.1 kHz (three segments, the last partial), with HLS and DASH."""
    root = tmp_path_factory.mktemp("packaged")
    audio = audiokit.Audio(music(44100, duration_s=9.345678), 44100)
    result = build_ladder(audio, root / "out", preset="hls-aac", hls=True, dash=True)
    return root / "out", result, audio


def _attributes(line: str) -> dict:
    return {key: value.strip('"') for key, value in re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def _concatenated(out, init, segments, tmp_path, name):
    path = tmp_path / f"{name}.mp4"
    path.write_bytes((out / init).read_bytes() + b"".join((out / segment).read_bytes() for segment in segments))
    return audiokit.read(path)


def test_hls_master_and_media_playlists_round_trip(packaged, tmp_path):
    out, result, audio = packaged
    expected_frames = output_length(audio.num_frames, 44100, 48000)
    lines = (out / "master.m3u8").read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    variants = [(_attributes(line), lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF")]
    assert len(variants) == 3
    bandwidths = [int(attributes["BANDWIDTH"]) for attributes, _ in variants]
    assert bandwidths == sorted(bandwidths)
    for attributes, uri in variants:
        assert attributes["CODECS"] == "mp4a.40.2"
        assert 0 < int(attributes["AVERAGE-BANDWIDTH"]) <= int(attributes["BANDWIDTH"])
        media = (out / uri).read_text().splitlines()
        folder = (out / uri).parent
        assert "#EXT-X-ENDLIST" in media
        init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', "\n".join(media)).group(1)
        durations = [float(line[8:].rstrip(",")) for line in media if line.startswith("#EXTINF:")]
        segments = [line for line in media if line and not line.startswith("#")]
        assert len(segments) == len(durations) == 3
        target = int(next(line for line in media if line.startswith("#EXT-X-TARGETDURATION")).split(":")[1])
        assert all(round(d) <= target for d in durations)
        decoded = _concatenated(folder, init, segments, tmp_path, folder.name)
        assert decoded.num_frames == expected_frames
        assert sum(durations) == pytest.approx(expected_frames / 48000, abs=1e-5)
        whole = audiokit.read(out / f"{folder.name}.m4a")
        assert (decoded.samples == whole.samples).all()


def test_segments_hold_180_aac_frames_cut_at_the_same_samples(packaged):
    _, result, _ = packaged
    cuts = {variant.segment_media_frames for variant in result.variants}
    assert len(cuts) == 1
    for variant in result.variants:
        assert variant.segment_aac_frames[:-1] == (HLS_SEGMENT_AAC_FRAMES,) * (len(variant.segment_aac_frames) - 1)
        assert variant.segment_media_frames[0] == SEGMENT_FRAMES
        assert variant.priming_frames == 1024


def test_dash_manifest_round_trips(packaged, tmp_path):
    out, result, audio = packaged
    root = ET.parse(out / "manifest.mpd").getroot()
    assert root.get("type") == "static"
    (adaptation,) = root.iter(f"{MPD}AdaptationSet")
    assert adaptation.get("segmentAlignment") == "true"
    representations = list(adaptation.iter(f"{MPD}Representation"))
    assert len(representations) == 3
    for representation in representations:
        template = representation.find(f"{MPD}SegmentTemplate")
        timescale = int(template.get("timescale"))
        offset = int(template.get("presentationTimeOffset"))
        times = []
        for entry in template.iter(f"{MPD}S"):
            times += [int(entry.get("d"))] * (1 + int(entry.get("r", 0)))
        number = int(template.get("startNumber"))
        segments = [re.sub(r"\$Number%05d\$", f"{number + i:05d}", template.get("media")) for i in range(len(times))]
        decoded = _concatenated(out, template.get("initialization"), segments, tmp_path, representation.get("id"))
        assert decoded.num_frames == sum(times) - offset
        assert decoded.num_frames == result.renditions[0].num_frames
        assert timescale == decoded.sample_rate == 48000


def test_packaging_needs_aac_rungs_at_one_rate(tmp_path):
    audio = audiokit.Audio(music(48000, duration_s=1.0), 48000)
    with pytest.raises(ParameterError, match="at least one AAC rung"):
        build_ladder(audio, tmp_path / "a", rungs=[{"name": "o", "codec": "opus", "bitrate_bps": 64000}], hls=True)
    rungs = [{"name": "a", "codec": "aac", "bitrate_bps": 64000, "sample_rate": 44100},
             {"name": "b", "codec": "aac", "bitrate_bps": 96000, "sample_rate": 48000}]
    with pytest.raises(ParameterError, match="one sample rate"):
        build_ladder(audio, tmp_path / "b", rungs=rungs, dash=True)
    assert list(tmp_path.iterdir()) == []
