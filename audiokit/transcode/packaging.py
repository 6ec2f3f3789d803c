"""HLS and DASH packaging of AAC, Opus and FLAC renditions as CMAF segments.

Each packaged rendition (AAC ``.m4a``, Opus ``.opus``, FLAC ``.flac``) is
remuxed without re-encoding: ffmpeg's mp4 muxer writes the CMAF header
(``init.mp4``: ``ftyp`` with the ``cmfc`` brand + ``moov`` with the ``esds``,
``dOps`` or ``dfLa`` sample entry and the edit list that skips the encoder
priming), and :mod:`.cmaf` writes one ``styp`` + ``moof`` + ``mdat`` segment
per cut. AAC segments hold exactly :data:`~audiokit.transcode.ladders.HLS_SEGMENT_AAC_FRAMES`
AAC frames (180 x 1024 samples: 3.84 s at 48 kHz, 4.18 s at 44.1 kHz), so every
AAC rung is cut at the same samples; Opus and FLAC rungs are cut at the
packet boundary nearest to each AAC cut in presentation time (within half a
packet: 10 ms for Opus, 52 ms for 4608-sample FLAC frames), or every 3.84 s
when the ladder has no AAC rung. ``init.mp4`` followed by all segments
decodes to exactly the source's frames (the last packet's duration trims
the padding).

Timing: players apply the edit list (Chromium's MSE does), so the media
time ``t`` of a sample is presented at ``t - priming``. The DASH
SegmentTimeline is therefore written in presentation time (the first segment
is ``priming`` shorter) with ``presentationTimeOffset="0"``; an offset equal
to the priming on top of the edit list would remove it twice (ISO/IEC
23009-1 section 7.2.1: the presentation time is the composition time after
the edit list). HLS EXTINF durations are the same presentation durations.

Layout (``<codec>`` playlists only when the ladder packages several codecs)::

    master.m3u8                 EXT-X-STREAM-INF per rung: BANDWIDTH, AVERAGE-BANDWIDTH, CODECS
    master-<codec>.m3u8         the same, one codec (aac, opus, flac)
    manifest.mpd                one AdaptationSet per codec, SegmentTemplate + SegmentTimeline per rung
    manifest-<codec>.mpd        the same, one codec
    <rung>/index.m3u8           media playlist: EXT-X-MAP init.mp4, EXTINF per segment
    <rung>/init.mp4
    <rung>/seg-00001.m4s ...
"""

from __future__ import annotations

import bisect
import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..errors import FormatError, ParameterError
from .cmaf import cmaf_header, iter_boxes, media_segment, read_header
from .ladders import HLS_SEGMENT_AAC_FRAMES
from .rungs import ResolvedRung

__all__ = ["AAC_LC_CODECS", "PACKAGED_CODECS", "Variant", "codec_manifest_names", "package", "write_dash",
           "write_hls"]

#: RFC 6381 codecs string of AAC-LC (MPEG-4 audio object type 2).
AAC_LC_CODECS = "mp4a.40.2"
#: Codecs packaged for HLS/DASH, in manifest order (most widely supported first).
PACKAGED_CODECS = ("aac", "opus", "flac")
#: Samples per AAC-LC frame.
AAC_FRAME_SAMPLES = 1024
#: Segment length without an AAC rung to follow: 180 AAC frames at 48 kHz, seconds.
DEFAULT_SEGMENT_S = HLS_SEGMENT_AAC_FRAMES * AAC_FRAME_SAMPLES / 48000
#: HLS protocol version: EXT-X-MAP with fMP4 segments needs 7 (RFC 8216bis).
HLS_VERSION = 7
HLS_MASTER = "master.m3u8"
HLS_MEDIA = "index.m3u8"
DASH_MANIFEST = "manifest.mpd"
INIT_SEGMENT = "init.mp4"
SEGMENT_PATTERN = "seg-{:05d}.m4s"
#: delay_moov: the moov is written after the first packet, so it gets the priming edit list.
_FRAGMENT_FLAGS = "delay_moov+default_base_moof+frag_every_frame"


