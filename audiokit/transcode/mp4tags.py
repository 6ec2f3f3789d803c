"""iTunes freeform tags (``----:com.apple.iTunes:NAME``) in M4A files.

ffmpeg's mp4/ipod muxer writes only the iTunes atoms it knows (title, artist,
album, ...) and drops every other key, or with ``use_metadata_tags`` writes
``mdta`` keys that iTunes, foobar2000 and Picard-style readers ignore.
ReplayGain, ISRC and MusicBrainz identifiers belong in freeform atoms:
``----`` boxes holding ``mean`` ("com.apple.iTunes"), ``name`` and ``data``
(type 1, UTF-8) children, inside ``moov/udta/meta/ilst``.

ffmpeg writes ``moov`` after ``mdat`` (no faststart), so growing ``moov``
moves no sample data and no chunk offset changes: the atoms are appended to
``ilst`` and the sizes of ``ilst``, ``meta``, ``udta`` and ``moov`` updated.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from ..errors import FormatError

__all__ = ["NATIVE_KEYS", "add_freeform_tags", "freeform_atom"]

#: Keys ffmpeg's mp4 muxer maps to standard iTunes atoms itself.
NATIVE_KEYS = frozenset({
    "title", "artist", "author", "album_artist", "album", "composer", "copyright", "comment",
    "genre", "date", "grouping", "lyrics", "description", "synopsis", "show", "episode_id",
    "network", "keywords", "track", "disc", "compilation", "gapless_playback", "encoder",
    "sort_name", "sort_artist", "sort_album_artist", "sort_album", "sort_composer", "sort_show",
})
_MEAN = b"com.apple.iTunes"
_HEADER = struct.Struct(">I4s")
_UTF8_DATA_TYPE = 1


def _box(kind: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(_HEADER.size + len(payload), kind) + payload


def freeform_atom(name: str, value: str) -> bytes:
    """One ``----`` atom: ``mean`` + ``name`` + ``data`` (UTF-8, locale 0)."""
    return _box(b"----", b"".join((
        _box(b"mean", b"\0\0\0\0" + _MEAN),
        _box(b"name", b"\0\0\0\0" + name.encode("utf-8")),
        _box(b"data", struct.pack(">II", _UTF8_DATA_TYPE, 0) + value.encode("utf-8")),
    )))


def _children(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """``{kind: (offset, size)}`` of the boxes in ``data[start:end]``."""
    found = {}
    while start + _HEADER.size <= end:
        size, kind = _HEADER.unpack_from(data, start)
        if size < _HEADER.size or start + size > end:
            raise FormatError(f"malformed MP4 box {kind!r} at byte {start}")
        found.setdefault(kind, (start, size))
        start += size
    return found


def add_freeform_tags(path, tags: dict[str, str]) -> None:
    """Append ``----:com.apple.iTunes:KEY`` atoms for ``tags`` to an M4A written by ffmpeg.

    Parameters
    ----------
    path : str or os.PathLike
        A file ffmpeg's mp4/ipod muxer wrote with at least one tag (so that
        ``moov/udta/meta/ilst`` exists), ``moov`` last. Rewritten in place:
        call it on a temporary file before it is renamed into place.
    tags : dict of str to str
        Freeform name -> value, e.g. ``{"REPLAYGAIN_TRACK_GAIN": "-4.00 dB"}``.

    Raises
    ------
    FormatError
        If ``moov`` is not the last top-level box or ``ilst`` is missing.
    """
    if not tags:
        return
    path = Path(os.fspath(path))
    data = path.read_bytes()
    top = _children(data, 0, len(data))
    if b"moov" not in top or sum(top[b"moov"]) != len(data):
        raise FormatError(f"{path}: moov is not the last box; freeform tags need it there")
    chain = [top[b"moov"]]
    for kind, skip in ((b"udta", 8), (b"meta", 8), (b"ilst", 12)):
        offset, size = chain[-1]
        boxes = _children(data, offset + skip, offset + size)
        if kind not in boxes:
            raise FormatError(f"{path}: no {kind.decode()} box; write at least one standard tag first")
        chain.append(boxes[kind])
    atoms = b"".join(freeform_atom(name, value) for name, value in tags.items())
    patched = bytearray(data)
    for offset, size in chain:  # moov, udta, meta, ilst: all end where moov ends
        struct.pack_into(">I", patched, offset, size + len(atoms))
    ilst_offset, ilst_size = chain[-1]
    end = ilst_offset + ilst_size
    if end != len(data):
        raise FormatError(f"{path}: ilst is not the last box of moov; cannot append tags")
    with path.open("r+b") as handle:
        handle.seek(chain[0][0])
        handle.write(patched[chain[0][0]:])
        handle.write(atoms)
