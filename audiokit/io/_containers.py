"""Opening files with PyAV and soundfile, and turning their failures into FormatError.

Shared by :mod:`~audiokit.io.probe`, :mod:`~audiokit.io.reader` and
:mod:`~audiokit.io.writer`; nothing here is public.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._files import check_input_file, display_path
from ..errors import FormatError
from ._sanity import check_mp4_tables, check_stream_params

if TYPE_CHECKING:
    import soundfile
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer

# Containers whose PCM libsndfile reads exactly and faster than a PyAV decode.
# FLAC is not among them: libsndfile trusts STREAMINFO's rate and length, which
# may lie (a wrong rate plays at the wrong speed, a short length drops audio);
# ffmpeg's decoder follows the frames themselves.
SOUNDFILE_FORMATS = {"WAV", "WAVEX", "RF64", "W64", "AIFF", "CAF", "AU"}
# First four bytes of RIFF/RF64 WAV, Sony Wave64, AIFF, CAF and Sun AU.
SOUNDFILE_MAGIC = {b"RIFF", b"RF64", b"riff", b"FORM", b"caff", b".snd"}
# soundfile subtype -> bit depth of integer PCM (lossless sources).
SOUNDFILE_BIT_DEPTH = {"PCM_U8": 8, "PCM_S8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
                       "FLOAT": 32, "DOUBLE": 64}
# PyAV sample formats -> full-scale divisor for conversion to float.
#: AV_NUM_DATA_POINTERS (libavutil/frame.h): planes a frame holds in ``data``; more go to ``extended_data``.
_FRAME_DATA_POINTERS = 8
_INT_FULL_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 2.0**63}


def check_readable(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path, or raise FormatError saying why it cannot be read.

    See :func:`audiokit._files.check_input_file`: a readable, non-empty regular file.
    """
    return check_input_file(path)


def open_soundfile(path: Path) -> soundfile.SoundFile | None:
    """Open ``path`` with soundfile if it is integer or float PCM libsndfile reads, else None.

    Only files whose first bytes name a container in :data:`SOUNDFILE_MAGIC`
    are tried, so libsndfile never sniffs (and complains about) MP3 or Ogg.
    Compressed subtypes inside WAV/AIFF (GSM 6.10, IMA ADPCM, A-law, ...)
    go to PyAV, whose decode gives the true length. The header's rate and
    channel count are checked against audiokit's limits.
    """
    import soundfile

    with path.open("rb") as handle:
        if handle.read(4) not in SOUNDFILE_MAGIC:
            return None
    try:
        handle = soundfile.SoundFile(os.fsencode(path))  # bytes: any file name, UTF-8 or not
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        return None
    if handle.format not in SOUNDFILE_FORMATS or handle.subtype not in SOUNDFILE_BIT_DEPTH or handle.frames <= 0:
        handle.close()
        return None
    try:
        check_stream_params(path, handle.samplerate, handle.channels)
    except FormatError:
        handle.close()
        raise
    return handle


def open_container(path: Path) -> tuple[InputContainer, AudioStream]:
    """Open ``path`` with PyAV and return ``(container, audio_stream)``.

    Raises FormatError when PyAV cannot open the file or it has no audio stream.
    """
    import av

    shown = display_path(path)
    check_mp4_tables(path)
    try:
        container = av.open(str(path), metadata_errors="replace")
    except av.FFmpegError as error:
        raise FormatError(f"{shown}: not a readable media file ({ffmpeg_reason(error)}); check its "
                          "format and extension") from None
    except (OSError, MemoryError) as error:
        raise FormatError(f"{shown}: cannot be opened ({type(error).__name__}: {error})") from None
    if not container.streams.audio:
        kinds: list[str] = sorted({stream.type for stream in container.streams}) or ["no streams"]
        container.close()
        raise FormatError(f"{shown}: has no audio stream (found: {', '.join(kinds)}); pass a file with audio")
    stream = container.streams.audio[0]
    if stream.codec_context is None:  # ffmpeg knows no decoder for this codec id
        container.close()
        raise FormatError(f"{shown}: its audio codec cannot be decoded (no decoder in ffmpeg for it); "
                          "convert the file to FLAC, WAV or another common format first")
    if not stream.codec_context.sample_rate or not stream.codec_context.channels:
        container.close()
        raise FormatError(f"{shown}: audio stream has no sample rate or channel count; the file is "
                          "damaged or not audio. Check its format and extension")
    try:
        check_stream_params(path, stream.codec_context.sample_rate, stream.codec_context.channels)
    except FormatError:
        container.close()
        raise
    return container, stream


def ffmpeg_reason(error: BaseException) -> str:
    """A short human-readable reason from an ``av.FFmpegError``."""
    text = getattr(error, "strerror", None) or str(error)
    return text.split(":")[-1].strip() or type(error).__name__


def frame_to_float(frame: AudioFrame) -> np.ndarray:
    """Convert a decoded ``av.AudioFrame`` to float32 ``(channels, samples)``.

    Integer formats are scaled to [-1, 1) (s16 by 2**15, s32 by 2**31, u8 centred).
    """
    name = frame.format.name
    planar = name.endswith("p")
    base = name[:-1] if planar else name
    channels = frame.layout.nb_channels
    if planar and channels > _FRAME_DATA_POINTERS:
        # PyAV counts a frame's planes by scanning ``extended_data`` for a NULL, but ffmpeg allocates exactly
        # one pointer per channel there when there are more than AV_NUM_DATA_POINTERS (libavutil/frame.h):
        # the scan runs past the array and to_ndarray() reads garbage pointers (a segfault, found by fuzzing
        # a 54-channel AAC). Interleave in ffmpeg first (libswresample reads extended_data correctly); a
        # packed frame has one plane.
        array, planar = _packed(frame, base), False
    else:
        array = frame.to_ndarray()
    if not planar:  # packed: one row of interleaved samples
        array = array.reshape(-1, channels).T
    if base in ("flt", "dbl"):
        return np.ascontiguousarray(array, dtype=np.float32)
    if base == "u8":
        return ((array.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    return (array.astype(np.float64) / _INT_FULL_SCALE[base]).astype(np.float32)


def _packed(frame: AudioFrame, packed_format: str) -> np.ndarray:
    """The frame's samples interleaved by libswresample: one row, ``packed_format`` (same rate and layout)."""
    import av

    resampler = av.AudioResampler(format=packed_format, layout=frame.layout, rate=frame.sample_rate)
    return np.concatenate([out.to_ndarray() for out in [*resampler.resample(frame), *resampler.resample(None)]],
                          axis=1)
