"""CMAF (ISO/IEC 23000-19) audio boxes: headers, media segments, and the parsers that check them.

ffmpeg's mp4 muxer writes the track header (``moov``: the ``esds``, ``dOps``
or ``dfLa`` sample entry and the edit list hiding the encoder priming);
this module rewrites its ``ftyp`` with the CMAF brands and builds the media
segments itself from the packets, so each segment is cut exactly where the
ladder wants it:

    styp  (ISO/IEC 14496-12 section 8.16.2; brands cmfs, cmff, msdh)
    moof  mfhd + one traf (tfhd default-base-is-moof, tfdt v1, one trun)
    mdat  the packets, in order

One ``traf`` with one ``trun`` and a ``tfdt`` per fragment, and an edit list
that only skips media (the priming), are the ``cmfc`` structural brand's
constraints (ISO/IEC 23000-19 section 7). The parsers (:func:`iter_boxes`,
:func:`find_box`, :func:`read_header`, :func:`read_segment`) read back what a
player reads; the packager and the tests use them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import FormatError

__all__ = [
    "HEADER_BRANDS",
    "SEGMENT_BRANDS",
    "Header",
    "Segment",
    "brand_box",
    "cmaf_header",
    "find_box",
    "iter_boxes",
    "media_segment",
    "read_header",
    "read_segment",
]

#: ftyp of a CMAF header: CMAF structural brand cmfc (ISO/IEC 23000-19 section 7.2), ISOBMFF iso6.
HEADER_BRANDS = ("cmfc", ("cmfc", "iso6", "mp41"))
#: styp of a CMAF segment: cmfs (segment), cmff (fragment), msdh (DASH media segment, ISO/IEC 23009-1 6.3.4.2).
SEGMENT_BRANDS = ("cmfs", ("cmfs", "cmff", "msdh"))
#: Boxes holding only boxes (ISO/IEC 14496-12 section 8).
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf",
                         b"dinf", b"udta"})
#: Audio sample entries: 8-byte SampleEntry + 20-byte AudioSampleEntry fields before their child boxes.
_AUDIO_ENTRY_FIELDS = 28
#: tfhd flags: default-sample-flags-present (0x20) | default-base-is-moof (0x020000).
_TFHD_FLAGS = 0x020020
#: trun flags: data-offset (0x1) | sample-duration (0x100) | sample-size (0x200) present.
_TRUN_FLAGS = 0x000301
#: sample_depends_on = 2 (depends on no other sample): every audio sample is a sync sample (14496-12 8.8.3.1).
_AUDIO_SAMPLE_FLAGS = 0x02000000


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int, int]]:
    """Yield ``(type, offset, header_size, size)`` of each box in ``data[start:end]``.

    Raises
    ------
    FormatError
        If a box's size runs past ``end`` or is smaller than its header.

    Examples
    --------
    >>> data = brand_box("ftyp", *HEADER_BRANDS) + bytes.fromhex("00000008") + b"free"
    >>> [(kind, offset, size) for kind, offset, _, size in iter_boxes(data)]
    [(b'ftyp', 0, 28), (b'free', 28, 8)]
    """
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise FormatError(f"malformed ISOBMFF data: box {kind!r} at byte {offset} has size {size}")
        yield kind, offset, header, size
        offset += size
    if offset != end:
        raise FormatError(f"malformed ISOBMFF data: {end - offset} stray bytes at byte {offset}")


def _children(data: bytes, kind: bytes, offset: int, header: int, size: int) -> tuple[int, int]:
    start = offset + header
    if kind == b"stsd":
        start += 8  # FullBox header + entry_count
    elif kind in (b"mp4a", b"Opus", b"fLaC"):
        start += _AUDIO_ENTRY_FIELDS
    return start, offset + size


def find_box(data: bytes, path: str) -> tuple[int, int] | None:
    """The payload ``(start, end)`` of the first box at ``path`` (``"moov/trak/mdia/mdhd"``), or None."""
    start, end = 0, len(data)
    parts = [part.encode("latin-1") for part in path.split("/")]
    for depth, part in enumerate(parts):
        for kind, offset, header, size in iter_boxes(data, start, end):
            if kind == part:
                if depth == len(parts) - 1:
                    return offset + header, offset + size
                start, end = _children(data, kind, offset, header, size)
                break
        else:
            return None
    return None


def brand_box(kind: str, major: str, compatible: tuple[str, ...]) -> bytes:
    """An ``ftyp`` or ``styp`` box (same layout, ISO/IEC 14496-12 sections 4.3 and 8.16.2).

    Examples
    --------
    >>> box = brand_box("styp", *SEGMENT_BRANDS)
    >>> [(kind, size) for kind, _, _, size in iter_boxes(box)]
    [(b'styp', 28)]
    """
    payload = major.encode("ascii") + struct.pack(">I", 0) + b"".join(b.encode("ascii") for b in compatible)
    return struct.pack(">I4s", 8 + len(payload), kind.encode("ascii")) + payload


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


@dataclass(frozen=True)
class Header:
    """What a player learns from a CMAF header (``init.mp4``)."""

    #: ftyp major brand and compatible brands
    brands: tuple[str, ...]
    #: track_ID of the one track
    track_id: int
    #: mdhd timescale, Hz (the sample rate for audio)
    timescale: int
    #: sample entry four-character code: "mp4a", "Opus" or "fLaC"
    sample_entry: str
    #: channelcount of the AudioSampleEntry
    num_channels: int
    #: RFC 6381 codecs string: "mp4a.40.<object type>", "opus" or "flac"
    codecs: str
    #: media time the edit list starts presenting at (the priming skipped), timescale units; 0 without one
    edit_media_time: int
    #: Opus PreSkip from dOps (None for other codecs)
    opus_pre_skip: int | None

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in self.__dict__.items()}


def _aac_object_type(data: bytes, start: int, end: int) -> int:
    """Audio object type from an esds (ISO/IEC 14496-1 section 7.2.6.5; 14496-3 section 1.6.2.1)."""
    offset = start + 4  # FullBox header

    def descriptor(at: int) -> tuple[int, int, int]:
        tag, length, at = data[at], 0, at + 1
        for _ in range(4):
            byte = data[at]
            at += 1
            length = (length << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        return tag, length, at

    tag, _, offset = descriptor(offset)
    if tag != 0x03:
        raise FormatError(f"esds starts with descriptor tag {tag:#x}; expected ES_Descriptor (0x03)")
    flags = data[offset + 2]
    offset += 3 + (2 if flags & 0x80 else 0)
    if flags & 0x40:
        offset += 1 + data[offset]
    if flags & 0x20:
        offset += 2
    tag, _, offset = descriptor(offset)
    if tag != 0x04 or data[offset] != 0x40:
        raise FormatError("esds holds no MPEG-4 audio DecoderConfigDescriptor (objectTypeIndication 0x40)")
    tag, _, offset = descriptor(offset + 13)
    if tag != 0x05 or offset >= end:
        raise FormatError("esds holds no AudioSpecificConfig")
    object_type = data[offset] >> 3
    return 32 + (((data[offset] & 0x07) << 3) | (data[offset + 1] >> 5)) if object_type == 31 else object_type


def read_header(data: bytes) -> Header:
    """Parse a CMAF header (``ftyp`` + ``moov``) of one audio track.

    Raises
    ------
    FormatError
        If a box a player needs is missing.
    """
    ftyp = find_box(data, "ftyp")
    tkhd = find_box(data, "moov/trak/tkhd")
    mdhd = find_box(data, "moov/trak/mdia/mdhd")
    stsd = find_box(data, "moov/trak/mdia/minf/stbl/stsd")
    if ftyp is None or tkhd is None or mdhd is None or stsd is None:
        raise FormatError("not a CMAF header: ftyp, tkhd, mdhd or stsd is missing")
    brands = [data[ftyp[0]:ftyp[0] + 4]] + [data[i:i + 4] for i in range(ftyp[0] + 8, ftyp[1], 4)]
    version = data[tkhd[0]]
    track_id = struct.unpack_from(">I", data, tkhd[0] + (20 if version == 1 else 12))[0]
    version = data[mdhd[0]]
    timescale = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))[0]
    kind, offset, header, _size = next(iter_boxes(data, stsd[0] + 8, stsd[1]))
    num_channels = struct.unpack_from(">H", data, offset + header + 16)[0]
    pre_skip = None
    if kind == b"mp4a":
        esds = find_box(data, "moov/trak/mdia/minf/stbl/stsd/mp4a/esds")
        if esds is None:
            raise FormatError("mp4a sample entry has no esds")
        codecs = f"mp4a.40.{_aac_object_type(data, *esds)}"
    elif kind == b"Opus":
        dops = find_box(data, "moov/trak/mdia/minf/stbl/stsd/Opus/dOps")
        if dops is None:
            raise FormatError("Opus sample entry has no dOps (Opus in ISOBMFF section 4.3.2)")
        pre_skip = struct.unpack_from(">H", data, dops[0] + 2)[0]
        codecs = "opus"
    elif kind == b"fLaC":
        if find_box(data, "moov/trak/mdia/minf/stbl/stsd/fLaC/dfLa") is None:
            raise FormatError("fLaC sample entry has no dfLa (FLAC in ISOBMFF section 3.3.2)")
        codecs = "flac"
    else:
        raise FormatError(f"sample entry {kind!r} is not AAC, Opus or FLAC")
    edit_media_time = 0
    elst = find_box(data, "moov/trak/edts/elst")
    if elst is not None:
        version, count = data[elst[0]], struct.unpack_from(">I", data, elst[0] + 4)[0]
        entries = [struct.unpack_from(">Qq" if version == 1 else ">Ii", data, elst[0] + 8 + i * (20 if version == 1 else 12))
                   for i in range(count)]
        media = [media_time for _, media_time in entries if media_time >= 0]
        edit_media_time = media[0] if media else 0
    return Header(brands=tuple(b.decode("latin-1") for b in brands), track_id=track_id, timescale=timescale,
                  sample_entry=kind.decode("latin-1"), num_channels=num_channels, codecs=codecs,
                  edit_media_time=edit_media_time, opus_pre_skip=pre_skip)


def cmaf_header(init: bytes) -> bytes:
    """``init`` (ffmpeg's ``ftyp`` + ``moov``) with its ``ftyp`` replaced by :data:`HEADER_BRANDS`."""
    kinds = [(kind, offset, size) for kind, offset, _, size in iter_boxes(init)]
    if not kinds or kinds[0][0] != b"ftyp":
        raise FormatError("fragmented MP4 header does not start with ftyp")
    major, compatible = HEADER_BRANDS
    return brand_box("ftyp", major, compatible) + init[kinds[0][2]:]


def media_segment(*, sequence_number: int, track_id: int, base_media_decode_time: int,
                  durations: list[int], payloads: list[bytes]) -> bytes:
    """One CMAF segment: ``styp`` + ``moof`` (one ``traf``, one ``trun``) + ``mdat``.

    Parameters
    ----------
    sequence_number : int
        mfhd sequence number, from 1, increasing by segment.
    track_id : int
        The header's track_ID.
    base_media_decode_time : int
        tfdt: the media time of the first sample (priming included), timescale units.
    durations : list of int
        Each sample's duration, timescale units.
    payloads : list of bytes
        Each sample (codec packet).
    """
    count = len(payloads)
    trun_body = struct.pack(">Ii", count, 0) + b"".join(
        struct.pack(">II", duration, len(payload)) for duration, payload in zip(durations, payloads))

    def moof(data_offset: int) -> bytes:
        trun = _full_box(b"trun", 0, _TRUN_FLAGS, trun_body[:4] + struct.pack(">i", data_offset) + trun_body[8:])
        traf = _box(b"traf", _full_box(b"tfhd", 0, _TFHD_FLAGS, struct.pack(">II", track_id, _AUDIO_SAMPLE_FLAGS))
                    + _full_box(b"tfdt", 1, 0, struct.pack(">Q", base_media_decode_time)) + trun)
        return _box(b"moof", _full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number)) + traf)

    size = len(moof(0))
    major, compatible = SEGMENT_BRANDS
    mdat = b"".join(payloads)
    return brand_box("styp", major, compatible) + moof(size + 8) + struct.pack(">I4s", 8 + len(mdat), b"mdat") + mdat


