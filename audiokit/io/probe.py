"""What a media file holds, without decoding it: :func:`probe` and :class:`MediaInfo`."""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

from .._files import display_path
from ..errors import DurationLimitError, FormatError, ParameterError
from ._containers import (
    SOUNDFILE_BIT_DEPTH,
    check_readable,
    ffmpeg_reason,
    open_container,
    open_soundfile,
)
from ._sanity import check_stream_params, check_wav_data_chunk

if TYPE_CHECKING:
    from fractions import Fraction

    import soundfile
    from av.audio.stream import AudioStream
    from av.container import InputContainer
    from av.stream import Stream

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
_SKIP_SAMPLES: Final = "skip_samples"
# Keys ffmpeg's demuxers report that describe the container, not the content.
_TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "handler_name", "vendor_id", "language"}
_MP3_FRAME_SAMPLES = 1152  # MPEG-1 Layer III samples per frame
# Where to look for the first MPEG audio frame after any ID3v2 tag, bytes.
_MP3_HEADER_SEARCH_BYTES = 8192
_CACHE_SIZE = 64  # probe results kept, most recently used
_CACHE_DIGEST_BYTES = 65536  # bytes hashed at each end of a file for its cache key
_CACHE: OrderedDict[tuple, MediaInfo] = OrderedDict()
_CACHE_LOCK = threading.Lock()
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
        """JSON-ready fields."""
        return asdict(self)


def probe(path: str | os.PathLike[str], *, max_duration_s: float | None = None) -> MediaInfo:
    """Read a file's format, stream parameters, exact length and tags.

    The frame count is what decoding gives, not what a header claims: PCM
    WAV/AIFF/CAF headers give it directly (libsndfile bounds the data chunk by
    the file's size); every other file is decoded once with ffmpeg and its
    frames counted, so the count equals ffmpeg's full decode and what
    :func:`~audiokit.io.read` returns. Headers are checked against the decode:
    a FLAC STREAMINFO length, or an MP3 Xing/Info/VBRI frame count, that
    exceeds what the stream holds means the file is truncated. The one trim
    beyond ffmpeg's decode is an MP4 edit list's end (the AAC encoder's
    padding), which ffmpeg signals but does not remove.

    The result is cached per file (path, inode, size and modification time), so
    :func:`~audiokit.io.open` after :func:`probe` does not decode twice.

    With ``max_duration_s`` a longer file is refused before it is decoded
    where its header declares its length (PCM WAV/AIFF/CAF, FLAC STREAMINFO,
    an MP3 Xing/Info/VBRI header, Ogg's last granule position, MP4's media
    header), else as soon as decoding passes the limit: a file never costs
    more than the limit's worth of decoding.

    Parameters
    ----------
    path : str or os.PathLike
    max_duration_s : float, optional
        Refuse files longer than this many seconds (None: no limit).

    Returns
    -------
    MediaInfo

    Raises
    ------
    FormatError
        If the path is not a readable regular file (missing, empty, a directory,
        a FIFO or device, a symbolic link loop), not media, has no audio
        stream, declares an implausible rate, channel count or sample table,
        or is truncated or corrupt; :class:`~audiokit.errors.DurationLimitError`
        if it is longer than ``max_duration_s``. The message names the file.
    ParameterError
        If ``max_duration_s`` is not a positive number.

    Examples
    --------
    >>> info = probe("examples/example.flac")
    >>> info.codec, info.sample_rate, info.num_channels
    ('flac', 44100, 2)
    """
    check_max_duration(max_duration_s)
    path = check_readable(path)
    cached = cached_probe(path)
    if cached is None:
        handle = open_soundfile(path)
        if handle is not None:
            with handle:
                cached = _remember(path, _probe_soundfile(path, handle))
        else:
            cached = probe_decoding(path, max_duration_s=max_duration_s)
    if max_duration_s is not None and cached.num_frames > max_duration_s * cached.sample_rate:
        raise _too_long(path, f"lasts {cached.duration_s:.1f} s", max_duration_s)
    return replace(cached, tags=dict(cached.tags))


