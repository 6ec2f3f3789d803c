"""Cover art: read the source's attached picture, embed it in every rendition.

ffmpeg's demuxers expose an embedded picture (FLAC PICTURE block, ID3v2 APIC,
MP4 ``covr``, Ogg ``METADATA_BLOCK_PICTURE``) as a video stream with the
``attached_pic`` disposition holding one packet: the image file's bytes.
:func:`read_cover_art` returns those bytes, unchanged, and
:func:`embed_cover_art` writes them into a finished rendition in each
container's own convention:

- FLAC: a PICTURE metadata block (RFC 9639 section 8.8), before the padding;
- MP3: an ID3v2 ``APIC`` frame (ID3v2.4 section 4.14, v2.3 section 4.15),
  appended to the tag ffmpeg wrote (or a new ID3v2.4 tag);
- M4A (AAC, ALAC): a ``covr`` atom in ``moov/udta/meta/ilst`` (:mod:`.mp4tags`);
- Ogg Opus: a ``METADATA_BLOCK_PICTURE`` Vorbis comment holding the base64
  PICTURE block (RFC 7845 section 5.2 defers to the Vorbis convention); this
  one goes through the muxer as a tag (:func:`picture_comment`).

Rewrites are atomic: the new file is written beside the old one under a
temporary name and renamed over it. Picture bytes and the source's tags are
data only; no path is ever built from them.
"""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from .._files import write_atomically
from ..errors import FormatError

__all__ = ["MAX_COVER_BYTES", "PICTURE_COMMENT_KEY", "CoverArt", "embed_cover_art", "picture_block",
           "picture_comment", "read_cover_art"]

#: The largest picture carried: a FLAC metadata block's length is 24 bits, and the
#: PICTURE block adds 32 bytes plus the MIME type to the image.
MAX_COVER_BYTES = (1 << 24) - 1 - 64
#: The Vorbis comment key of a base64 FLAC PICTURE block (Ogg Opus, Ogg Vorbis).
PICTURE_COMMENT_KEY = "METADATA_BLOCK_PICTURE"
#: ID3v2 / FLAC picture type "Cover (front)".
FRONT_COVER = 3
#: Image signatures -> MIME type, and MP4 ``data`` atom type codes (QuickTime well-known types).
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"BM", "image/bmp"))
_FLAC_MAGIC = b"fLaC"
_FLAC_PICTURE, _FLAC_PADDING, _FLAC_LAST = 6, 1, 0x80
_ID3_HEADER = struct.Struct(">3sBBBI")  # "ID3", major, revision, flags, syncsafe size
_ID3_FRAME = struct.Struct(">4sIH")  # id, size, flags
_ID3_UNSYNC, _ID3_EXTENDED = 0x80, 0x40
_ID3_UTF8, _ID3_LATIN1 = 3, 0
#: JPEG start-of-frame markers (ITU T.81 table B.1): SOF0-SOF15 less DHT, JPG, DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class CoverArt:
    """An embedded picture: the image file's bytes and what FLAC/ID3/MP4 record of it."""

    #: the image file (JPEG, PNG, GIF or BMP), byte for byte as the source held it
    data: bytes
    #: "image/jpeg", "image/png", "image/gif" or "image/bmp"
    mime_type: str
    #: pixels (0 when the header could not be read)
    width: int
    #: pixels (0 when the header could not be read)
    height: int
    #: bits per pixel (0 when unknown)
    depth: int

    @classmethod
    def of(cls, data: bytes) -> "CoverArt | None":
        """Describe ``data`` from its header; None when it is not a JPEG, PNG, GIF or BMP."""
        mime = next((mime for magic, mime in _SIGNATURES if data.startswith(magic)), None)
        if mime is None:
            return None
        width, height, depth = _dimensions(data, mime)
        return cls(bytes(data), mime, width, height, depth)


