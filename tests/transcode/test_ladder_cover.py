"""Cover art carries over: every rendition holds the source's picture, byte for byte."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction

import numpy as np
import pytest
from _ladder_signals import music

import audiokit
from audiokit.transcode import build_ladder, read_cover_art
from audiokit.transcode.cover import CoverArt, embed_cover_art, picture_block

ALL_CODECS = [{"name": "o", "codec": "opus", "bitrate_bps": 96000}, {"name": "a", "codec": "aac", "bitrate_bps": 128000},
              {"name": "m", "codec": "mp3", "bitrate_bps": 128000}, {"name": "f", "codec": "flac"},
              {"name": "l", "codec": "alac"}]


def _png(width: int = 7, height: int = 5) -> bytes:
    """A tiny valid RGB PNG built by hand (PNG spec: signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + b"".join(bytes((x * 36 % 256, y * 50 % 256, 128)) for x in range(width))
                    for y in range(height))  # filter byte 0, then RGB pixels
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _jpeg() -> bytes:
    """A small JPEG from ffmpeg's mjpeg encoder."""
    import av

    context = av.CodecContext.create("mjpeg", "w")
    context.width, context.height, context.pix_fmt = 16, 8, "yuvj420p"
    context.time_base = Fraction(1, 25)
    image = np.zeros((8, 16, 3), np.uint8)
    image[..., 0] = np.arange(16) * 15
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuvj420p")
    return b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode(None)])


def _source(tmp_path, fmt: str, image: bytes):
    path = tmp_path / f"source.{fmt}"
    options = {"flac": {"bit_depth": 24}, "mp3": {"bitrate_bps": 320_000}, "m4a": {"bitrate_bps": 320_000}}[fmt]
    audiokit.write(path, audiokit.Audio(music(44100, duration_s=1.5), 44100), tags={"title": "Song"}, **options)
    embed_cover_art(path, CoverArt.of(image), codec={"flac": "flac", "mp3": "mp3", "m4a": "aac"}[fmt])
    return path


def test_png_and_jpeg_headers_are_read():
    png = CoverArt.of(_png(7, 5))
    assert (png.mime_type, png.width, png.height, png.depth) == ("image/png", 7, 5, 24)
    jpeg = CoverArt.of(_jpeg())
    assert (jpeg.mime_type, jpeg.width, jpeg.height, jpeg.depth) == ("image/jpeg", 16, 8, 24)
    assert CoverArt.of(b"not an image") is None


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a"])
def test_every_rendition_carries_the_source_cover(tmp_path, fmt):
    image = _png() if fmt != "m4a" else _jpeg()
    source = _source(tmp_path, fmt, image)
    assert read_cover_art(source).data == image
    result = build_ladder(source, tmp_path / "out", rungs=ALL_CODECS)
    assert result.failures == ()
    for rendition in result.renditions:
        path = tmp_path / "out" / rendition.path
        assert rendition.has_cover_art, rendition.name
        cover = read_cover_art(path)  # ffmpeg's demuxer: an attached_pic stream holding the bytes
        assert cover is not None and cover.data == image, rendition.name
        assert audiokit.probe(path).tags["title"] == "Song", rendition.name
        assert audiokit.read(path).num_frames == rendition.num_frames, rendition.name
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [r.path for r in result.renditions] + ["ladder.json"])


def test_audio_source_takes_cover_from_source_info(tmp_path):
    image = _png()
    source = _source(tmp_path, "mp3", image)
    audio, info = audiokit.read(source), audiokit.probe(source)
    result = build_ladder(audio, tmp_path / "out", rungs=ALL_CODECS[:1], source_info=info)
    assert read_cover_art(tmp_path / "out" / result.renditions[0].path).data == image
    plain = build_ladder(audio, tmp_path / "plain", rungs=ALL_CODECS[:1])
    assert not plain.renditions[0].has_cover_art
    assert read_cover_art(tmp_path / "plain" / plain.renditions[0].path) is None


def test_no_cover_no_picture(tmp_path):
    source = tmp_path / "source.wav"
    audiokit.write(source, audiokit.Audio(music(48000, duration_s=1.2), 48000))
    result = build_ladder(source, tmp_path / "out", rungs=ALL_CODECS)
    for rendition in result.renditions:
        assert not rendition.has_cover_art
        assert read_cover_art(tmp_path / "out" / rendition.path) is None


def test_flac_picture_block_layout():
    cover = CoverArt.of(_png(3, 2))
    block = picture_block(cover)
    picture_type, mime_length = struct.unpack_from(">II", block)
    assert picture_type == 3 and block[8:8 + mime_length] == b"image/png"
    width, height, depth, colours, length = struct.unpack_from(">IIIII", block, 8 + mime_length + 4)
    assert (width, height, depth, colours, length) == (3, 2, 24, 0, len(cover.data))
    assert block.endswith(cover.data)


def test_probe_reports_cover_art(tmp_path):
    source = _source(tmp_path, "mp3", _png())
    result = build_ladder(source, tmp_path / "out", rungs=ALL_CODECS)
    assert all(audiokit.probe(tmp_path / "out" / r.path).has_cover_art for r in result.renditions)
