"""What a media file holds, without decoding it: :func:`probe` and :class:`MediaInfo`."""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import FormatError
from ._containers import (
    SOUNDFILE_BIT_DEPTH,
    check_readable,
    ffmpeg_reason,
    open_container,
    open_soundfile,
)

__all__ = ["MediaInfo", "probe"]

# soundfile major format -> the container name ffmpeg would report.
_SOUNDFILE_CONTAINER = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "W64": "w64", "FLAC": "flac",
                        "AIFF": "aiff", "CAF": "caf", "AU": "au"}
# soundfile (format, subtype) -> codec name as ffmpeg spells it.
_SOUNDFILE_CODEC = {"PCM_U8": "pcm_u8", "PCM_S8": "pcm_s8", "PCM_16": "pcm_s16", "PCM_24": "pcm_s24",
                    "PCM_32": "pcm_s32", "FLOAT": "pcm_f32", "DOUBLE": "pcm_f64"}
_SOUNDFILE_TAGS = ("title", "artist", "album", "date", "genre", "tracknumber", "comment",
                   "copyright", "software", "license")
# ffmpeg's layout names for the channel counts libsndfile does not label.
_DEFAULT_LAYOUT = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_SKIP_SAMPLES = "skip_samples"
# Keys ffmpeg's demuxers report that describe the container, not the content.
_TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "handler_name", "vendor_id", "language"}
# Demuxers whose packet durations and skip-samples side data were checked to
# give the decoded length exactly (tests/io). Others are counted by decoding.
_EXACT_FROM_PACKETS = ("mp3", "ogg", "mov,mp4,m4a,3gp,3g2,mj2")
_MP3_FRAME_SAMPLES = 1152  # MPEG-1 Layer III samples per frame
# Decoder names that differ from the codec's name.
_CODEC_NAMES = {"mp3float": "mp3", "mp2float": "mp2", "mp1float": "mp1"}


@dataclass(frozen=True)
class MediaInfo:
    """Facts about an audio file, as :func:`probe` reads them."""

    #: the file probed
    path: str
    #: container (demuxer) name, e.g. "flac", "mp3", "ogg", "mov,mp4,m4a,3gp,3g2,mj2"
    container: str
    #: codec of the first audio stream, e.g. "flac", "mp3", "opus", "aac", "pcm_s16le"
    codec: str
    #: samples per second per channel, Hz
    sample_rate: int
    #: number of channels
    num_channels: int
    #: ffmpeg channel layout name, e.g. "mono", "stereo", "5.1(side)"
    channel_layout: str
    #: exact number of frames after removing encoder priming and padding
    num_frames: int
    #: num_frames / sample_rate, seconds
    duration_s: float
    #: bits per sample of lossless/PCM audio (16, 24, 32); None for lossy codecs
    bit_depth: int | None
    #: average bitrate of the audio stream, bits per second (None if unknown)
    bitrate_bps: int | None
    #: container and stream tags, keys lower-cased
    tags: dict = field(default_factory=dict)
    #: whether the file carries an embedded picture (cover art)
    has_cover_art: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def probe(path) -> MediaInfo:
    """Read a file's format, stream parameters, exact length and tags.

    The frame count is exact: WAV/FLAC/AIFF headers give it directly; for
    compressed formats the packets are demuxed (not decoded) and the
    encoder's priming and padding, signalled by the container (LAME header,
    Opus pre-skip, MP4 edit list), are subtracted.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    MediaInfo

    Raises
    ------
    FormatError
        If the file is missing, empty, a directory, not media, has no audio
        stream, or is truncated or corrupt.

    Examples
    --------
    >>> info = probe("examples/example.flac")  # doctest: +SKIP
    >>> info.codec, info.sample_rate, info.num_channels  # doctest: +SKIP
    ('flac', 44100, 2)
    """
    path = check_readable(path)
    handle = open_soundfile(path)
    if handle is not None:
        with handle:
            return _probe_soundfile(path, handle)
    return _probe_pyav(path)


def _probe_soundfile(path: Path, handle) -> MediaInfo:
    tags, has_cover_art = _container_tags(path)
    if tags is None:  # ffmpeg could not open it; libsndfile's fixed set of tags then
        tags = {key: value for key in _SOUNDFILE_TAGS if (value := getattr(handle, key))}
    codec = "flac" if handle.format == "FLAC" else _SOUNDFILE_CODEC.get(handle.subtype, handle.subtype.lower())
    if codec.startswith("pcm_") and codec not in ("pcm_u8", "pcm_s8"):
        codec += "be" if handle.format == "AIFF" else "le"
    bitrate = None
    if handle.frames:
        bitrate = round(path.stat().st_size * 8 * handle.samplerate / handle.frames)
    return MediaInfo(
        path=str(path),
        container=_SOUNDFILE_CONTAINER.get(handle.format, handle.format.lower()),
        codec=codec,
        sample_rate=handle.samplerate,
        num_channels=handle.channels,
        channel_layout=_DEFAULT_LAYOUT.get(handle.channels, f"{handle.channels} channels"),
        num_frames=handle.frames,
        duration_s=handle.frames / handle.samplerate,
        bit_depth=SOUNDFILE_BIT_DEPTH.get(handle.subtype),
        bitrate_bps=bitrate,
        tags=tags,
        has_cover_art=has_cover_art,
    )


