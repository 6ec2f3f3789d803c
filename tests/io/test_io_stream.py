"""Streaming reads equal whole-file reads, for any block size and with resampling."""

from __future__ import annotations

import numpy as np
import pytest

import audiokit
from audiokit.errors import ParameterError
from audiokit.io.resample import resample


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    generator = np.random.default_rng(7)
    samples = (0.3 * generator.standard_normal((2, 100_003))).clip(-1, 1).astype(np.float32)
    audio = audiokit.Audio(samples, 44100)
    return {ext: audiokit.write(folder / f"s.{ext}", audio) for ext in ("wav", "flac", "mp3", "m4a", "ogg")}


@pytest.mark.parametrize("extension", ["wav", "flac", "mp3", "m4a", "ogg"])
@pytest.mark.parametrize("block_frames", [1, 1000, 4096, 65536, 10**6])
def test_blocks_concatenate_to_the_whole_read(files, extension, block_frames):
    path = files[extension]
    whole = audiokit.read(path)
    if block_frames == 1:  # one-frame blocks: check the first few thousand only (speed)
        with audiokit.open(path) as reader:
            blocks = [b for _, b in zip(range(3000), reader.blocks(1))]
        assert all(b.shape == (whole.num_channels, 1) for b in blocks)
        np.testing.assert_array_equal(np.concatenate(blocks, axis=1), whole.samples[:, :3000])
        return
    with audiokit.open(path) as reader:
        assert reader.num_frames == whole.num_frames == reader.info.num_frames
        blocks = list(reader.blocks(block_frames))
    assert all(b.shape[1] == block_frames for b in blocks[:-1]) and 0 < blocks[-1].shape[1] <= block_frames
    assert all(b.dtype == np.float32 and b.flags.c_contiguous for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), whole.samples)


@pytest.mark.parametrize("extension", ["flac", "m4a"])
@pytest.mark.parametrize("target_rate", [16000, 48000])
def test_resampled_stream_equals_resampling_the_whole(files, extension, target_rate):
    whole = audiokit.read(files[extension])
    with audiokit.open(files[extension]) as reader:
        resampled = reader.resampled_to(target_rate)
        assert resampled.sample_rate == target_rate
        blocks = list(resampled.blocks(3333))
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), resample(whole.samples, 44100, target_rate))


def test_reader_validates_block_size(files):
    with audiokit.open(files["wav"]) as reader:
        for bad in (0, -5, 2.5, True):
            with pytest.raises(ParameterError, match="num_frames"):
                next(reader.blocks(bad))


def test_memory_stays_bounded_on_a_long_file(tmp_path):
    """A 20-minute file streams through 4096-frame blocks with a small peak allocation."""
    import tracemalloc

    sample_rate, minutes = 8000, 20
    path = tmp_path / "long.flac"
    with audiokit.io.writer.AudioWriter(path, sample_rate, 2) as writer:
        tone = (0.2 * np.sin(np.arange(60 * sample_rate) * 0.05)).astype(np.float32)
        for _ in range(minutes):
            writer.write(np.stack([tone, tone]))
    tracemalloc.start()
    frames = 0
    with audiokit.open(path) as reader:
        for block in reader.blocks(4096):
            frames += block.shape[1]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert frames == minutes * 60 * sample_rate
    whole_file_bytes = frames * 2 * 4
    assert peak < whole_file_bytes / 20, (peak, whole_file_bytes)
