"""iTunes freeform tags (``----:com.apple.iTunes:NAME``) and cover art (``covr``) in M4A files.

ffmpeg's mp4/ipod muxer writes only the iTunes atoms it knows (title, artist,
album, ...) and drops every other key, or with ``use_metadata_tags`` writes
``mdta`` keys that iTunes, foobar2000 and Picard-style readers ignore.
ReplayGain, ISRC and MusicBrainz identifiers belong in freeform atoms:
``----`` boxes holding ``mean`` ("com.apple.iTunes"), ``name`` and ``data``
(type 1, UTF-8) children, inside ``moov/udta/meta/ilst``.

Cover art is a ``covr`` box holding one ``data`` child whose type is 13
(JPEG), 14 (PNG), 12 (GIF) or 27 (BMP), followed by the image bytes.

ffmpeg writes ``moov`` after ``mdat`` (no faststart), so growing ``moov``
moves no sample data and no chunk offset changes: the atoms are appended to
``ilst`` and the sizes of ``ilst``, ``meta``, ``udta`` and ``moov`` updated.
The patched file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import struct
import uuid
from pathlib import Path
from typing import BinaryIO

from ..errors import FormatError

__all__ = ["NATIVE_KEYS", "add_freeform_tags", "add_ilst_atoms", "cover_atom", "freeform_atom"]

#: Keys ffmpeg's mp4 muxer maps to standard iTunes atoms itself.
NATIVE_KEYS = frozenset({
    "title", "artist", "author", "album_artist", "album", "composer", "copyright", "comment",
    "genre", "date", "grouping", "lyrics", "description", "synopsis", "show", "episode_id",
    "network", "keywords", "track", "disc", "compilation", "gapless_playback", "encoder",
    "sort_name", "sort_artist", "sort_album_artist", "sort_album", "sort_composer", "sort_show",
})
_MEAN = b"com.apple.iTunes"
_HEADER = struct.Struct(">I4s")
#: Bytes copied at a time when rewriting a file around its new moov.
_COPY_CHUNK_BYTES = 1 << 20
_UTF8_DATA_TYPE = 1
#: ``data`` atom type codes of images (QuickTime File Format, "Well-known types").
_IMAGE_DATA_TYPES = {"image/jpeg": 13, "image/png": 14, "image/gif": 12, "image/bmp": 27}


def _box(kind: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(_HEADER.size + len(payload), kind) + payload


def freeform_atom(name: str, value: str) -> bytes:
    """One ``----`` atom: ``mean`` + ``name`` + ``data`` (UTF-8, locale 0)."""
    return _box(b"----", b"".join((
        _box(b"mean", b"\0\0\0\0" + _MEAN),
        _box(b"name", b"\0\0\0\0" + name.encode("utf-8")),
        _box(b"data", struct.pack(">II", _UTF8_DATA_TYPE, 0) + value.encode("utf-8")),
    )))


def cover_atom(image: bytes, mime_type: str) -> bytes:
    """One ``covr`` atom holding ``image`` (JPEG, PNG, GIF or BMP bytes).

    Raises
    ------
    FormatError
        If ``mime_type`` is not one of those four.
    """
    if mime_type not in _IMAGE_DATA_TYPES:
        raise FormatError(f"cover art is {mime_type}; M4A carries {', '.join(_IMAGE_DATA_TYPES)}")
    return _box(b"covr", _box(b"data", struct.pack(">II", _IMAGE_DATA_TYPES[mime_type], 0) + image))


def _children(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """``{kind: (offset, size)}`` of the boxes in ``data[start:end]``."""
    found: dict[bytes, tuple[int, int]] = {}
    while start + _HEADER.size <= end:
        size, kind = _HEADER.unpack_from(data, start)
        if size < _HEADER.size or start + size > end:
            raise FormatError(f"malformed MP4 box {kind!r} at byte {start}")
        found.setdefault(kind, (start, size))
        start += size
    return found


def add_freeform_tags(path: str | os.PathLike[str], tags: dict[str, str]) -> None:
    """Append ``----:com.apple.iTunes:KEY`` atoms for ``tags`` to an M4A written by ffmpeg.

    Parameters
    ----------
    path : str or os.PathLike
        See :func:`add_ilst_atoms`.
    tags : dict of str to str
        Freeform name -> value, e.g. ``{"REPLAYGAIN_TRACK_GAIN": "-4.00 dB"}``.
    """
    if tags:
        add_ilst_atoms(path, b"".join(freeform_atom(name, value) for name, value in tags.items()))


def add_ilst_atoms(path: str | os.PathLike[str], atoms: bytes) -> None:
    """Append metadata atoms (:func:`freeform_atom`, :func:`cover_atom`) to an M4A's ``ilst``.

    Parameters
    ----------
    path : str or os.PathLike
        A file ffmpeg's mp4/ipod muxer wrote with at least one tag (so that
        ``moov/udta/meta/ilst`` exists), ``moov`` last. Replaced atomically
        (temporary file + rename).
    atoms : bytes
        Complete atoms, concatenated.

    Raises
    ------
    FormatError
        If ``moov`` is not the last top-level box or ``ilst`` is missing.
    """
    if not atoms:
        return
    path = Path(os.fspath(path))
    with open(path, "rb") as handle:  # only moov is read: the media data (any length) is copied in chunks
        file_size = handle.seek(0, os.SEEK_END)
        moov_offset = _top_level_offset(handle, file_size, b"moov")
        if moov_offset is None:
            raise FormatError(f"{path}: moov is not the last box; metadata atoms need it there")
        handle.seek(moov_offset)
        data = handle.read()
    top = _children(data, 0, len(data))
    if b"moov" not in top or sum(top[b"moov"]) != len(data):
        raise FormatError(f"{path}: moov is not the last box; metadata atoms need it there")
    chain = [top[b"moov"]]
    for kind, skip in ((b"udta", 8), (b"meta", 8), (b"ilst", 12)):
        offset, size = chain[-1]
        boxes = _children(data, offset + skip, offset + size)
        if kind not in boxes:
            raise FormatError(f"{path}: no {kind.decode()} box; write at least one standard tag first")
        chain.append(boxes[kind])
    ilst_offset, ilst_size = chain[-1]
    if ilst_offset + ilst_size != len(data):
        raise FormatError(f"{path}: ilst is not the last box of moov; cannot append atoms")
    if chain[0][1] + len(atoms) >= 1 << 32:
        raise FormatError(f"{path}: moov would exceed 4 GiB with {len(atoms)} more bytes of metadata")
    patched = bytearray(data)
    for offset, size in chain:  # moov, udta, meta, ilst: all end where moov ends
        struct.pack_into(">I", patched, offset, size + len(atoms))
    patched += atoms
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with open(path, "rb") as source, open(temp, "wb") as target:
            remaining = moov_offset
            while remaining:
                chunk = source.read(min(remaining, _COPY_CHUNK_BYTES))
                target.write(chunk)
                remaining -= len(chunk)
            target.write(patched)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _top_level_offset(handle: BinaryIO, file_size: int, kind: bytes) -> int | None:
    """Offset of the top-level box ``kind`` when it is the file's last box, read header by header; else None."""
    offset = 0
    while offset + _HEADER.size <= file_size:
        handle.seek(offset)
        size, found = _HEADER.unpack(handle.read(_HEADER.size))
        if size < _HEADER.size:
            raise FormatError(f"malformed MP4 box {found!r} at byte {offset}")
        if found == kind:
            return offset if offset + size == file_size else None
        offset += size
    return None
