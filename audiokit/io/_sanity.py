"""Limits on what a file's header may claim, checked before anything is allocated.

A header is a claim, not a fact: a 88 KB WAV may say it runs at 1 GHz, a 25 KB
MP4 may list 85 million samples. ffmpeg and libsndfile size their tables and
buffers from such claims, so they are checked here first, against fixed limits
and against the file's size, and a clean :class:`~audiokit.errors.FormatError`
names the file instead. Nothing here is public.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from .._arrays import MAX_CHANNELS, MAX_SAMPLE_RATE
from .._files import display_path
from ..errors import FormatError

#: Lowest sample rate a file may declare, Hz: the lowest an integer rate can be.
MIN_SAMPLE_RATE = 1

# ISO/IEC 14496-12 (ISO base media file format): boxes that hold other boxes.
_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf"}
# Top-level box types that mark an ISO BMFF file (MP4, M4A, MOV, 3GP).
_MP4_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp"}
# Full boxes whose payload is u32 entry_count then fixed-size entries (ISO/IEC 14496-12
# §8.6.1.2 stts, §8.6.1.3 ctts, §8.6.2 stss, §8.7.4 stsc, §8.7.5 stco/co64, §8.6.6 elst v0).
_MP4_ENTRY_BYTES = {b"stts": 8, b"ctts": 8, b"stss": 4, b"stsc": 12, b"stco": 4, b"co64": 8, b"elst": 12}
_MAX_BOXES = 100_000  # more boxes than this in moov is not a real file
_MAX_RIFF_CHUNKS = 1000  # chunks walked before the data chunk, at most


def check_stream_params(path: Path, sample_rate: int, num_channels: int) -> None:
    """Raise FormatError unless the rate and channel count are within audiokit's limits."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise FormatError(
            f"{display_path(path)}: header declares a sample rate of {sample_rate} Hz; expected "
            f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz. The file is corrupt or hostile; re-export it"
        )
    if not 1 <= num_channels <= MAX_CHANNELS:
        raise FormatError(
            f"{display_path(path)}: header declares {num_channels} channels; expected 1 to "
            f"{MAX_CHANNELS}. The file is corrupt or hostile; re-export it"
        )


def check_mp4_tables(path: Path) -> None:
    """Check an ISO BMFF file's sample tables against its size before ffmpeg allocates them.

    Every sample occupies at least one byte of the file, and every table entry
    its fixed size inside its box, so a sample count above the file size, or an
    entry count that does not fit its box, is a lie. Files that are not ISO
    BMFF return at once.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8 or head[4:8] not in _MP4_TOP_LEVEL:
            return
        handle.seek(0)
        _walk_boxes(path, handle, 0, size, size, [0])


def _walk_boxes(path: Path, handle: BinaryIO, start: int, end: int, file_size: int, count: list[int]) -> None:
    offset = start
    while offset + 8 <= end:
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            return
        box_size, kind = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1 and len(header) >= 16:
            box_size = struct.unpack(">Q", header[8:16])[0]
            header_size = 16
        elif box_size == 0:
            box_size = end - offset
        if box_size < header_size:
            return  # malformed; ffmpeg's own parser stops here too
        box_end = min(offset + box_size, end)
        count[0] += 1
        if count[0] > _MAX_BOXES:
            raise FormatError(f"{display_path(path)}: more than {_MAX_BOXES} MP4 boxes; the file is corrupt or hostile")
        payload = offset + header_size
        if kind in _MP4_CONTAINERS:
            _walk_boxes(path, handle, payload, box_end, file_size, count)
        elif kind in (b"stsz", b"stz2", b"trun") or kind in _MP4_ENTRY_BYTES:
            _check_table(path, handle, kind, payload, box_end - payload, file_size)
        offset += box_size


def _check_table(path: Path, handle: BinaryIO, kind: bytes, payload: int, payload_bytes: int, file_size: int) -> None:
    handle.seek(payload)
    head = handle.read(12)
    if len(head) < 8:
        return
    version_flags, first = struct.unpack(">II", head[:8])
    shown = display_path(path)
    if kind == b"stsz":  # §8.7.3.2: u32 sample_size, u32 sample_count, then sizes if sample_size == 0
        if len(head) < 12:
            return
        sample_size, sample_count = first, struct.unpack(">I", head[8:12])[0]
        table_bytes = 0 if sample_size else 4 * sample_count
        if sample_count > file_size or sample_count * max(sample_size, 1) > file_size or table_bytes > payload_bytes - 12:
            raise FormatError(
                f"{shown}: MP4 sample table lists {sample_count} samples in a {file_size}-byte file; "
                "the file is corrupt or hostile. Re-export it"
            )
        return
    if kind == b"stz2":  # §8.7.3.3: u24 reserved, u8 field_size, u32 sample_count
        if len(head) < 12:
            return
        field_bits, sample_count = first & 0xFF, struct.unpack(">I", head[8:12])[0]
        if sample_count > file_size or sample_count * max(field_bits, 4) // 8 > payload_bytes:
            raise FormatError(f"{shown}: MP4 compact sample table lists {sample_count} samples in a "
                              f"{file_size}-byte file; the file is corrupt or hostile. Re-export it")
        return
    if kind == b"trun":  # §8.8.8: u32 sample_count; each sample at least one byte of mdat
        if first > file_size:
            raise FormatError(f"{shown}: MP4 fragment lists {first} samples in a {file_size}-byte file; "
                              "the file is corrupt or hostile. Re-export it")
        return
    entry_bytes = _MP4_ENTRY_BYTES[kind] + (8 if kind == b"elst" and version_flags >> 24 == 1 else 0)
    entries = first
    if entries * entry_bytes > payload_bytes - 8:
        raise FormatError(
            f"{shown}: MP4 '{kind.decode('latin-1')}' table claims {entries} entries but its box holds "
            f"{max(payload_bytes - 8, 0)} bytes; the file is corrupt or hostile. Re-export it"
        )
    if kind == b"stts":  # the durations' sample counts add up to the number of samples
        handle.seek(payload + 8)
        data = handle.read(entries * 8)
        counts = struct.unpack(f">{2 * entries}I", data[: entries * 8])[0::2] if len(data) == entries * 8 else ()
        total = sum(counts)
        if total > file_size:
            raise FormatError(
                f"{shown}: MP4 time-to-sample table lists {total} samples in a {file_size}-byte file; "
                "the file is corrupt or hostile. Re-export it"
            )


def check_wav_data_chunk(path: Path) -> None:
    """Raise FormatError if a RIFF WAVE file's data chunk declares more bytes than the file holds.

    libsndfile and ffmpeg both read such a file as far as it goes, silently;
    a cut-short upload is damaged and is refused. A data size of 0 or
    0xFFFFFFFF (written by streaming recorders that never went back to fill
    it in) declares nothing and passes. One byte of slack covers the RIFF pad
    byte (chunks are word-aligned, RIFF spec 1991 §"Chunks").
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        offset = 12
        for _ in range(_MAX_RIFF_CHUNKS):
            handle.seek(offset)
            chunk = handle.read(8)
            if len(chunk) < 8:
                return
            kind, chunk_bytes = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"data":
                missing = offset + 8 + chunk_bytes - size
                if chunk_bytes not in (0, 0xFFFFFFFF) and missing > 1:
                    raise FormatError(
                        f"{display_path(path)}: truncated WAV: its data chunk declares {chunk_bytes} bytes "
                        f"but the file ends {missing} bytes short of that; re-export or re-download it"
                    )
                return
            offset += 8 + chunk_bytes + (chunk_bytes & 1)