def cached_probe(path: Path) -> MediaInfo | None:
    """The remembered :func:`probe` of ``path`` if the file is unchanged since, else None."""
    key = _cache_key(path)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            return None
        _CACHE.move_to_end(key)
    return replace(cached, tags=dict(cached.tags))


def probe_decoding(path: Path, consume: Callable | None = None, *, max_duration_s: float | None = None) -> MediaInfo:
    """Probe a file PyAV decodes, passing each decoded ``av.AudioFrame`` to ``consume``.

    :func:`~audiokit.io.read` uses it to decode once: the frames it keeps are
    the frames probing counts. The result is remembered as :func:`probe`'s.
    With ``max_duration_s``, a longer file raises DurationLimitError (from its
    header before decoding, or once the decode passes the limit) and is not remembered.
    """
    try:
        return _remember(path, _probe_pyav(path, consume, max_duration_s))
    except MemoryError:
        raise FormatError(f"{display_path(path)}: decoding ran out of memory; the file is corrupt or hostile") from None


def check_max_duration(max_duration_s: float | None) -> None:
    """Raise ParameterError unless ``max_duration_s`` is None or a positive number of seconds."""
    if max_duration_s is None:
        return
    if isinstance(max_duration_s, bool) or not isinstance(max_duration_s, (int, float)) or not max_duration_s > 0:
        raise ParameterError(f"max_duration_s is {max_duration_s!r}; expected a positive number of seconds or None")


def _too_long(path: Path, how: str, max_duration_s: float) -> DurationLimitError:
    return DurationLimitError(f"{display_path(path)}: {how}, longer than the limit of {max_duration_s:g} s "
                       "(max_duration_s, audiokit ingest --max-duration); raise the limit to accept it")


def _cache_key(path: Path) -> tuple:
    """Identity of a file's current content: inode, size, times, and a digest of its ends.

    Modification times tick coarsely (a few ms on ext4), so a file rewritten
    in place at the same size within one tick would otherwise look unchanged.
    """
    stat = path.stat()
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        digest.update(handle.read(_CACHE_DIGEST_BYTES))
        if stat.st_size > 2 * _CACHE_DIGEST_BYTES:
            handle.seek(-_CACHE_DIGEST_BYTES, os.SEEK_END)
            digest.update(handle.read(_CACHE_DIGEST_BYTES))
    return (os.fspath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns,
            digest.digest())


def _remember(path: Path, info: MediaInfo) -> MediaInfo:
    key = _cache_key(path)
    with _CACHE_LOCK:  # readers in several threads (ingest's encoders) may probe at once
        _CACHE[key] = info
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return info


def _probe_soundfile(path: Path, handle: soundfile.SoundFile) -> MediaInfo:
    check_wav_data_chunk(path)
    tags, has_cover_art = _container_tags(path)
    if tags is None:  # ffmpeg could not open it; libsndfile's fixed set of tags then
        tags = {key: value for key in _SOUNDFILE_TAGS if (value := getattr(handle, key))}
    codec = _SOUNDFILE_CODEC.get(handle.subtype, handle.subtype.lower())
    if codec not in ("pcm_u8", "pcm_s8"):
        codec += "be" if handle.format == "AIFF" else "le"
    return MediaInfo(
        path=str(path),
        container=_SOUNDFILE_CONTAINER.get(handle.format, handle.format.lower()),
        codec=codec,
        sample_rate=handle.samplerate,
        num_channels=handle.channels,
        channel_layout=_layout_name(None, handle.channels),
        num_frames=handle.frames,
        duration_s=handle.frames / handle.samplerate,
        bit_depth=SOUNDFILE_BIT_DEPTH.get(handle.subtype),
        bitrate_bps=round(path.stat().st_size * 8 * handle.samplerate / handle.frames),
        tags=tags,
        has_cover_art=has_cover_art,
    )


def _layout_name(name: str | None, num_channels: int) -> str:
    """Ffmpeg's layout name, or its default for the channel count when the container names none.

    ffmpeg calls an unlabelled layout "N channels" (WMA, ALS, Speex, TAK,
    Shorten and WAV without a channel mask); audiokit uses the layout ffmpeg
    itself assumes for that count (``av_channel_layout_default``).
    """
    if name and not name.endswith(" channels"):
        return name
    return _DEFAULT_LAYOUT.get(num_channels, name or f"{num_channels} channels")