@dataclass(frozen=True)
class Variant:
    """One packaged rung: its segments and what the playlists say of it."""

    #: the rung's name, also its folder under the output directory
    name: str
    #: "aac", "opus" or "flac"
    codec: str
    #: RFC 6381 codecs string, read from the sample entry ("mp4a.40.2", "opus", "flac")
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
    #: codec packets (AAC/Opus/FLAC frames) in each segment, priming packets included
    segment_packets: tuple[int, ...]
    #: media-time duration of each segment (priming included in the first), samples
    segment_media_frames: tuple[int, ...]
    #: presentation frames of each segment (priming removed from the first)
    segment_frames: tuple[int, ...]
    #: encoder priming skipped by the edit list, samples (AAC 1024, Opus pre-skip 312, FLAC 0)
    priming_frames: int

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class _Track:
    """One rendition's packets and CMAF header."""

    resolved: ResolvedRung
    header: bytes
    track_id: int
    codecs: str
    durations: tuple[int, ...]
    payloads: tuple[bytes, ...]
    priming: int

    def presentation_end(self, packets: int) -> int:
        """Presentation time (samples) at which the first ``packets`` packets end."""
        return sum(self.durations[:packets]) - self.priming


def _demux(source: Path, resolved: ResolvedRung) -> _Track:
    """The packets of ``source`` and the CMAF header ffmpeg's mp4 muxer writes for them."""
    import av

    buffer = io.BytesIO()
    durations, payloads, first_pts = [], [], None
    with av.open(str(source)) as reader:
        stream = reader.streams.audio[0]
        with av.open(buffer, "w", format="mp4", options={"movflags": _FRAGMENT_FLAGS}) as writer:
            out_stream = writer.add_stream_from_template(stream)
            for packet in reader.demux(stream):
                if not packet.size:
                    continue
                if first_pts is None:
                    first_pts = packet.pts
                if not packet.duration:
                    raise FormatError(f"{source}: packet at pts {packet.pts} has no duration; cannot time its segment")
                durations.append(int(packet.duration))
                payloads.append(bytes(packet))
                packet.stream = out_stream
                writer.mux(packet)
    data = buffer.getvalue()
    if not payloads:
        raise FormatError(f"{source}: no audio packets to package")
    init_end = next((offset for kind, offset, _, _ in iter_boxes(data) if kind == b"moof"), None)
    if init_end is None:
        raise FormatError(f"{source}: the mp4 muxer wrote no fragment")
    header = cmaf_header(data[:init_end])
    parsed = read_header(header)
    priming = -first_pts if first_pts and first_pts < 0 else 0
    if parsed.edit_media_time != priming or parsed.timescale != resolved.sample_rate:
        raise FormatError(f"{source}: the muxer's edit list skips {parsed.edit_media_time} samples at "
                          f"{parsed.timescale} Hz; expected the priming {priming} at {resolved.sample_rate} Hz")
    return _Track(resolved=resolved, header=header, track_id=parsed.track_id, codecs=parsed.codecs,
                  durations=tuple(durations), payloads=tuple(payloads), priming=priming)


def _cut_targets(tracks: list[_Track]) -> list[float]:
    """Segment boundaries in presentation seconds: every 180th AAC frame, else every 3.84 s."""
    aac = [track for track in tracks if track.resolved.rung.codec == "aac"]
    if aac:
        anchor = aac[0]
        return [anchor.presentation_end(count) / anchor.resolved.sample_rate
                for count in range(HLS_SEGMENT_AAC_FRAMES, len(anchor.durations), HLS_SEGMENT_AAC_FRAMES)]
    duration_s = max(track.presentation_end(len(track.durations)) / track.resolved.sample_rate for track in tracks)
    return [k * DEFAULT_SEGMENT_S for k in range(1, math.ceil(duration_s / DEFAULT_SEGMENT_S))]


def _segment_starts(track: _Track, targets: list[float]) -> list[int]:
    """First packet of each segment: the cut nearest each target (ties: the earlier)."""
    ends = list(itertools.accumulate(track.durations, initial=-track.priming))  # ends[i]: end of the first i packets
    starts = [0]
    for target in targets:
        x = target * track.resolved.sample_rate
        i = bisect.bisect_left(ends, x)
        candidates = [j for j in (i - 1, i) if starts[-1] < j < len(track.durations)]
        if candidates:
            starts.append(min(candidates, key=lambda j: (abs(ends[j] - x), j)))
    return starts


