"""Encoding one rendition: samples + rung -> file, with the source's tags carried over.

Encoding goes through :class:`audiokit.io.writer.AudioWriter`, which stamps
every frame with its pts (so the MP4 muxer writes the edit list hiding the
AAC priming), writes the LAME/Xing header of MP3s and the Opus pre-skip, and
renames the finished file into place.

Tags are data, never paths: they go into the container's metadata and
nowhere else. Keys are carried in their lower-case Vorbis comment spelling
(what :func:`audiokit.probe` reports); for MP4 and MP3 the MusicBrainz keys
take Picard's spelling (``MusicBrainz Track Id``), and keys ffmpeg's mp4
muxer does not know become iTunes freeform atoms (:mod:`.mp4tags`).

Cover art (:mod:`.cover`) goes into Opus as a ``METADATA_BLOCK_PICTURE``
comment through the muxer, and into FLAC, MP3 and M4A after encoding.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..io.writer import AudioWriter
from .cover import PICTURE_COMMENT_KEY, CoverArt, embed_cover_art, picture_comment
from .mp4tags import NATIVE_KEYS, add_ilst_atoms, cover_atom, freeform_atom
from .rungs import ResolvedRung

__all__ = ["LAME_SCALE", "PICTURE_TAG_KEYS", "STALE_TAG_PREFIXES", "add_metadata_after_muxing", "canonical_tags",
           "encode_blocks", "encode_rendition", "finish_rendition", "lame_scale", "muxer_metadata", "rendition_tags"]

#: Source tags that describe the source's encoding or loudness, not the content;
#: they are dropped (gain tags are recomputed for every rendition).
STALE_TAG_PREFIXES = ("replaygain_", "r128_", "encoder", "itunsmpb", "itunnorm", "itunes_cddb", "duration")
#: Vorbis comment (canonical) MusicBrainz keys -> Picard's ID3 TXXX / MP4 freeform names.
_MUSICBRAINZ_NAMES = {
    "musicbrainz_trackid": "MusicBrainz Track Id",
    "musicbrainz_releasetrackid": "MusicBrainz Release Track Id",
    "musicbrainz_albumid": "MusicBrainz Album Id",
    "musicbrainz_artistid": "MusicBrainz Artist Id",
    "musicbrainz_albumartistid": "MusicBrainz Album Artist Id",
    "musicbrainz_releasegroupid": "MusicBrainz Release Group Id",
    "musicbrainz_workid": "MusicBrainz Work Id",
}
_CANONICAL = {name.lower(): key for key, name in _MUSICBRAINZ_NAMES.items()}
#: LAME scales its input by this factor at each CBR bitrate (kbit/s), from the
#: "scale" column of abr_switch_map in LAME 3.100 presets.c (nearest bitrate
#: applies); measured here: -0.445 dB at 32-128 kbit/s, -0.26 dB at 192, 0 at 320.
#: The ladder divides the master by it so MP3 rungs keep the source's loudness.
LAME_SCALE = ((8, 0.95), (16, 0.95), (24, 0.95), (32, 0.95), (40, 0.95), (48, 0.95), (56, 0.95),
              (64, 0.95), (80, 0.95), (96, 0.95), (112, 0.95), (128, 0.95), (160, 0.95), (192, 0.97),
              (224, 0.98), (256, 1.0), (320, 1.0))
#: Source tags that hold pictures, not text: the picture is carried as cover art (:mod:`.cover`).
PICTURE_TAG_KEYS = (PICTURE_COMMENT_KEY.lower(), "coverart", "coverartmime")
#: Containers that keep any key as a Vorbis comment.
_VORBIS_COMMENT_CODECS = ("flac", "opus")


def canonical_tags(tags: dict) -> dict[str, str]:
    """Source tags with lower-case Vorbis comment keys; stale keys and pictures removed."""
    out = {}
    for key, value in tags.items():
        key = str(key).lower()
        key = _CANONICAL.get(key, key)
        if not key.startswith(STALE_TAG_PREFIXES) and key not in PICTURE_TAG_KEYS:
            out[key] = str(value)
    return out


def rendition_tags(tags: dict[str, str], codec: str) -> tuple[dict[str, str], dict[str, str]]:
    """Split canonical tags into (muxer metadata, MP4 freeform atoms) for ``codec``.

    Parameters
    ----------
    tags : dict of str to str
        Canonical tags (:func:`canonical_tags`) plus gain tags (upper case).
    codec : str
        The rung's codec.

    Returns
    -------
    metadata : dict of str to str
        Keys for ffmpeg's muxer.
    freeform : dict of str to str
        Keys to add as ``----:com.apple.iTunes:`` atoms (M4A only; else empty).
    """
    if codec in _VORBIS_COMMENT_CODECS:
        return dict(tags), {}
    named = {_MUSICBRAINZ_NAMES.get(key, key): value for key, value in tags.items()}
    if codec == "mp3":
        return named, {}
    metadata = {key: value for key, value in named.items() if key in NATIVE_KEYS}
    freeform = {key.upper() if key.islower() else key: value
                for key, value in named.items() if key not in NATIVE_KEYS}
    return metadata, freeform


def lame_scale(bitrate_bps: int) -> float:
    """The input scale LAME applies at ``bitrate_bps`` (:data:`LAME_SCALE`, nearest entry).

    Examples
    --------
    >>> lame_scale(128_000), lame_scale(192_000), lame_scale(320_000)
    (0.95, 0.97, 1.0)
    """
    kbps = bitrate_bps / 1000
    return min(LAME_SCALE, key=lambda entry: abs(entry[0] - kbps))[1]


def encode_rendition(samples: np.ndarray, resolved: ResolvedRung, path: Path, *, tags: dict[str, str],
                     cover: CoverArt | None = None) -> Path:
    """Encode ``samples`` (already at the rung's rate and channel count) to ``path``.

    Parameters
    ----------
    samples : np.ndarray [shape=(resolved.num_channels, frames), dtype=float32]
        The master for this rung: downmixed and resampled. MP3 rungs divide it
        by :func:`lame_scale` first, undoing LAME's level reduction.
    resolved : ResolvedRung
    path : pathlib.Path
        Destination; written atomically.
    tags : dict of str to str
        Canonical tags plus this rendition's gain tags. M4A freeform atoms are
        appended to the ``ilst`` that ffmpeg always writes (its encoder tag).
    cover : CoverArt, optional
        The source's picture, embedded as the front cover.

    Returns
    -------
    pathlib.Path
    """
    encode_blocks([samples], resolved, path, tags=tags, cover=cover)
    add_metadata_after_muxing(path, resolved.rung.codec, muxer_metadata(tags, resolved.rung.codec, cover)[1], cover)
    return path


def encode_blocks(blocks: Iterable[np.ndarray], resolved: ResolvedRung, path: Path, *, tags: dict[str, str],
                  cover: CoverArt | None = None) -> Path:
    """Encode a master arriving in blocks, with the tags its muxer writes; :func:`finish_rendition` adds the rest.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(resolved.num_channels, frames), dtype=float32]
        The master for this rung, in order: downmixed and resampled. MP3
        rungs divide it by :func:`lame_scale`, undoing LAME's level reduction.
    resolved : ResolvedRung
    path : pathlib.Path
        Destination; written atomically (nothing is left there if encoding or
        the blocks fail).
    tags : dict of str to str
        Canonical tags, plus gain tags when they are known before encoding.
    cover : CoverArt, optional
        Opus gets it here (a Vorbis comment); M4A freeform atoms and the cover
        of the other codecs come with :func:`finish_rendition`.

    Returns
    -------
    pathlib.Path
    """
    codec = resolved.rung.codec
    scale = np.float32(1.0 / lame_scale(resolved.lossy_bitrate_bps)) if codec == "mp3" else None
    with AudioWriter(path, resolved.sample_rate, resolved.num_channels, codec=resolved.rung.codec,
                     bitrate_bps=resolved.bitrate_bps, bit_depth=resolved.bit_depth,
                     tags=muxer_metadata(tags, codec, cover)[0]) as writer:
        for block in blocks:
            writer.write(block if scale is None else block * scale)
    return path


def finish_rendition(path: Path, resolved: ResolvedRung, *, tags: dict[str, str], written_tags: dict[str, str],
                     cover: CoverArt | None = None) -> Path:
    """Give a rendition :func:`encode_blocks` wrote its final tags and cover art.

    Parameters
    ----------
    path : pathlib.Path
    resolved : ResolvedRung
    tags : dict of str to str
        The final tags, e.g. with gain tags measured on the rendition itself.
    written_tags : dict of str to str
        The tags :func:`encode_blocks` was given. Where the muxer's share
        changed (Opus and MP3 keep gain tags there), the packets are remuxed
        unchanged with the new metadata; M4A gain tags are freeform atoms,
        added here in any case.
    cover : CoverArt, optional

    Returns
    -------
    pathlib.Path
    """
    codec = resolved.rung.codec
    metadata, freeform = muxer_metadata(tags, codec, cover)
    if metadata != muxer_metadata(written_tags, codec, cover)[0]:
        _remux_with_metadata(path, metadata)
    add_metadata_after_muxing(path, codec, freeform, cover)
    return path


def _remux_with_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Copy ``path``'s packets into a new file with ``metadata``, atomically (Ogg Opus, MP3, FLAC).

    Packets are copied, never re-encoded: decoding gives the same samples
    (the Opus pre-skip and end trim and the LAME/Xing gapless fields are
    kept; tests/transcode/test_ladder_qa.py checks it).
    """
    import av

    temp = path.with_name(f".{path.name}.retag")
    try:
        with av.open(str(path)) as source:
            stream = source.streams.audio[0]
            with av.open(str(temp), "w", format=source.format.name.split(",")[0],
                         options={"fflags": "+bitexact"}) as target:  # reproducible bytes, as AudioWriter
                out = target.add_stream_from_template(stream)
                for key, value in metadata.items():
                    target.metadata[key] = value
                for packet in source.demux(stream):
                    if packet.dts is None:  # the demuxer's final flush packet
                        continue
                    packet.stream = out
                    target.mux(packet)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def muxer_metadata(tags: dict[str, str], codec: str,
                   cover: CoverArt | None) -> tuple[dict[str, str], dict[str, str]]:
    """(metadata for ffmpeg's muxer, MP4 freeform atoms) for a file of ``codec`` with ``tags`` and ``cover``.

    Opus carries its picture as a Vorbis comment through the muxer; every other
    codec gets it from :func:`add_metadata_after_muxing`.
    """
    metadata, freeform = rendition_tags(tags, codec)
    if cover is not None and codec == "opus":
        metadata.update(picture_comment(cover))
    return metadata, freeform


def add_metadata_after_muxing(path: Path, codec: str, freeform: dict[str, str], cover: CoverArt | None) -> None:
    """Add what ffmpeg's muxer cannot write to a finished file: MP4 freeform atoms, and the cover picture."""
    if codec in ("aac", "alac"):  # MP4: freeform tags and cover in one rewrite
        atoms = b"".join(freeform_atom(name, value) for name, value in freeform.items())
        add_ilst_atoms(path, atoms + (cover_atom(cover.data, cover.mime_type) if cover is not None else b""))
    elif cover is not None and codec != "opus":
        embed_cover_art(path, cover, codec=codec)