def _container_tags(path: Path) -> tuple[dict | None, bool]:
    """Every tag ffmpeg reads (libsndfile knows only ten Vorbis comment keys), and cover art.

    Returns ``(None, False)`` when ffmpeg cannot open the file.
    """
    import av

    try:
        with av.open(str(path), metadata_errors="replace") as container:
            tags = _tags_of(container, container.streams.audio[0] if container.streams.audio else None)
            return tags, any(_is_attached_picture(s) for s in container.streams.video)
    except (av.FFmpegError, OSError):
        return None, False


def _tags_of(container: InputContainer, stream: AudioStream | None) -> dict:
    items = [*container.metadata.items(), *(stream.metadata.items() if stream is not None else ())]
    return {str(k).lower(): str(v) for k, v in items if str(k).lower() not in _TECHNICAL_TAGS}


@dataclass
class _Count:
    """What one decode of a stream found."""

    decoded: int = 0  # frames ffmpeg's decoder output
    payload: int = 0  # bytes of audio packets
    ticks: int = 0  # sum of packet durations, stream time base
    start_skip: int = 0  # AV_PKT_DATA_SKIP_SAMPLES: priming the decoder already dropped
    sample_rate: int = 0  # of the decoded frames
    num_channels: int = 0  # of the decoded frames
    layout: str = ""  # of the decoded frames


def _probe_pyav(path: Path, consume: Callable | None = None, max_duration_s: float | None = None) -> MediaInfo:
    container, stream = open_container(path)
    with container:
        if container.format.name == "wav":  # compressed codecs in WAV (GSM, ADPCM, ...)
            check_wav_data_chunk(path)
        if max_duration_s is not None:
            declared_s = _declared_duration_s(path, container, stream)
            if declared_s is not None and declared_s > max_duration_s:
                raise _too_long(path, f"its header declares {declared_s:.1f} s", max_duration_s)
        count = _decode_count(path, container, stream, consume, max_duration_s)
        num_frames = _exact_length(path, container, stream, count)
        check_stream_params(path, count.sample_rate, count.num_channels)
        return MediaInfo(
            path=str(path),
            container=container.format.name,
            codec=_CODEC_NAMES.get(stream.codec_context.name, stream.codec_context.name),
            sample_rate=count.sample_rate,
            num_channels=count.num_channels,
            channel_layout=_layout_name(count.layout, count.num_channels),
            num_frames=num_frames,
            duration_s=num_frames / count.sample_rate,
            bit_depth=_pyav_bit_depth(stream),
            bitrate_bps=round(count.payload * 8 * count.sample_rate / num_frames),
            tags=_tags_of(container, stream),
            has_cover_art=any(_is_attached_picture(s) for s in container.streams.video),
        )


def _declared_duration_s(path: Path, container: InputContainer, stream: AudioStream) -> float | None:
    """The length a header declares (not ffmpeg's estimate from the bitrate), seconds, or None."""
    demuxer = container.format.name
    declares = demuxer in ("flac", "ogg") or demuxer.startswith("mov") or (
        demuxer == "mp3" and _mp3_has_length_header(path))
    if not declares or not stream.duration or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _decode_count(path: Path, container: InputContainer, stream: AudioStream, consume: Callable | None = None,
                  max_duration_s: float | None = None) -> _Count:
    """Decode ``stream`` to the end, counting frames; the rate and channels come from the frames.

    With ``max_duration_s`` the decode stops with DurationLimitError once it passes that many seconds.
    """
    import av

    count = _Count()
    shown = display_path(path)
    try:
        for packet in container.demux(stream):
            if packet.size:
                count.payload += packet.size
                count.ticks += packet.duration or 0
                if packet.has_sidedata(_SKIP_SAMPLES):
                    count.start_skip += struct.unpack("<I", bytes(packet.get_sidedata(_SKIP_SAMPLES))[:4])[0]
            for frame in packet.decode():
                if not count.sample_rate:
                    count.sample_rate, count.layout = frame.sample_rate, frame.layout.name
                    count.num_channels = frame.layout.nb_channels
                    check_stream_params(path, count.sample_rate, count.num_channels)
                elif frame.sample_rate != count.sample_rate or frame.layout.nb_channels != count.num_channels:
                    raise FormatError(
                        f"{shown}: the stream changes from {count.sample_rate} Hz, {count.num_channels} ch to "
                        f"{frame.sample_rate} Hz, {frame.layout.nb_channels} ch part-way; audiokit reads one "
                        "rate and channel count per file. Re-encode it, or split it where the change happens"
                    )
                count.decoded += frame.samples
                if max_duration_s is not None and count.decoded > max_duration_s * count.sample_rate:
                    raise _too_long(path, f"lasts more than {count.decoded / count.sample_rate:.1f} s "
                                          "(decoding stopped there)", max_duration_s)
                if consume is not None:
                    consume(frame)
    except av.FFmpegError as error:
        raise FormatError(
            f"{shown}: corrupt or truncated stream ({ffmpeg_reason(error)}); re-export or re-download it"
        ) from None
    if count.decoded <= 0:
        raise FormatError(f"{shown}: audio stream holds no samples; the file is empty of audio or damaged")
    return count