def package(renditions: list[tuple[ResolvedRung, Path]], out_dir: Path) -> tuple[Variant, ...]:
    """Cut every AAC, Opus and FLAC rendition into aligned CMAF segments under ``out_dir``.

    Parameters
    ----------
    renditions : list of (ResolvedRung, pathlib.Path)
        The ladder's renditions; those whose codec is in :data:`PACKAGED_CODECS` are packaged.
    out_dir : pathlib.Path
        The (staging) output directory; ``<rung>/`` folders are created in it.

    Returns
    -------
    tuple of Variant
        In :data:`PACKAGED_CODECS` order, lowest bandwidth first within a codec.

    Raises
    ------
    ParameterError
        If no rung is AAC, Opus or FLAC, or the rungs of one codec differ in
        sample rate (their segments could not be cut at the same samples).
    """
    chosen = [(resolved, path) for resolved, path in renditions if resolved.rung.codec in PACKAGED_CODECS]
    if not chosen:
        raise ParameterError("HLS/DASH packaging needs at least one AAC, Opus or FLAC rung; this ladder has "
                             f"{sorted({resolved.rung.codec for resolved, _ in renditions})}")
    for codec in PACKAGED_CODECS:
        rates = sorted({resolved.sample_rate for resolved, _ in chosen if resolved.rung.codec == codec})
        if len(rates) > 1:
            raise ParameterError(f"HLS/DASH packaging needs every {codec} rung at one sample rate; got {rates} Hz. "
                                 "Set sample_rate on the rungs")
    tracks = [_demux(path, resolved) for resolved, path in chosen]
    targets = _cut_targets(tracks)
    variants = []
    for track in tracks:
        name = track.resolved.rung.name
        rate = track.resolved.sample_rate
        folder = out_dir / name
        folder.mkdir()
        (folder / INIT_SEGMENT).write_bytes(track.header)
        starts = _segment_starts(track, targets)
        bounds = list(zip(starts, [*starts[1:], len(track.durations)]))
        paths, packets, media_frames, sizes = [], [], [], []
        decode_time = 0
        for number, (first, last) in enumerate(bounds, start=1):
            durations = list(track.durations[first:last])
            segment = media_segment(sequence_number=number, track_id=track.track_id,
                                    base_media_decode_time=decode_time, durations=durations,
                                    payloads=list(track.payloads[first:last]))
            file_name = SEGMENT_PATTERN.format(number)
            (folder / file_name).write_bytes(segment)
            paths.append(f"{name}/{file_name}")
            packets.append(last - first)
            media_frames.append(sum(durations))
            sizes.append(len(segment))
            decode_time += sum(durations)
        frames = [media_frames[0] - track.priming, *media_frames[1:]]
        if min(frames) <= 0:
            raise FormatError(f"{name}: a segment would present no samples (priming {track.priming}, "
                              f"segments {media_frames}); the rendition is too short to package")
        peaks = [size * 8 * rate / count for size, count in zip(sizes, frames)]
        variants.append(Variant(
            name=name,
            codec=track.resolved.rung.codec,
            codecs=track.codecs,
            sample_rate=rate,
            num_channels=track.resolved.num_channels,
            bandwidth_bps=math.ceil(max(peaks)),
            average_bandwidth_bps=math.ceil(sum(sizes) * 8 * rate / sum(frames)),
            init_path=f"{name}/{INIT_SEGMENT}",
            segment_paths=tuple(paths),
            segment_packets=tuple(packets),
            segment_media_frames=tuple(media_frames),
            segment_frames=tuple(frames),
            priming_frames=track.priming,
        ))
    return tuple(sorted(variants, key=lambda v: (PACKAGED_CODECS.index(v.codec), v.bandwidth_bps)))


def codec_manifest_names(variants: tuple[Variant, ...]) -> dict[str, tuple[str, str]]:
    """Per-codec ``(HLS master, DASH manifest)`` names; empty when the variants share one codec."""
    codecs = [codec for codec in PACKAGED_CODECS if any(v.codec == codec for v in variants)]
    if len(codecs) < 2:
        return {}
    return {codec: (f"master-{codec}.m3u8", f"manifest-{codec}.mpd") for codec in codecs}


def _target_duration(durations: list[float]) -> int:
    """EXT-X-TARGETDURATION: the longest EXTINF rounded up to whole seconds.

    RFC 8216 section 4.3.3.1 only asks for the EXTINF rounded to the nearest
    integer to stay under it; rounding up keeps a margin (4.1796 s -> 5, not 4).
    """
    return max(1, math.ceil(max(durations) - 1e-9))


def _master_playlist(variants: Sequence[Variant]) -> str:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        lines += [
            (f"#EXT-X-STREAM-INF:BANDWIDTH={variant.bandwidth_bps},AVERAGE-BANDWIDTH={variant.average_bandwidth_bps},"
            f'CODECS="{variant.codecs}"'),
            f"{variant.name}/{HLS_MEDIA}",
        ]
    return "\n".join(lines) + "\n"


