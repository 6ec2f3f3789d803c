"""HLS and DASH packaging of AAC renditions as CMAF (fragmented MP4) segments.

Each AAC rendition (.m4a) is remuxed, without re-encoding, into a fragmented
MP4 whose fragments hold exactly :data:`~audiokit.transcode.presets.HLS_SEGMENT_AAC_FRAMES`
AAC frames (180 x 1024 samples: 3.84 s at 48 kHz), then split into an
initialization segment (``ftyp`` + ``moov``, with the edit list that hides
the encoder priming) and one ``moof`` + ``mdat`` media segment per fragment.
Every rung at one sample rate is therefore cut at the same sample positions,
and ``init.mp4`` followed by all segments decodes to exactly the source's
frames (the last AAC frame's duration in the sample table trims the padding).

HLS and DASH share the segments::

    master.m3u8                 EXT-X-STREAM-INF per rung: BANDWIDTH, AVERAGE-BANDWIDTH, CODECS
    manifest.mpd                one AdaptationSet, SegmentTemplate + SegmentTimeline per rung
    <rung>/index.m3u8           media playlist: EXT-X-MAP init.mp4, EXTINF per segment
    <rung>/init.mp4
    <rung>/seg-00001.m4s ...
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..errors import FormatError, ParameterError
from .presets import HLS_SEGMENT_AAC_FRAMES
from .rungs import ResolvedRung

__all__ = ["AAC_LC_CODECS", "Variant", "package", "write_dash", "write_hls"]

#: RFC 6381 codecs string of AAC-LC (MPEG-4 audio object type 2).
AAC_LC_CODECS = "mp4a.40.2"
#: Samples per AAC-LC frame.
AAC_FRAME_SAMPLES = 1024
#: HLS protocol version: EXT-X-MAP with fMP4 segments needs 7 (RFC 8216bis).
HLS_VERSION = 7
HLS_MASTER = "master.m3u8"
HLS_MEDIA = "index.m3u8"
DASH_MANIFEST = "manifest.mpd"
INIT_SEGMENT = "init.mp4"
SEGMENT_PATTERN = "seg-{:05d}.m4s"
_FRAGMENT_FLAGS = "delay_moov+default_base_moof"  # delay_moov: the moov gets the priming edit list


@dataclass(frozen=True)
class Variant:
    """One packaged rung: its segments and what the playlists say of it."""

    #: the rung's name, also its folder under the output directory
    name: str
    #: RFC 6381 codecs string
    codecs: str
    #: Hz; also the DASH timescale
    sample_rate: int
    #: channels
    num_channels: int
    #: peak segment bitrate (segment bytes x 8 / presentation duration), bits per second
    bandwidth_bps: int
    #: total segment bytes x 8 / total duration, bits per second
    average_bandwidth_bps: int
    #: initialization segment, relative to the output directory
    init_path: str
    #: media segments in order, relative to the output directory
    segment_paths: tuple[str, ...]
    #: AAC frames (packets) in each segment, priming frame included
    segment_aac_frames: tuple[int, ...]
    #: media-time duration of each segment (priming included in the first), samples
    segment_media_frames: tuple[int, ...]
    #: presentation frames of each segment (priming removed from the first)
    segment_frames: tuple[int, ...]
    #: encoder priming removed by the edit list, samples
    priming_frames: int

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in self.__dict__.items()}


def _top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8 or offset + size > len(data):
            raise FormatError(f"malformed fragmented MP4: box {kind!r} at byte {offset}")
        boxes.append((kind, offset, size))
        offset += size
    return boxes


def _fragment(source: Path, sample_rate: int) -> tuple[bytes, list[bytes], list[int], int]:
    """Remux ``source`` into fragments of :data:`HLS_SEGMENT_AAC_FRAMES` AAC frames.

    Returns the init segment, the media segments, each packet's duration in
    samples and the encoder priming (the first packet's negative pts).
    """
    import io

    import av

    # movenc starts a new fragment at the first packet whose dts is at least
    # frag_duration after the fragment's first; half a frame short of the
    # wanted length puts that cut exactly after HLS_SEGMENT_AAC_FRAMES packets.
    fragment_us = round((HLS_SEGMENT_AAC_FRAMES - 0.5) * AAC_FRAME_SAMPLES / sample_rate * 1e6)
    buffer = io.BytesIO()
    durations, first_pts = [], None
    with av.open(str(source)) as reader:
        stream = reader.streams.audio[0]
        with av.open(buffer, "w", format="mp4",
                     options={"movflags": _FRAGMENT_FLAGS, "frag_duration": str(fragment_us)}) as writer:
            out_stream = writer.add_stream_from_template(stream)
            for packet in reader.demux(stream):
                if not packet.size:
                    continue
                if first_pts is None:
                    first_pts = packet.pts
                durations.append(int(packet.duration))
                packet.stream = out_stream
                writer.mux(packet)
    data = buffer.getvalue()
    boxes = _top_level_boxes(data)
    init_end = next(offset for kind, offset, _ in boxes if kind == b"moof")
    segments = []
    for index, (kind, offset, size) in enumerate(boxes):
        if kind == b"moof":
            mdat_kind, mdat_offset, mdat_size = boxes[index + 1]
            if mdat_kind != b"mdat":
                raise FormatError(f"{source}: fragment at byte {offset} has no mdat")
            segments.append(data[offset:mdat_offset + mdat_size])
    expected = math.ceil(len(durations) / HLS_SEGMENT_AAC_FRAMES)
    if len(segments) != expected:
        raise FormatError(f"{source}: muxer cut {len(segments)} fragments; expected {expected} "
                          f"of {HLS_SEGMENT_AAC_FRAMES} AAC frames")
    priming = -first_pts if first_pts and first_pts < 0 else 0
    return data[:init_end], segments, durations, priming


def package(renditions: list[tuple[ResolvedRung, Path]], out_dir: Path) -> tuple[Variant, ...]:
    """Cut every AAC rendition into aligned CMAF segments under ``out_dir``.

    Parameters
    ----------
    renditions : list of (ResolvedRung, pathlib.Path)
        The ladder's renditions; the AAC ones are packaged.
    out_dir : pathlib.Path
        The (staging) output directory; ``<rung>/`` folders are created in it.

    Returns
    -------
    tuple of Variant
        Sorted by bandwidth, lowest first.

    Raises
    ------
    ParameterError
        If there is no AAC rung, or the AAC rungs differ in sample rate (their
        segments could not be aligned).
    """
    aac = [(resolved, path) for resolved, path in renditions if resolved.rung.codec == "aac"]
    if not aac:
        raise ParameterError("HLS/DASH packaging needs at least one AAC rung; this ladder has none")
    rates = sorted({resolved.sample_rate for resolved, _ in aac})
    if len(rates) > 1:
        raise ParameterError(f"HLS/DASH packaging needs every AAC rung at one sample rate; got {rates} Hz. "
                             "Set sample_rate on the rungs")
    variants = []
    for resolved, path in aac:
        init, segments, durations, priming = _fragment(path, resolved.sample_rate)
        folder = out_dir / resolved.rung.name
        folder.mkdir()
        (folder / INIT_SEGMENT).write_bytes(init)
        names, aac_frames, media_frames = [], [], []
        for index, segment in enumerate(segments):
            name = SEGMENT_PATTERN.format(index + 1)
            (folder / name).write_bytes(segment)
            names.append(f"{resolved.rung.name}/{name}")
            chunk = durations[index * HLS_SEGMENT_AAC_FRAMES:(index + 1) * HLS_SEGMENT_AAC_FRAMES]
            aac_frames.append(len(chunk))
            media_frames.append(sum(chunk))
        frames = [media_frames[0] - priming, *media_frames[1:]]
        rates_bps = [len(segment) * 8 * resolved.sample_rate / count for segment, count in zip(segments, frames)]
        total_bytes = sum(len(segment) for segment in segments)
        variants.append(Variant(
            name=resolved.rung.name,
            codecs=AAC_LC_CODECS,
            sample_rate=resolved.sample_rate,
            num_channels=resolved.num_channels,
            bandwidth_bps=math.ceil(max(rates_bps)),
            average_bandwidth_bps=math.ceil(total_bytes * 8 * resolved.sample_rate / sum(frames)),
            init_path=f"{resolved.rung.name}/{INIT_SEGMENT}",
            segment_paths=tuple(names),
            segment_aac_frames=tuple(aac_frames),
            segment_media_frames=tuple(media_frames),
            segment_frames=tuple(frames),
            priming_frames=priming,
        ))
    return tuple(sorted(variants, key=lambda variant: variant.bandwidth_bps))


def write_hls(variants: tuple[Variant, ...], out_dir: Path) -> str:
    """Write ``master.m3u8`` and one media playlist per variant; returns the master's relative path.

    EXTINF durations are exact (presentation frames / rate, 6 decimals);
    EXT-X-TARGETDURATION is the largest of them rounded to the nearest second
    (RFC 8216 section 4.3.3.1).
    """
    master = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        durations = [frames / variant.sample_rate for frames in variant.segment_frames]
        media = [
            "#EXTM3U",
            f"#EXT-X-VERSION:{HLS_VERSION}",
            f"#EXT-X-TARGETDURATION:{max(1, math.floor(max(durations) + 0.5))}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            f'#EXT-X-MAP:URI="{INIT_SEGMENT}"',
        ]
        for duration, path in zip(durations, variant.segment_paths):
            media += [f"#EXTINF:{duration:.6f},", Path(path).name]
        media.append("#EXT-X-ENDLIST")
        (out_dir / variant.name / HLS_MEDIA).write_text("\n".join(media) + "\n")
        master += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={variant.bandwidth_bps},AVERAGE-BANDWIDTH={variant.average_bandwidth_bps},"
            f'CODECS="{variant.codecs}"',
            f"{variant.name}/{HLS_MEDIA}",
        ]
    (out_dir / HLS_MASTER).write_text("\n".join(master) + "\n")
    return HLS_MASTER


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def write_dash(variants: tuple[Variant, ...], out_dir: Path) -> str:
    """Write a static ``manifest.mpd`` (one AdaptationSet); returns its relative path.

    Each Representation has a SegmentTemplate with the media timescale
    (the sample rate), ``presentationTimeOffset`` = the priming, and a
    SegmentTimeline of the segments' exact media durations.
    """
    duration_s = sum(variants[0].segment_frames) / variants[0].sample_rate
    max_segment_s = max(max(v.segment_frames) / v.sample_rate for v in variants)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" '
        f'type="static" mediaPresentationDuration="{_iso_duration(duration_s)}" '
        f'minBufferTime="{_iso_duration(max_segment_s)}">',
        '  <Period id="0" start="PT0S">',
        '    <AdaptationSet id="0" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" '
        'startWithSAP="1">',
    ]
    for variant in variants:
        timeline, start = [], 0
        for frames in variant.segment_media_frames:
            if timeline and timeline[-1][1] == frames:
                timeline[-1][2] += 1
            else:
                timeline.append([start, frames, 0])
            start += frames
        entries = "".join(f'<S t="{t}" d="{d}"' + (f' r="{r}"' if r else "") + "/>" for t, d, r in timeline)
        lines += [
            f"      <Representation id={quoteattr(variant.name)} codecs={quoteattr(variant.codecs)} "
            f'bandwidth="{variant.bandwidth_bps}" audioSamplingRate="{variant.sample_rate}">',
            '        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" '
            f'value="{variant.num_channels}"/>',
            f'        <SegmentTemplate timescale="{variant.sample_rate}" '
            f"presentationTimeOffset=\"{variant.priming_frames}\" "
            f"initialization={quoteattr(variant.init_path)} "
            f"media={quoteattr(variant.name + '/seg-$Number%05d$.m4s')} startNumber=\"1\">",
            f"          <SegmentTimeline>{entries}</SegmentTimeline>",
            "        </SegmentTemplate>",
            "      </Representation>",
        ]
    lines += ["    </AdaptationSet>", "  </Period>", "</MPD>"]
    (out_dir / DASH_MANIFEST).write_text("\n".join(lines) + "\n")
    return DASH_MANIFEST
