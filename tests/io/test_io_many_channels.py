"""More than 8 planar channels (ffmpeg keeps planes 9+ in ``extended_data`` only): read, blocks and probe agree."""

from __future__ import annotations

import av
import numpy as np
import pytest

import audiokit

CHANNELS = 12
SAMPLE_RATE = 48000


@pytest.fixture(scope="module")
def opus_12(tmp_path_factory):
    """12 channels of Opus (channel mapping family 255, RFC 7845 §5.1.1.4), one tone per channel."""
    path = tmp_path_factory.mktemp("channels") / "twelve.opus"
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tones = np.stack([0.3 * np.sin(2 * np.pi * (200 + 50 * c) * t) for c in range(CHANNELS)]).astype(np.float32)
    layout = f"{CHANNELS} channels"
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE, layout=layout, options={"mapping_family": "255"})
        stream.format = "flt"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tones.T).reshape(1, -1), format="flt", layout=layout)
        frame.sample_rate, frame.pts = SAMPLE_RATE, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def test_more_than_eight_planar_channels_read_in_order(opus_12):
    with av.open(str(opus_12)) as container:  # ffmpeg's own Opus decoder: planar float, 12 planes
        stream = container.streams.audio[0]
        decoded = [frame for packet in container.demux(stream) for frame in packet.decode()]
    assert decoded[0].format.name == "fltp" and decoded[0].layout.nb_channels == CHANNELS
    audio = audiokit.read(opus_12)
    assert audio.num_channels == CHANNELS and audio.num_frames == sum(frame.samples for frame in decoded)
    assert audiokit.probe(opus_12).num_frames == audio.num_frames
    with audiokit.open(opus_12) as reader:
        np.testing.assert_array_equal(np.concatenate(list(reader.blocks(4096)), axis=1), audio.samples)
    # Channel c holds its own tone, 200 + 50 c Hz: no channel lost, swapped or read from a stray pointer.
    steady = audio.samples[:, 4800:]
    peaks_hz = np.argmax(np.abs(np.fft.rfft(steady, axis=1)), axis=1) * SAMPLE_RATE / steady.shape[1]
    np.testing.assert_allclose(peaks_hz, 200 + 50 * np.arange(CHANNELS), atol=2.0)
    assert np.all(np.abs(steady).max(axis=1) == pytest.approx(0.3, abs=0.05))