def write_hls(variants: tuple[Variant, ...], out_dir: Path) -> str:
    """Write ``master.m3u8``, per-codec masters and one media playlist per variant; returns the master's path.

    EXTINF durations are exact (presentation frames / rate, 6 decimals);
    EXT-X-TARGETDURATION is the largest rounded up (:func:`_target_duration`).
    """
    for variant in variants:
        durations = [frames / variant.sample_rate for frames in variant.segment_frames]
        media = [
            "#EXTM3U",
            f"#EXT-X-VERSION:{HLS_VERSION}",
            f"#EXT-X-TARGETDURATION:{_target_duration(durations)}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            f'#EXT-X-MAP:URI="{INIT_SEGMENT}"',
        ]
        for duration, path in zip(durations, variant.segment_paths):
            media += [f"#EXTINF:{duration:.6f},", Path(path).name]
        media.append("#EXT-X-ENDLIST")
        (out_dir / variant.name / HLS_MEDIA).write_text("\n".join(media) + "\n")
    (out_dir / HLS_MASTER).write_text(_master_playlist(variants))
    for codec, (master, _) in codec_manifest_names(variants).items():
        (out_dir / master).write_text(_master_playlist([v for v in variants if v.codec == codec]))
    return HLS_MASTER


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.6f}S"


def _mpd(variants: Sequence[Variant]) -> str:
    duration_s = max(sum(v.segment_frames) / v.sample_rate for v in variants)
    max_segment_s = max(max(v.segment_frames) / v.sample_rate for v in variants)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        ('<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
        'profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" '
        f'type="static" mediaPresentationDuration="{_iso_duration(duration_s)}" '
        f'minBufferTime="{_iso_duration(max_segment_s)}">'),
        '  <Period id="0" start="PT0S">',
    ]
    codecs = [codec for codec in PACKAGED_CODECS if any(v.codec == codec for v in variants)]
    for set_id, codec in enumerate(codecs):
        lines.append(f'    <AdaptationSet id="{set_id}" contentType="audio" mimeType="audio/mp4" '
                     'segmentAlignment="true" startWithSAP="1">')
        for variant in (v for v in variants if v.codec == codec):
            timeline: list[list[int]] = []
            start = 0
            for frames in variant.segment_frames:
                if timeline and timeline[-1][1] == frames:
                    timeline[-1][2] += 1
                else:
                    timeline.append([start, frames, 0])
                start += frames
            entries = "".join(f'<S t="{t}" d="{d}"' + (f' r="{r}"' if r else "") + "/>" for t, d, r in timeline)
            lines += [
                (f"      <Representation id={quoteattr(variant.name)} codecs={quoteattr(variant.codecs)} "
                f'bandwidth="{variant.bandwidth_bps}" audioSamplingRate="{variant.sample_rate}">'),
                ('        <AudioChannelConfiguration '
                'schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" '
                f'value="{variant.num_channels}"/>'),
                (f'        <SegmentTemplate timescale="{variant.sample_rate}" presentationTimeOffset="0" '
                f"initialization={quoteattr(variant.init_path)} "
                f"media={quoteattr(variant.name + '/seg-$Number%05d$.m4s')} startNumber=\"1\">"),
                f"          <SegmentTimeline>{entries}</SegmentTimeline>",
                "        </SegmentTemplate>",
                "      </Representation>",
            ]
        lines.append("    </AdaptationSet>")
    lines += ["  </Period>", "</MPD>"]
    return "\n".join(lines) + "\n"


def write_dash(variants: tuple[Variant, ...], out_dir: Path) -> str:
    """Write a static ``manifest.mpd`` (one AdaptationSet per codec) and per-codec MPDs; returns its path.

    Each Representation has a SegmentTemplate with the media timescale (the
    sample rate), ``presentationTimeOffset="0"`` and a SegmentTimeline of
    the segments' presentation durations: the header's edit list already
    skips the priming, so the timeline starts at the first real sample and
    sums to the source's exact length.
    """
    (out_dir / DASH_MANIFEST).write_text(_mpd(variants))
    for codec, (_, manifest) in codec_manifest_names(variants).items():
        (out_dir / manifest).write_text(_mpd([v for v in variants if v.codec == codec]))
    return DASH_MANIFEST