def _container_tags(path: Path) -> tuple[dict | None, bool]:
    """Every tag ffmpeg reads (libsndfile knows only ten Vorbis comment keys), and cover art.

    Returns ``(None, False)`` when ffmpeg cannot open the file.
    """
    import av

    try:
        with av.open(str(path), metadata_errors="replace") as container:
            tags = _tags_of(container, container.streams.audio[0] if container.streams.audio else None)
            return tags, any(_is_attached_picture(s) for s in container.streams.video)
    except av.FFmpegError:
        return None, False


def _tags_of(container, stream) -> dict:
    items = [*container.metadata.items(), *(stream.metadata.items() if stream is not None else ())]
    return {str(k).lower(): str(v) for k, v in items if str(k).lower() not in _TECHNICAL_TAGS}


def _probe_pyav(path: Path) -> MediaInfo:
    import av

    container, stream = open_container(path)
    with container:
        context = stream.codec_context
        try:
            num_frames, payload_bytes = _count_frames(container, stream)
        except av.FFmpegError as error:
            raise FormatError(f"{path}: corrupt or truncated stream ({ffmpeg_reason(error)})") from None
        if num_frames <= 0:
            raise FormatError(f"{path}: audio stream holds no samples")
        tags = _tags_of(container, stream)
        sample_rate = context.sample_rate
        return MediaInfo(
            path=str(path),
            container=container.format.name,
            codec=_CODEC_NAMES.get(context.name, context.name),
            sample_rate=sample_rate,
            num_channels=context.channels,
            channel_layout=context.layout.name,
            num_frames=num_frames,
            duration_s=num_frames / sample_rate,
            bit_depth=_pyav_bit_depth(stream),
            bitrate_bps=round(payload_bytes * 8 * sample_rate / num_frames),
            tags=tags,
            has_cover_art=any(_is_attached_picture(s) for s in container.streams.video),
        )


def _count_frames(container, stream) -> tuple[int, int]:
    """Exact frames of ``stream`` and its payload bytes.

    For MP3, Ogg and MP4 the packets are only demuxed: each packet's duration
    is summed, then the priming and padding that the demuxer signals as
    ``AV_PKT_DATA_SKIP_SAMPLES`` side data (u32 skip-from-start, u32
    skip-from-end, little-endian) are subtracted. The Ogg demuxer already
    shortens the last packet to the final granule position, so only its start
    skip (the Opus pre-skip) counts. Other containers (Matroska/WebM, ADTS)
    carry timestamps too coarse to be exact, so their packets are decoded.
    """
    demuxer = container.format.name
    exact_from_packets = demuxer in _EXACT_FROM_PACKETS
    rate_per_tick = stream.time_base * stream.codec_context.sample_rate
    trims_end = not demuxer.startswith("ogg")
    ticks = skipped = payload = decoded = 0
    for packet in container.demux(stream):
        if not exact_from_packets:
            decoded += sum(frame.samples for frame in packet.decode())
        if not packet.size:
            continue
        payload += packet.size
        ticks += packet.duration or 0
        if packet.has_sidedata(_SKIP_SAMPLES):
            start, end = struct.unpack("<II", bytes(packet.get_sidedata(_SKIP_SAMPLES))[:8])
            skipped += start + (end if trims_end else 0)
    if not exact_from_packets:
        return decoded, payload
    num_frames = round(ticks * rate_per_tick) - skipped
    if demuxer == "mp3" and skipped and stream.duration:
        # A LAME/Xing header (signalled by its skip samples) records the
        # stream's length; fewer frames than that means the file was cut short.
        declared = round(stream.duration * rate_per_tick)
        if num_frames < declared - _MP3_FRAME_SAMPLES:
            raise FormatError(
                f"{container.name}: truncated MP3: the LAME/Xing header declares {declared} "
                f"frames but the file holds {num_frames}"
            )
    return num_frames, payload


def _pyav_bit_depth(stream) -> int | None:
    """Bit depth of PCM, FLAC and ALAC streams; None for lossy codecs."""
    name = stream.codec_context.name
    if name == "alac":
        # ALACSpecificConfig (Apple ALAC spec): after the 12-byte atom header,
        # u32 frameLength, u8 compatibleVersion, u8 bitDepth.
        extradata = stream.codec_context.extradata or b""
        return extradata[17] if len(extradata) >= 18 else None
    if name.startswith("pcm_"):
        digits = "".join(ch for ch in name.split("_")[1] if ch.isdigit())
        return int(digits) if digits else None
    if name in ("flac", "wavpack", "tta", "ape"):
        return 16 if stream.format.name.startswith("s16") else 24
    return None


def _is_attached_picture(stream) -> bool:
    """Whether a video stream is an embedded picture (cover art), not video."""
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)