@dataclass(frozen=True)
class Segment:
    """What a player learns from one CMAF segment."""

    #: styp major brand and compatible brands (empty without a styp)
    brands: tuple[str, ...]
    #: mfhd sequence number
    sequence_number: int
    #: tfdt baseMediaDecodeTime, timescale units
    base_media_decode_time: int
    #: each sample's duration, timescale units
    durations: tuple[int, ...]
    #: each sample's size, bytes
    sizes: tuple[int, ...]
    #: number of traf boxes, and of trun boxes in the first traf (cmfc: 1 and 1)
    traf_count: int
    trun_count: int


def read_segment(data: bytes, *, default_duration: int = 0) -> Segment:
    """Parse one CMAF segment (``[styp] moof mdat``), checking its trun's data offset lands in its mdat.

    Raises
    ------
    FormatError
        If the segment is not one moof followed by its mdat.
    """
    boxes = list(iter_boxes(data))
    brands: tuple[str, ...] = ()
    if boxes and boxes[0][0] == b"styp":
        start = boxes[0][1] + boxes[0][2]
        brands = tuple(data[i:i + 4].decode("latin-1") for i in [start, *range(start + 8, boxes[0][1] + boxes[0][3], 4)])
        boxes = boxes[1:]
    if [kind for kind, *_ in boxes] != [b"moof", b"mdat"]:
        raise FormatError(f"segment boxes are {[kind for kind, *_ in boxes]}; expected moof, mdat")
    (_, moof_offset, moof_header, moof_size), (_, mdat_offset, mdat_header, mdat_size) = boxes
    mfhd = find_box(data[moof_offset:moof_offset + moof_size], "moof/mfhd")
    trafs = [box for box in iter_boxes(data, moof_offset + moof_header, moof_offset + moof_size) if box[0] == b"traf"]
    if mfhd is None or not trafs:
        raise FormatError("moof without mfhd or traf")
    sequence = struct.unpack_from(">I", data, moof_offset + mfhd[0] + 4)[0]
    _, traf_offset, traf_header, traf_size = trafs[0]
    children = {kind: (offset + header, offset + size)
                for kind, offset, header, size in iter_boxes(data, traf_offset + traf_header, traf_offset + traf_size)}
    truns = [box for box in iter_boxes(data, traf_offset + traf_header, traf_offset + traf_size) if box[0] == b"trun"]
    if b"tfhd" not in children or b"tfdt" not in children or not truns:
        raise FormatError("traf without tfhd, tfdt or trun")
    tfhd = children[b"tfhd"][0]
    tfhd_flags = struct.unpack_from(">I", data, tfhd)[0] & 0xFFFFFF
    at = tfhd + 8 + (8 if tfhd_flags & 0x1 else 0) + (4 if tfhd_flags & 0x2 else 0)
    if tfhd_flags & 0x8:
        default_duration = struct.unpack_from(">I", data, at)[0]
        at += 4
    default_size = struct.unpack_from(">I", data, at)[0] if tfhd_flags & 0x10 else 0
    tfdt = children[b"tfdt"][0]
    base = struct.unpack_from(">Q" if data[tfdt] == 1 else ">I", data, tfdt + 4)[0]
    trun = truns[0][1] + truns[0][2]
    flags = struct.unpack_from(">I", data, trun)[0] & 0xFFFFFF
    count = struct.unpack_from(">I", data, trun + 4)[0]
    at = trun + 8
    data_offset = 0
    if flags & 0x1:
        data_offset = struct.unpack_from(">i", data, at)[0]
        at += 4
    if flags & 0x4:
        at += 4
    durations, sizes = [], []
    for _ in range(count):
        duration, size = default_duration, default_size
        if flags & 0x100:
            duration = struct.unpack_from(">I", data, at)[0]
            at += 4
        if flags & 0x200:
            size = struct.unpack_from(">I", data, at)[0]
            at += 4
        at += (4 if flags & 0x400 else 0) + (4 if flags & 0x800 else 0)
        durations.append(duration)
        sizes.append(size)
    base_offset = moof_offset if tfhd_flags & 0x020000 else 0
    if base_offset + data_offset != mdat_offset + mdat_header or sum(sizes) != mdat_size - mdat_header:
        raise FormatError("trun data offset or sample sizes do not match the mdat")
    return Segment(brands=brands, sequence_number=sequence, base_media_decode_time=base, durations=tuple(durations),
                   sizes=tuple(sizes), traf_count=len(trafs), trun_count=len(truns))
