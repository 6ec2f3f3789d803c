"""Variable-block-size FLAC (RFC 9639 §9.1: the blocking strategy bit, frames numbered by first sample).

No common encoder writes such files, so tests/io/_flac_writer.py does. The
reference is ffmpeg's full decode through PyAV: its frame count and samples;
libFLAC (through soundfile), which checks every frame's CRCs, must decode the
same samples, so the writer's frames are valid.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile
from _flac_writer import write_variable_block_flac

import audiokit
from audiokit.errors import FormatError
from audiokit.io._containers import frame_to_float

#: Block sizes in turn: implied-size codes (4096, 1152, 576, 192, 2048), 8-bit (17, 255) and 16-bit (300, 4607).
BLOCK_SIZES = (4096, 17, 1152, 300, 576, 4607, 192, 255, 2048, 1000)


def _music(sample_rate: int, seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes with a little noise, different per channel, as int16 (channels, frames)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    rows = []
    for channel in range(channels):
        pitch = 196.0 * 2 ** (channel / 12)
        notes = sum(np.sin(2 * np.pi * pitch * k * t + channel) / k for k in range(1, 6))
        envelope = np.exp(-2.5 * (t % 0.5))
        rows.append(0.3 * notes * envelope + 0.01 * rng.standard_normal(t.size))
    return np.round(np.clip(np.array(rows), -1, 1) * 32767).astype(np.int16)


def _ffmpeg(path) -> tuple[np.ndarray, int, list[int]]:
    """ffmpeg's full decode: samples (channels, frames) float32, rate, and the decoded frame sizes."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        decoded = [frame for packet in container.demux(stream) for frame in packet.decode()]
    return (np.concatenate([frame_to_float(frame) for frame in decoded], axis=1), decoded[0].sample_rate,
            [frame.samples for frame in decoded])


@pytest.mark.parametrize("sample_rate, channels", [(44100, 2), (48000, 1), (37800, 2), (96000, 6)])
def test_probe_and_read_give_exactly_the_written_frames(tmp_path, sample_rate, channels):
    samples = _music(sample_rate, 0.789, channels)
    path = write_variable_block_flac(tmp_path / "variable.flac", samples, sample_rate, block_sizes=BLOCK_SIZES)
    reference, reference_rate, block_lengths = _ffmpeg(path)
    # The file really is variable-block: ffmpeg decodes one frame per written block.
    assert block_lengths[:len(BLOCK_SIZES)] == list(BLOCK_SIZES)[:len(block_lengths)]
    assert sum(block_lengths) == samples.shape[1] and reference_rate == sample_rate
    expected = samples.astype(np.float32) / 32768
    np.testing.assert_array_equal(reference, expected)  # the writer is right: ffmpeg gets the samples back
    libflac, _ = soundfile.read(path, dtype="int16", always_2d=True)
    np.testing.assert_array_equal(libflac.T, samples)

    info = audiokit.probe(path)
    assert (info.num_frames, info.sample_rate, info.num_channels) == (samples.shape[1], sample_rate, channels)
    assert info.codec == "flac" and info.bit_depth == 16
    audio = audiokit.read(path)
    np.testing.assert_array_equal(audio.samples, expected)
    with audiokit.open(path) as reader:
        streamed = np.concatenate(list(reader.blocks(1001)), axis=1)
    np.testing.assert_array_equal(streamed, expected)


@pytest.mark.parametrize("declare_length", [True, False], ids=["length declared", "length unknown"])
def test_a_truncated_variable_block_flac_is_a_clean_error(tmp_path, declare_length):
    """Cut mid-frame: refused by STREAMINFO's count when it has one, else by the broken last frame."""
    samples = _music(44100, 1.5, 2, seed=1)
    whole = write_variable_block_flac(tmp_path / "whole.flac", samples, 44100, block_sizes=BLOCK_SIZES,
                                      declare_length=declare_length)
    assert audiokit.probe(whole).num_frames == samples.shape[1]
    cut = tmp_path / "cut short.flac"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 3 // 5])
    for operation in (audiokit.probe, audiokit.read):
        with pytest.raises(FormatError, match=r"^.*cut short\.flac: .*truncated.*re-export or re-download"):
            operation(cut)
    with pytest.raises(FormatError, match="cut short.flac"), audiokit.open(cut) as reader:
        for _ in reader.blocks(4096):
            pass
