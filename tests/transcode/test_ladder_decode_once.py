"""QA decodes each rendition once: the probe's decode feeds the analysis, trimmed to the exact length."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _ladder_signals import music

import audiokit
from audiokit._arrays import BLOCK_FRAMES
from audiokit.errors import FormatError
from audiokit.transcode import build_ladder
from audiokit.transcode.ladder import _LENGTH_HOLDBACK_FRAMES, _HeldBack
from audiokit.transcode.rungs import Rung

RUNGS = [Rung("opus-96", "opus", bitrate_bps=96_000), Rung("aac-128", "aac", bitrate_bps=128_000),
         Rung("alac", "alac"), Rung("mp3-128", "mp3", bitrate_bps=128_000), Rung("flac", "flac")]


def _chunks(samples: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """``samples`` cut at random points, as a decoder hands frames over (960 to 4096 frames, and odd ones)."""
    cuts = np.cumsum(rng.integers(1, 4097, size=samples.shape[1] // 500 + 2))
    return [part for part in np.split(samples, cuts[cuts < samples.shape[1]], axis=1) if part.shape[1]]


@pytest.mark.parametrize("trim", [0, 1, 1023, 2048, _LENGTH_HOLDBACK_FRAMES])
def test_held_back_frames_pass_on_in_blocks_up_to_the_length(rng, tmp_path, trim):
    samples = rng.standard_normal((2, 3 * BLOCK_FRAMES + 12345)).astype(np.float32)
    received: list[np.ndarray] = []
    held = _HeldBack(tmp_path / "r.m4a", received.append)
    for chunk in _chunks(samples, rng):
        held.process(chunk)
    held.finish(samples.shape[1] - trim)
    assert all(block.shape[1] == BLOCK_FRAMES for block in received[:-1])
    np.testing.assert_array_equal(np.concatenate(received, axis=1), samples[:, :samples.shape[1] - trim])


def test_a_trim_longer_than_the_held_back_frames_and_nan_are_format_errors(rng, tmp_path):
    samples = rng.standard_normal((1, 2 * BLOCK_FRAMES + 2 * _LENGTH_HOLDBACK_FRAMES)).astype(np.float32)
    held = _HeldBack(tmp_path / "r.m4a", lambda block: None)
    for chunk in _chunks(samples, rng):
        held.process(chunk)
    with pytest.raises(FormatError, match="r.m4a: its edit list trims the decode"):
        held.finish(BLOCK_FRAMES - 1)
    broken = samples[:, :1000].copy()
    broken[0, 10] = np.nan
    with pytest.raises(FormatError, match="NaN or infinite"):
        _HeldBack(tmp_path / "r.m4a", lambda block: None).process(broken)


def test_each_rendition_is_decoded_once_and_matches_a_separate_read(tmp_path, monkeypatch):
    source = tmp_path / "master.wav"
    audiokit.write(source, audiokit.Audio(music(44100, duration_s=4.1234), 44100), bit_depth=24)
    probe_module = sys.modules["audiokit.io.probe"]
    decoded: list[str] = []
    count_decodes = probe_module._decode_count

    def counting(path, *args, **kwargs):
        decoded.append(path.name)
        return count_decodes(path, *args, **kwargs)

    monkeypatch.setattr(probe_module, "_decode_count", counting)
    result = build_ladder(source, tmp_path / "out", rungs=RUNGS, qa="fast")
    monkeypatch.undo()
    assert sorted(decoded) == sorted(r.path for r in result.renditions)  # once each
    for rendition in result.renditions:
        path = tmp_path / "out" / rendition.path
        info = audiokit.probe(path)  # a fresh decode of the retagged file
        assert (info.num_frames, info.sample_rate, info.num_channels, info.bitrate_bps) == (
            rendition.num_frames, rendition.sample_rate, rendition.num_channels, rendition.measured_bitrate_bps)
        assert rendition.qa is not None and rendition.qa.passed, rendition.qa
        assert rendition.qa.num_frames == info.num_frames


def test_mp4_renditions_are_decoded_back_holding_the_mp4_index_lock(tmp_path, monkeypatch):
    """One MP4 sample index in memory at a time: an AAC or ALAC rendition's decode-back holds the lock the MP4
    muxer holds while it finishes a file."""
    from audiokit.io._packet_spill import MP4_INDEX_LOCK

    source = tmp_path / "master.wav"
    audiokit.write(source, audiokit.Audio(music(44100, duration_s=3.0), 44100), bit_depth=24)
    probe_module = sys.modules["audiokit.io.probe"]
    held: dict[str, bool] = {}
    count_decodes = probe_module._decode_count

    def noting(path, *args, **kwargs):
        held[path.name] = MP4_INDEX_LOCK.locked()
        return count_decodes(path, *args, **kwargs)

    monkeypatch.setattr(probe_module, "_decode_count", noting)
    build_ladder(source, tmp_path / "out", rungs=RUNGS, qa="fast", max_workers=1)
    assert sorted(held) == ["aac-128.m4a", "alac.m4a", "flac.flac", "mp3-128.mp3", "opus-96.opus"]
    assert held["aac-128.m4a"] and held["alac.m4a"]