def _dimensions(data: bytes, mime: str) -> tuple[int, int, int]:
    """(width, height, bits per pixel) from the image header; zeros when unreadable."""
    try:
        if mime == "image/png":  # IHDR: width, height, bit depth, colour type (PNG spec 11.2.2)
            width, height, bits, colour = struct.unpack_from(">IIBB", data, 16)
            return width, height, bits * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 1)
        if mime == "image/gif":
            width, height = struct.unpack_from("<HH", data, 6)
            return width, height, 8
        if mime == "image/bmp":
            width, height, _, bits = struct.unpack_from("<iiHH", data, 18)
            return abs(width), abs(height), bits
        offset = 2  # JPEG: walk the marker segments to the first SOFn
        while offset + 9 < len(data):
            if data[offset] != 0xFF:
                break
            marker = data[offset + 1]
            (length,) = struct.unpack_from(">H", data, offset + 2)
            if marker in _JPEG_SOF:
                bits, height, width, components = struct.unpack_from(">BHHB", data, offset + 4)
                return width, height, bits * components
            offset += 2 + length
    except struct.error:
        pass
    return 0, 0, 0


def read_cover_art(path: str | os.PathLike[str]) -> CoverArt | None:
    """The first attached picture of a media file (the front cover when labelled).

    Parameters
    ----------
    path : str or os.PathLike
        Any file ffmpeg opens. A file ffmpeg cannot open (or gone since it was
        probed) has no cover art as far as the ladder is concerned.

    Returns
    -------
    CoverArt or None
        None without an attached picture, or when its bytes are not a JPEG,
        PNG, GIF or BMP image, or larger than :data:`MAX_COVER_BYTES`.
    """
    import av

    try:
        container = av.open(os.fspath(path), metadata_errors="replace")
    except (av.FFmpegError, OSError):
        return None
    with container:
        pictures = [s for s in container.streams.video if av.stream.Disposition.attached_pic in s.disposition]
        if not pictures:
            return None
        # ffmpeg labels the picture type in the stream's "comment" ("Cover (front)").
        pictures.sort(key=lambda s: s.metadata.get("comment", "").lower() != "cover (front)")
        try:
            for packet in container.demux(pictures[0]):
                if packet.size:
                    data = bytes(packet)
                    return CoverArt.of(data) if len(data) <= MAX_COVER_BYTES else None
        except av.FFmpegError:
            return None
    return None


def picture_block(cover: CoverArt) -> bytes:
    """The body of a FLAC PICTURE block (RFC 9639 section 8.8): front cover, no description."""
    mime = cover.mime_type.encode("ascii")
    return b"".join((
        struct.pack(">II", FRONT_COVER, len(mime)), mime,
        struct.pack(">I", 0),  # description length (UTF-8): empty
        struct.pack(">IIIII", cover.width, cover.height, cover.depth, 0, len(cover.data)),  # 0 colours: not indexed
        cover.data,
    ))


def picture_comment(cover: CoverArt) -> dict[str, str]:
    """``{METADATA_BLOCK_PICTURE: base64 PICTURE block}``, the Vorbis comment for Ogg Opus."""
    return {PICTURE_COMMENT_KEY: base64.b64encode(picture_block(cover)).decode("ascii")}


def _flac_with_picture(data: bytes, cover: CoverArt, name: str) -> bytes:
    """Insert a PICTURE block before the first PADDING block (else after the last block)."""
    if not data.startswith(_FLAC_MAGIC):
        raise FormatError(f"{name}: not a FLAC file; cannot add its cover art")
    offset, blocks = len(_FLAC_MAGIC), []
    while True:
        if offset + 4 > len(data):
            raise FormatError(f"{name}: FLAC metadata ends early at byte {offset}")
        header, length = data[offset], int.from_bytes(data[offset + 1:offset + 4], "big")
        blocks.append((header & 0x7F, data[offset + 4:offset + 4 + length]))
        offset += 4 + length
        if header & _FLAC_LAST:
            break
    insert_at = next((i for i, (kind, _) in enumerate(blocks) if kind == _FLAC_PADDING), len(blocks))
    blocks.insert(insert_at, (_FLAC_PICTURE, picture_block(cover)))
    out = [_FLAC_MAGIC]
    for index, (kind, body) in enumerate(blocks):
        last = _FLAC_LAST if index == len(blocks) - 1 else 0
        out.append(bytes([kind | last]) + len(body).to_bytes(3, "big") + body)
    out.append(data[offset:])
    return b"".join(out)


