"""Valid real-world files: read, open().blocks(), probe and the loudness path agree with ffmpeg's full decode."""

from __future__ import annotations

import _corpus
import numpy as np
import pytest

import audiokit
from audiokit.io._containers import frame_to_float


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("valid")
    return {name: _corpus.CASES[name](folder) for name in _corpus.VALID}


def _ffmpeg_samples(path) -> np.ndarray:
    """ffmpeg's full decode as (channels, frames) float32: the reference."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame_to_float(frame) for packet in container.demux(stream) for frame in packet.decode()]
    return np.concatenate(chunks, axis=1)


@pytest.mark.parametrize("case", _corpus.VALID)
def test_every_path_agrees_with_ffmpegs_full_decode(corpus, case):
    path = corpus[case]
    frames, rate = _corpus.ffmpeg_decode_count(path)
    audio = audiokit.read(path)  # first: read decodes once and probes on the way
    mono = audiokit.read(path, mono=True)  # second: probed already, decodes through the reader
    info = audiokit.probe(path)
    np.testing.assert_allclose(mono.samples[0], audio.samples.mean(axis=0), atol=1e-6)
    with audiokit.open(path) as reader:
        streamed = sum(block.shape[1] for block in reader.blocks(10_007))
        assert reader.num_frames == frames
    assert (info.num_frames, info.sample_rate) == (frames, rate)
    assert (audio.num_frames, audio.sample_rate) == (frames, rate)
    assert streamed == frames
    assert info.duration_s == pytest.approx(frames / rate)
    assert info.channel_layout == {1: "mono", 2: "stereo"}[info.num_channels]


@pytest.mark.parametrize("case", [c for c in _corpus.VALID if "FLAC" not in c and "WAV at" not in c])
def test_decoded_samples_are_ffmpegs(corpus, case):
    path = corpus[case]
    reference = _ffmpeg_samples(path)
    np.testing.assert_array_equal(audiokit.read(path).samples, reference)


def test_flac_with_a_lying_rate_plays_at_the_frames_rate(tmp_path):
    """STREAMINFO says 96 kHz; every frame header says 44.1 kHz, as libFLAC wrote it."""
    path = _corpus.flac_claiming_96k(tmp_path)
    audio = audiokit.read(path)
    source = _corpus.music(44100, 3.0)
    assert audio.sample_rate == 44100
    np.testing.assert_allclose(audio.samples, source, atol=1.0 / 32768)


def test_flac_that_claims_1000_samples_returns_all_of_them(tmp_path):
    path = _corpus.flac_claiming_1000_samples(tmp_path)
    audio = audiokit.read(path)
    assert audio.num_frames == 132_300
    np.testing.assert_allclose(audio.samples, _corpus.music(44100, 3.0), atol=1.0 / 32768)


def test_low_rate_files_read_at_their_rate(corpus):
    for case, rate in (("WAV at 1000 Hz", 1000), ("WAV at 6000 Hz", 6000)):
        info = audiokit.probe(corpus[case])
        assert (info.sample_rate, info.num_frames) == (rate, 2 * rate)


def test_gsm_wav_decodes_real_speech(corpus):
    """GSM 6.10 is lossy: the decode follows the speech's envelope (not its samples)."""
    from audiokit.io.resample import resample

    audio = audiokit.read(corpus["GSM 6.10 WAV"])
    speech = resample(_corpus.speech(), 48000, 8000)[0]
    assert audio.num_frames == 11_520  # GSM 6.10 frames of 320 samples, the last one padded
    envelope = [np.sqrt(np.mean(x[: len(speech) // 400 * 400].reshape(-1, 400) ** 2, axis=1))
                for x in (audio.samples[0, : len(speech)], speech)]
    assert np.corrcoef(*envelope)[0, 1] > 0.9


def test_mp4_edit_list_still_trims_aac_padding(tmp_path):
    """The one trim beyond ffmpeg's decode: an edit list's end hides the encoder's padding."""
    source = audiokit.Audio(_corpus.music(44100, 2.3456), 44100)
    path = audiokit.write(tmp_path / "edit-list.m4a", source)
    frames, _ = _corpus.ffmpeg_decode_count(path)
    assert frames > source.num_frames  # ffmpeg keeps the padding
    assert audiokit.probe(path).num_frames == audiokit.read(path).num_frames == source.num_frames
