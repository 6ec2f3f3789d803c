"""HLS/DASH packaging: CMAF boxes parse, timelines equal the source's length, segments align across codecs."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from _ladder_signals import music

import audiokit
from audiokit.errors import ParameterError
from audiokit.io.resample import output_length
from audiokit.transcode import build_ladder
from audiokit.transcode.cmaf import read_header, read_segment
from audiokit.transcode.ladders import HLS_SEGMENT_AAC_FRAMES

MPD = "{urn:mpeg:dash:schema:mpd:2011}"
DURATION_S = 9.345678  # three segments, the last partial
#: What each codec's sample entry must be, with its RFC 6381 codecs string and priming.
SAMPLE_ENTRIES = {"aac": ("mp4a", "mp4a.40.2", 1024), "opus": ("Opus", "opus", 312), "flac": ("fLaC", "flac", 0)}
#: (ladder name or rungs, source rate): every packaged codec at 44.1, 48 and 96 kHz sources.
LADDERS = {
    "spotify-like-44100": ("spotify-like", 44100),
    "hls-aac-48000": ("hls-aac", 48000),
    "mixed-96000": ([{"name": "aac-128", "codec": "aac", "bitrate_bps": 128000},
                     {"name": "opus-96", "codec": "opus", "bitrate_bps": 96000},
                     {"name": "flac", "codec": "flac"}], 96000),
}


@pytest.fixture(scope="module", params=list(LADDERS))
def packaged(request, tmp_path_factory):
    """A ladder of a 9.35 s source with HLS and DASH: (out folder, result, source Audio)."""
    spec, rate = LADDERS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    audio = audiokit.Audio(music(rate, duration_s=DURATION_S), rate)
    kwargs = {"ladder": spec} if isinstance(spec, str) else {"rungs": spec}
    result = build_ladder(audio, root / "out", hls=True, dash=True, qa=False, **kwargs)
    return root / "out", result, audio


def _attributes(line: str) -> dict:
    return {key: value.strip('"') for key, value in re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def _concatenated(folder, init, segments, tmp_path, name):
    path = tmp_path / f"{name}.mp4"
    path.write_bytes((folder / init).read_bytes() + b"".join((folder / segment).read_bytes() for segment in segments))
    return audiokit.read(path)


def _expected_frames(audio, rate):
    return output_length(audio.num_frames, audio.sample_rate, rate)


def _ffmpeg_tail(codec, last_segment):
    """Samples ffmpeg decodes past the end: it ignores a shortened last Opus sample in a fragment (players trim it)."""
    return max(last_segment.durations) - last_segment.durations[-1] if codec == "opus" else 0


def _representations(path):
    root = ET.parse(path).getroot()
    assert root.get("type") == "static"
    out = []
    for adaptation in root.iter(f"{MPD}AdaptationSet"):
        for representation in adaptation.iter(f"{MPD}Representation"):
            out.append((adaptation, representation, representation.find(f"{MPD}SegmentTemplate")))
    return root, out


def _timeline(template):
    starts, durations = [], []
    for entry in template.iter(f"{MPD}S"):
        t = int(entry.get("t", starts[-1] + durations[-1] if starts else 0))
        for _ in range(1 + int(entry.get("r", 0))):
            starts.append(t)
            durations.append(int(entry.get("d")))
            t += int(entry.get("d"))
    return starts, durations


def test_dash_timeline_is_the_edit_listed_media_timeline_and_the_source_length(packaged, tmp_path):
    """presentationTimeOffset 0 with the edit list: each S@t is the tfdt minus the edit, and d sums to the source."""
    out, result, audio = packaged
    root, representations = _representations(out / "manifest.mpd")
    assert {r.get("id") for _, r, _ in representations} == {v.name for v in result.variants}
    for _adaptation, representation, template in representations:
        rate = int(template.get("timescale"))
        assert int(representation.get("audioSamplingRate")) == rate
        assert int(template.get("presentationTimeOffset")) == 0
        header = read_header((out / template.get("initialization")).read_bytes())
        assert header.timescale == rate
        assert header.codecs == representation.get("codecs")
        assert "cmfc" in header.brands
        starts, durations = _timeline(template)
        number = int(template.get("startNumber"))
        names = [template.get("media").replace("$Number%05d$", f"{number + i:05d}") for i in range(len(starts))]
        media_time = 0
        for index, (name, start, duration) in enumerate(zip(names, starts, durations)):
            segment = read_segment((out / name).read_bytes())
            assert segment.brands[0] == "cmfs" and "cmff" in segment.brands
            assert (segment.traf_count, segment.trun_count) == (1, 1)  # cmfc: one traf, one trun
            assert segment.sequence_number == index + 1
            assert segment.base_media_decode_time == media_time
            # The browser presents media time m at m - edit: that is where the MPD must say the segment is.
            assert start == max(0, media_time - header.edit_media_time)
            media_time += sum(segment.durations)
            assert start + duration == media_time - header.edit_media_time
        expected = _expected_frames(audio, rate)
        assert sum(durations) == expected
        assert media_time - header.edit_media_time == expected
        decoded = _concatenated(out, template.get("initialization"), names, tmp_path, representation.get("id"))
        assert decoded.num_frames == expected + _ffmpeg_tail(header.codecs, segment)
    duration = re.fullmatch(r"PT([0-9.]+)S", root.get("mediaPresentationDuration")).group(1)
    assert float(duration) == pytest.approx(DURATION_S, abs=1 / 44100)


def test_headers_carry_the_codec_boxes_and_the_priming_edit(packaged):
    out, result, _ = packaged
    for variant in result.variants:
        header = read_header((out / variant.init_path).read_bytes())
        entry, codecs, priming = SAMPLE_ENTRIES[variant.codec]
        assert (header.sample_entry, header.codecs, variant.codecs) == (entry, codecs, codecs)
        assert header.edit_media_time == variant.priming_frames == priming
        assert header.num_channels == variant.num_channels
        assert header.brands[0] == "cmfc"
        if variant.codec == "opus":
            # Opus in ISOBMFF 4.3.2: dOps PreSkip is the pre-skip the edit list skips.
            assert header.opus_pre_skip == priming
            assert variant.sample_rate == 48000


def test_segments_decode_to_the_rendition(packaged, tmp_path):
    """init + segments decode to exactly the samples of the rung's own file."""
    out, result, audio = packaged
    for variant in result.variants:
        decoded = _concatenated(out, variant.init_path, variant.segment_paths, tmp_path, variant.name)
        rendition = next(r for r in result.renditions if r.name == variant.name)
        whole = audiokit.read(out / rendition.path)
        last = read_segment((out / variant.segment_paths[-1]).read_bytes())
        assert whole.num_frames == _expected_frames(audio, variant.sample_rate)
        assert decoded.num_frames == whole.num_frames + _ffmpeg_tail(variant.codec, last)
        np.testing.assert_array_equal(decoded.samples[:, :whole.num_frames], whole.samples)