def _exact_length(path: Path, container: InputContainer, stream: AudioStream, count: _Count) -> int:
    """The frames a reader yields: the decoded count, trimmed by an MP4 edit list, checked against headers."""
    demuxer = container.format.name
    shown = display_path(path)
    # A demuxed stream always has a time base (PyAV types it Optional for streams being set up).
    rate_per_tick = cast("Fraction", stream.time_base) * stream.codec_context.sample_rate
    num_frames = count.decoded
    if demuxer.startswith("mov") and count.start_skip:
        # An edit list (ISO/IEC 14496-12 §8.6.6) hides the AAC priming, which the
        # decoder drops, and the end padding, which it does not: the edit's
        # length is the packets' durations less the priming.
        edit_frames = round(count.ticks * rate_per_tick) - count.start_skip
        if edit_frames <= 0:
            raise FormatError(
                f"{shown}: corrupt MP4: its packets last {round(count.ticks * rate_per_tick)} frames, no more than "
                f"the {count.start_skip} priming frames the decoder drops; re-export or re-download it"
            )
        num_frames = min(num_frames, edit_frames)
    declared, header = 0, ""
    if demuxer == "flac" and stream.duration:
        declared, header = round(stream.duration * rate_per_tick), "STREAMINFO"
    elif demuxer == "mp3" and stream.duration and _mp3_has_length_header(path):
        declared, header = round(stream.duration * rate_per_tick), "Xing/Info/VBRI header"
    # One MP3 frame of slack: the LAME delay and padding are counted in whole frames by some encoders.
    slack = _MP3_FRAME_SAMPLES if demuxer == "mp3" else 0
    if declared and num_frames < declared - slack:
        raise FormatError(
            f"{shown}: truncated {demuxer.upper()}: its {header} declares {declared} frames but the stream holds "
            f"{num_frames}; re-export or re-download the file"
        )
    return num_frames


def _mp3_has_length_header(path: Path) -> bool:
    """Whether the first MPEG audio frame (after any ID3v2 tag) is a Xing, Info or VBRI frame.

    With such a frame ffmpeg reports the header's length as the stream's
    duration; without one it estimates the duration from the bitrate, which
    proves nothing.
    """
    with path.open("rb") as handle:
        head = handle.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:  # ID3v2 header: 4 syncsafe size bytes (ID3v2.4 §3.1)
            start = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(head[6:10]))
        handle.seek(start)
        data = handle.read(_MP3_HEADER_SEARCH_BYTES)
    sync = next((i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0), None)
    if sync is None:
        return False
    # Xing/Info sits after the side information (offset 4 + 9..32); VBRI at offset 36 (Fraunhofer).
    frame = data[sync : sync + 200]
    return b"Xing" in frame[:64] or b"Info" in frame[:64] or frame[36:40] == b"VBRI"


def _pyav_bit_depth(stream: AudioStream) -> int | None:
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


def _is_attached_picture(stream: Stream) -> bool:
    """Whether a video stream is an embedded picture (cover art), not video."""
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)
