"""Encoding: the streaming :class:`AudioWriter` and :func:`write`, both atomic.

Every output is written to a hidden temporary name in the destination folder
and ``os.replace``d into place when complete, so a crash or an error never
leaves a half-written file that looks finished.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._arrays import as_samples, check_finite, check_sample_rate
from ..audio import Audio
from ..channels import default_layout_name
from ..errors import FormatError, ParameterError
from ._containers import ffmpeg_reason
from ._packet_spill import PacketSpill

if TYPE_CHECKING:
    import av
    from av.audio.stream import AudioStream

__all__ = ["AudioWriter", "write", "FORMATS"]

_ENCODE_BLOCK_FRAMES = 8192
# Encoder options: libopus in constrained VBR, so that the bitrate stays at the
# target (plain VBR measured +30 to +50 % over target on tonal music).
_ENCODER_OPTIONS = {"libopus": {"vbr": "constrained"}}
_LOSSY_DEFAULT_BITRATE_BPS = {"libmp3lame": 192_000, "aac": 192_000, "libopus": 128_000}
# Opus is always encoded at 48 kHz: ffmpeg's decoder outputs 48 kHz whatever
# rate the encoder ran at, so this keeps write -> read at one known rate.
_OPUS_RATE = 48000
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AAC_MAX_RATE = 96000
_MAX_CHANNELS = {"libmp3lame": 2, "libopus": 8, "aac": 8, "alac": 8, "flac": 8}
# Short names users may pass as `codec`, mapped to ffmpeg encoder names.
_CODEC_ALIASES = {"mp3": "libmp3lame", "opus": "libopus", "pcm": "pcm"}


@dataclass(frozen=True)
class _Format:
    """How one file extension is written."""

    #: ffmpeg muxer name
    muxer: str
    #: encoders allowed in this container; the first is the default
    codecs: tuple[str, ...]


#: File extensions audiokit writes, with their muxer and allowed encoders.
FORMATS = {
    ".wav": _Format("wav", ("pcm", "pcm_f32le")),
    ".flac": _Format("flac", ("flac",)),
    ".aiff": _Format("aiff", ("pcm",)),
    ".aif": _Format("aiff", ("pcm",)),
    ".mp3": _Format("mp3", ("libmp3lame",)),
    ".ogg": _Format("ogg", ("libopus",)),
    ".opus": _Format("ogg", ("libopus",)),
    ".webm": _Format("webm", ("libopus",)),
    ".m4a": _Format("ipod", ("aac", "alac")),
    ".mp4": _Format("mp4", ("aac", "alac")),
}
_LOSSLESS_INT = {"pcm", "flac", "alac"}
_MP4_MUXERS = {"mp4", "ipod"}


class AudioWriter:
    """Encode blocks to a file, atomically; :func:`write` is built on it.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; the extension picks the container (see :data:`FORMATS`).
    sample_rate : int
        Rate of the blocks passed to :meth:`write`, Hz. Opus is always encoded
        at 48 kHz (other rates are resampled with audiokit's resampler).
    num_channels : int
    codec : str, optional
        Encoder: ``"flac"``, ``"alac"``, ``"aac"``, ``"mp3"``, ``"opus"``,
        ``"pcm_f32le"`` (32-bit float WAV). Default: the container's usual one.
    bitrate_bps : int, optional
        Target bitrate of lossy codecs, bits per second.
    bit_depth : int, optional
        16 (default), 24 or 32 for PCM, FLAC (16/24) and ALAC (16/24).
    tags : dict, optional
        Metadata (title, artist, ...). What each container keeps is its own
        (Vorbis comments keep any key; WAV and MP4 keep the standard ones).
        Keys must be printable ASCII without '=' (Vorbis I §5.2.3); values
        are text without NUL.

    Notes
    -----
    MP4 (``.m4a``, ``.mp4``) packets wait in an unnamed temporary file next to
    the destination and are muxed when the writer closes
    (:mod:`._packet_spill`): ffmpeg's MP4 muxer holds an index entry per
    packet until the end, and this keeps it out of memory while encoding.

    Examples
    --------
    >>> import numpy as np
    >>> blocks = [np.zeros((2, 4800), np.float32)] * 10
    >>> with AudioWriter("out.flac", 48000, 2, bit_depth=24) as writer:
    ...     for block in blocks:
    ...         writer.write(block)
    """

    #: av's OutputContainer while encoding; None once closed or discarded
    _container: Any
    _stream: AudioStream

    def __init__(self, path: str | os.PathLike[str], sample_rate: int, num_channels: int, *, codec: str | None = None,
                 bitrate_bps: int | None = None, bit_depth: int | None = None, tags: dict | None = None):
        self.path = Path(os.fspath(path))
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(num_channels, bool) or not isinstance(num_channels, (int, np.integer)) or num_channels < 1:
            raise ParameterError(f"num_channels is {num_channels!r}; expected a positive integer")
        self.num_channels = int(num_channels)
        container_format = _container_format(self.path)
        self.codec = _choose_codec(self.path, container_format, codec)
        self._bit_depth = _check_bit_depth(self.codec, bit_depth)
        self._encoder_name = _encoder_name(self.codec, self.path, self._bit_depth)
        self.encoded_rate = _encoded_rate(self.codec, self.sample_rate)
        _check_channels(self.codec, self.num_channels)
        bitrate_bps = _check_bitrate(self.codec, bitrate_bps)
        if not self.path.parent.is_dir():
            raise ParameterError(f"{self.path}: folder {self.path.parent} does not exist; create it first")
        self._temp_path = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.partial")
        self._resampler = None
        if self.encoded_rate != self.sample_rate:
            from .resample import Resampler

            self._resampler = Resampler(self.sample_rate, self.encoded_rate, self.num_channels)
        self._frames_received = 0  # frames passed to write(), at sample_rate
        self._frames_written = 0  # frames sent to the encoder, at encoded_rate
        try:
            self._spill = PacketSpill(self.path.parent) if container_format.muxer in _MP4_MUXERS else None
        except OSError as error:  # a read-only folder, a full disk
            raise FormatError(f"{self.path}: cannot start encoding ({ffmpeg_reason(error)})") from None
        self._open(container_format.muxer, bitrate_bps, _check_tags(self.path, tags))

    def _open(self, muxer: str, bitrate_bps: int | None, tags: dict) -> None:
        import av

        try:
            # MP4: a movie timescale of the sample rate keeps the edit list in samples
            # (the default, 1000, rounds its end down to whole ms and the demuxer
            # then drops a short final AAC packet).
            options = {"movie_timescale": str(self.encoded_rate)} if muxer in _MP4_MUXERS else {}
            # Reproducible files: the same input gives the same bytes (Ogg otherwise picks a random
            # stream serial number, and muxers stamp libavformat's version).
            options["fflags"] = "+bitexact"
            container = av.open(str(self._temp_path), "w", format=muxer, options=options)
            self._container = container
            stream = cast("AudioStream", container.add_stream(self._encoder_name, rate=self.encoded_rate))
            stream.layout = default_layout_name(self.num_channels)
            if bitrate_bps:
                stream.bit_rate = int(bitrate_bps)
            stream.codec_context.options = dict(_ENCODER_OPTIONS.get(self._encoder_name, {}))
            formats = [f.name for f in stream.codec_context.codec.audio_formats or ()]
            self._sample_format = _pick_sample_format(formats, self._bit_depth)
            stream.format = self._sample_format
            for key, value in tags.items():
                container.metadata[key] = value
        except av.FFmpegError as error:
            self._discard()
            raise FormatError(f"{self.path}: cannot start encoding ({ffmpeg_reason(error)})") from None
        self._stream = stream

    def write(self, block: np.ndarray) -> None:
        """Encode one ``(channels, frames)`` block (float in [-1, 1] or integer PCM)."""
        block = as_samples(block, name="block")
        check_finite(block, name="block")
        if block.shape[0] != self.num_channels:
            raise ParameterError(
                f"block has {block.shape[0]} channels; this writer was opened with {self.num_channels}"
            )
        self._frames_received += block.shape[1]
        if self._resampler is not None:
            block = self._resampler.process(block)
        for start in range(0, block.shape[1], _ENCODE_BLOCK_FRAMES):
            self._encode(block[:, start : start + _ENCODE_BLOCK_FRAMES])

    def close(self) -> Path:
        """Flush the encoder and move the file into place. Returns the path."""
        import av

        if self._container is None:
            return self.path
        if self._frames_received == 0:
            self._discard()
            raise ParameterError(f"{self.path}: no samples were written; an audio file needs at least one frame")
        try:
            if self._resampler is not None:
                self._encode(self._resampler.flush())
            for packet in self._stream.encode(None):
                self._deliver(packet)
            if self._spill is not None:
                self._spill.mux(self._container, self._stream)
            else:
                self._container.close()
        except (av.FFmpegError, OSError) as error:  # OSError: the MP4 packets' file (a full disk)
            self._discard()
            raise FormatError(f"{self.path}: encoding failed ({ffmpeg_reason(error)})") from None
        self._container = None
        os.replace(self._temp_path, self.path)
        return self.path

    def _encode(self, block: np.ndarray) -> None:
        import av

        if not block.shape[1]:
            return
        frame = av.AudioFrame.from_ndarray(_to_sample_format(block, self._sample_format, self._bit_depth),
                                           format=self._sample_format, layout=self._stream.layout.name)
        frame.sample_rate = self.encoded_rate
        # Explicit timestamps let the MP4 muxer write the edit list that hides
        # the AAC encoder's priming from decoders.
        frame.pts = self._frames_written
        frame.time_base = Fraction(1, self.encoded_rate)
        self._frames_written += block.shape[1]
        try:
            for packet in self._stream.encode(frame):
                self._deliver(packet)
        except (av.FFmpegError, OSError) as error:  # OSError: the MP4 packets' file (a full disk)
            self._discard()
            raise FormatError(f"{self.path}: encoding failed ({ffmpeg_reason(error)})") from None

    def _deliver(self, packet: av.Packet) -> None:
        """Mux an encoded packet now, or keep it in the spill file until :meth:`close` (MP4)."""
        if self._spill is not None:
            self._spill.add(packet)
        else:
            self._container.mux(packet)

    def _discard(self) -> None:
        """Close and delete the temporary file; the destination is untouched."""
        container, self._container = getattr(self, "_container", None), None
        if container is not None:
            try:
                container.close()
            except Exception:  # the file is being thrown away; its close error adds nothing
                pass
        spill = getattr(self, "_spill", None)
        if spill is not None:
            spill.discard()
        self._temp_path.unlink(missing_ok=True)

    def __enter__(self) -> "AudioWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()


def write(path: str | os.PathLike[str], audio: Audio, *, codec: str | None = None, bitrate_bps: int | None = None,
          bit_depth: int | None = None, tags: dict | None = None) -> Path:
    """Write ``audio`` to ``path`` atomically (temporary name, then ``os.replace``).

    Parameters
    ----------
    path : str or os.PathLike
        The extension picks the container: .wav .flac .aiff .mp3 .ogg .opus
        .webm .m4a .mp4 (raw ADTS .aac is not written: it cannot record an exact length).
    audio : Audio
    codec, bitrate_bps, bit_depth, tags
        See :class:`AudioWriter`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ParameterError
        For an unknown extension, a codec the container cannot hold, a bit
        depth or bitrate the codec cannot use, or too many channels.
    FormatError
        If encoding fails; no file is left behind.

    Examples
    --------
    >>> import numpy as np
    >>> audio = Audio(np.zeros((2, 48000), np.float32), 48000)
    >>> write("out.flac", audio, bit_depth=24)
    PosixPath('out.flac')
    >>> write("out.m4a", audio, bitrate_bps=256_000)
    PosixPath('out.m4a')
    """
    if not isinstance(audio, Audio):
        raise ParameterError(
            f"audio is a {type(audio).__name__}; expected audiokit.Audio "
            "(wrap arrays as audiokit.Audio(samples, sample_rate))"
        )
    with AudioWriter(path, audio.sample_rate, audio.num_channels, codec=codec,
                     bitrate_bps=bitrate_bps, bit_depth=bit_depth, tags=tags) as writer:
        writer.write(audio.samples)
    return writer.path


def _check_tags(path: Path, tags: dict | None) -> dict[str, str]:
    """Tags as ``{key: value}`` strings, or ParameterError for a key no container can store intact.

    Vorbis comments (Vorbis I spec §5.2.3) allow field names of printable ASCII
    0x20-0x7D except '='; ID3, RIFF INFO and MP4 keys are narrower still, so
    audiokit holds every container to that rule: a '=' or a newline in a key
    would be written and read back as a different tag.
    """
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise ParameterError(f"{path}: tags is a {type(tags).__name__}; expected a dict of str to str")
    checked = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key or any(not 0x20 <= ord(ch) <= 0x7D or ch == "=" for ch in key):
            raise ParameterError(
                f"{path}: tag key {key!r} cannot be stored intact; use a non-empty key of printable ASCII "
                "(space to '}') without '=', e.g. 'title' or 'replaygain_track_gain'"
            )
        value = str(value)
        if "\x00" in value:
            raise ParameterError(f"{path}: tag {key!r} has a NUL character in its value; remove it")
        checked[key] = value
    return checked


def _container_format(path: Path) -> _Format:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(
            f"{path}: cannot tell the format from extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(FORMATS))}"
        )
    return FORMATS[suffix]


def _choose_codec(path: Path, container_format: _Format, codec: str | None) -> str:
    if codec is None:
        return container_format.codecs[0]
    name = _CODEC_ALIASES.get(codec.lower(), codec.lower())
    if name.startswith("pcm_s"):
        name = "pcm"
    if name not in container_format.codecs:
        raise ParameterError(
            f"{path}: codec {codec!r} cannot be written to {path.suffix} files; "
            f"use one of {', '.join(container_format.codecs)} or change the extension"
        )
    return name


def _check_bit_depth(codec: str, bit_depth: int | None) -> int | None:
    if codec not in _LOSSLESS_INT:
        if bit_depth is not None:
            raise ParameterError(f"bit_depth={bit_depth} applies to PCM, FLAC and ALAC only, not {codec}")
        return None
    allowed = (16, 24, 32) if codec == "pcm" else (16, 24)
    bit_depth = 16 if bit_depth is None else bit_depth
    if bit_depth not in allowed:
        raise ParameterError(f"bit_depth is {bit_depth}; {codec} accepts {', '.join(map(str, allowed))}")
    return bit_depth


def _encoder_name(codec: str, path: Path, bit_depth: int | None) -> str:
    if codec != "pcm":
        return codec
    endian = "be" if path.suffix.lower() in (".aiff", ".aif") else "le"
    return f"pcm_s{bit_depth}{endian}"


def _encoded_rate(codec: str, sample_rate: int) -> int:
    if codec == "libopus":
        return _OPUS_RATE
    if codec == "libmp3lame" and sample_rate not in _MP3_RATES:
        raise ParameterError(
            f"sample_rate is {sample_rate} Hz; MP3 supports {', '.join(map(str, _MP3_RATES))}. "
            "Resample first, e.g. audiokit.read(path, sample_rate=44100)"
        )
    if codec == "aac" and sample_rate > _AAC_MAX_RATE:
        raise ParameterError(f"sample_rate is {sample_rate} Hz; AAC supports at most {_AAC_MAX_RATE}")
    return sample_rate


def _check_channels(codec: str, num_channels: int) -> None:
    limit = _MAX_CHANNELS.get(codec)
    if limit is not None and num_channels > limit:
        raise ParameterError(f"{num_channels} channels cannot be encoded as {codec} (at most {limit}); downmix first")


def _check_bitrate(codec: str, bitrate_bps: int | None) -> int | None:
    if bitrate_bps is None:
        return _LOSSY_DEFAULT_BITRATE_BPS.get(codec)
    if codec not in _LOSSY_DEFAULT_BITRATE_BPS:
        raise ParameterError(f"bitrate_bps applies to lossy codecs (aac, mp3, opus), not {codec}")
    if isinstance(bitrate_bps, bool) or not isinstance(bitrate_bps, (int, np.integer)) or not 6000 <= bitrate_bps <= 640_000:
        raise ParameterError(f"bitrate_bps is {bitrate_bps!r}; expected an integer from 6000 to 640000")
    return int(bitrate_bps)


def _pick_sample_format(formats: list[str], bit_depth: int | None) -> str:
    """The encoder input format: float for lossy codecs, integers of the right width for lossless."""
    if bit_depth is None:
        for name in ("fltp", "flt"):
            if name in formats:
                return name
    wanted = ("s16p", "s16") if bit_depth == 16 else ("s32p", "s32")
    for name in wanted:
        if name in formats:
            return name
    raise FormatError(f"encoder offers sample formats {formats}; none fits bit depth {bit_depth}")


def _to_sample_format(block: np.ndarray, sample_format: str, bit_depth: int | None) -> np.ndarray:
    """Convert float32 ``(channels, n)`` to the array PyAV expects for ``sample_format``.

    Integer output is rounded and clipped to ``bit_depth`` bits, then
    left-justified in 32-bit words for 24-bit (ffmpeg keeps the top bits).
    """
    if sample_format.startswith("flt"):
        data = block
    else:
        depth = 16 if bit_depth is None else bit_depth  # integer formats are picked with a depth
        full_scale = 2.0 ** (depth - 1)
        quantized = np.clip(np.round(block.astype(np.float64) * full_scale), -full_scale, full_scale - 1)
        if sample_format.startswith("s16"):
            data = quantized.astype(np.int16)
        else:
            data = quantized.astype(np.int32) << (32 - depth)
    if sample_format.endswith("p"):
        return np.ascontiguousarray(data)
    return np.ascontiguousarray(data.T).reshape(1, -1)  # packed: interleaved in one row