def test_hls_playlists_round_trip(packaged):
    out, result, audio = packaged
    codecs = {variant.codec for variant in result.variants}
    masters = {"master.m3u8": codecs}
    if len(codecs) > 1:
        masters.update({f"master-{codec}.m3u8": {codec} for codec in codecs})
    else:
        assert not list(out.glob("master-*.m3u8"))
    for master, listed in masters.items():
        lines = (out / master).read_text().splitlines()
        assert lines[0] == "#EXTM3U"
        entries = [(_attributes(line), lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF")]
        variants = [next(v for v in result.variants if f"{v.name}/index.m3u8" == uri) for _, uri in entries]
        assert {v.codec for v in variants} == listed
        assert len(variants) == sum(v.codec in listed for v in result.variants)
        for (attributes, uri), variant in zip(entries, variants):
            header = read_header((out / variant.init_path).read_bytes())
            assert attributes["CODECS"] == header.codecs
            assert 0 < int(attributes["AVERAGE-BANDWIDTH"]) <= int(attributes["BANDWIDTH"])
            media = (out / uri).read_text().splitlines()
            assert "#EXT-X-ENDLIST" in media
            assert re.search(r'#EXT-X-MAP:URI="init.mp4"', "\n".join(media))
            durations = [float(line[8:].rstrip(",")) for line in media if line.startswith("#EXTINF:")]
            segments = [line for line in media if line and not line.startswith("#")]
            assert len(segments) == len(durations) == len(variant.segment_paths)
            target = int(next(line for line in media if line.startswith("#EXT-X-TARGETDURATION")).split(":")[1])
            # RFC 8216 4.3.3.1 rounds EXTINF to the nearest integer; we keep the unrounded value under it.
            assert max(durations) <= target == math.ceil(max(durations))
            expected = _expected_frames(audio, variant.sample_rate)
            assert sum(durations) == pytest.approx(expected / variant.sample_rate, abs=len(durations) * 5e-7)


def test_aac_segments_hold_180_frames_and_other_codecs_cut_nearest(packaged):
    """AAC rungs are cut at the same samples; Opus and FLAC within half a packet of each AAC cut."""
    _, result, _ = packaged
    aac = [v for v in result.variants if v.codec == "aac"]
    for variant in aac:
        assert variant.segment_packets[:-1] == (HLS_SEGMENT_AAC_FRAMES,) * (len(variant.segment_packets) - 1)
        assert variant.segment_media_frames[0] == HLS_SEGMENT_AAC_FRAMES * 1024
    assert len({v.segment_media_frames for v in aac}) <= 1
    if not aac:
        return
    anchor = aac[0]
    anchor_cuts = np.cumsum(anchor.segment_frames)[:-1] / anchor.sample_rate
    for variant in result.variants:
        cuts = np.cumsum(variant.segment_frames)[:-1] / variant.sample_rate
        assert len(cuts) == len(anchor_cuts)
        packet_s = max(variant.segment_media_frames[1:] or variant.segment_media_frames) / max(
            variant.segment_packets[1:] or variant.segment_packets) / variant.sample_rate
        assert np.abs(cuts - anchor_cuts).max() <= packet_s / 2 + 1e-9


def test_packaging_needs_packageable_rungs_at_one_rate_per_codec(tmp_path):
    audio = audiokit.Audio(music(48000, duration_s=1.0), 48000)
    with pytest.raises(ParameterError, match="at least one AAC, Opus or FLAC rung"):
        build_ladder(audio, tmp_path / "a", rungs=[{"name": "m", "codec": "mp3", "bitrate_bps": 64000}], hls=True)
    rungs = [{"name": "a", "codec": "aac", "bitrate_bps": 64000, "sample_rate": 44100},
             {"name": "b", "codec": "aac", "bitrate_bps": 96000, "sample_rate": 48000}]
    with pytest.raises(ParameterError, match="every aac rung at one sample rate"):
        build_ladder(audio, tmp_path / "b", rungs=rungs, dash=True)
    assert list(tmp_path.iterdir()) == []