def _syncsafe(value: int) -> int:
    return sum(((value >> (7 * i)) & 0x7F) << (8 * i) for i in range(4))


def _unsyncsafe(value: int) -> int:
    return sum(((value >> (8 * i)) & 0x7F) << (7 * i) for i in range(4))


def _mp3_with_picture(data: bytes, cover: CoverArt, name: str) -> bytes:
    """Append an APIC frame to the file's ID3v2.3/2.4 tag (or prepend a new v2.4 tag)."""
    major, frames, rest = 4, b"", data
    if data.startswith(b"ID3"):
        _, major, _, flags, size = _ID3_HEADER.unpack_from(data)
        if major not in (3, 4) or flags & (_ID3_UNSYNC | _ID3_EXTENDED):
            raise FormatError(f"{name}: ID3v2.{major} tag with flags {flags:#x}; cannot add cover art to it")
        size = _unsyncsafe(size)
        body, rest = data[_ID3_HEADER.size:_ID3_HEADER.size + size], data[_ID3_HEADER.size + size:]
        offset = 0
        while offset + _ID3_FRAME.size <= len(body) and body[offset] != 0:  # a zero byte starts the padding
            _, frame_size, _ = _ID3_FRAME.unpack_from(body, offset)
            offset += _ID3_FRAME.size + (_unsyncsafe(frame_size) if major == 4 else frame_size)
        frames = body[:offset]
    mime = cover.mime_type.encode("ascii")
    encoding = _ID3_UTF8 if major == 4 else _ID3_LATIN1  # empty description: one terminator byte either way
    payload = bytes([encoding]) + mime + b"\0" + bytes([FRONT_COVER]) + b"\0" + cover.data
    frame_size = _syncsafe(len(payload)) if major == 4 else len(payload)
    frames += _ID3_FRAME.pack(b"APIC", frame_size, 0) + payload
    if len(frames) >= 1 << 28:
        raise FormatError(f"{name}: an ID3v2 tag of {len(frames)} bytes is over the format's 256 MiB")
    return _ID3_HEADER.pack(b"ID3", major, 0, 0, _syncsafe(len(frames))) + frames + rest


def embed_cover_art(path: str | os.PathLike[str], cover: CoverArt, *, codec: str) -> None:
    """Add ``cover`` to a finished FLAC, MP3 or M4A (AAC/ALAC) rendition, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The rendition, as :class:`~audiokit.io.writer.AudioWriter` wrote it.
    cover : CoverArt
    codec : str
        The rung's codec: "flac", "mp3", "aac" or "alac". Opus carries its
        picture as a Vorbis comment written by the muxer (:func:`picture_comment`).

    Raises
    ------
    FormatError
        If the file's metadata is not laid out as ffmpeg writes it.
    """
    from .mp4tags import add_ilst_atoms, cover_atom

    path = Path(os.fspath(path))
    if codec in ("aac", "alac"):
        add_ilst_atoms(path, cover_atom(cover.data, cover.mime_type))
        return
    data = path.read_bytes()
    if codec == "flac":
        write_atomically(path, _flac_with_picture(data, cover, str(path)))
    elif codec == "mp3":
        write_atomically(path, _mp3_with_picture(data, cover, str(path)))
    else:
        raise FormatError(f"{path}: codec {codec!r} carries its cover art as a tag; use picture_comment()")
