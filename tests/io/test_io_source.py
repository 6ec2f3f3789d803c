"""open_source / as_audio: a path and the Audio decoded from it stream alike."""

import numpy as np
import pytest

import audiokit
from audiokit.channels import to_mono
from audiokit.errors import ParameterError
from audiokit.io.resample import resample
from audiokit.io.source import ArrayReader, as_audio, open_source


@pytest.fixture
def five_one_file(tmp_path, rng):
    samples = (0.1 * rng.standard_normal((6, 44100 + 345))).astype(np.float32)
    path = tmp_path / "surround.flac"
    audiokit.write(path, audiokit.Audio(samples, 44100))
    return path


@pytest.mark.parametrize("rate", [None, 16000, 48000])
def test_a_path_and_its_audio_give_the_same_blocks(five_one_file, rate):
    decoded = audiokit.read(five_one_file)
    with open_source(five_one_file) as by_path, open_source(decoded) as by_audio:
        assert isinstance(by_audio, ArrayReader)
        if rate is not None:
            by_path, by_audio = by_path.resampled_to(rate), by_audio.resampled_to(rate)
        assert by_path.num_frames == by_audio.num_frames
        path_blocks = list(by_path.blocks(10_000))
        audio_blocks = list(by_audio.blocks(10_000))
    assert [b.shape for b in path_blocks] == [b.shape for b in audio_blocks]
    np.testing.assert_allclose(np.concatenate(path_blocks, 1), np.concatenate(audio_blocks, 1), atol=1e-6)
    if rate is not None:  # streaming resampling equals the one-shot resampler
        np.testing.assert_allclose(
            np.concatenate(audio_blocks, 1), resample(decoded.samples, 44100, rate), atol=1e-6
        )


def test_as_audio_resamples_and_downmixes_with_the_channels_module(five_one_file):
    decoded = audiokit.read(five_one_file)
    mono = as_audio(decoded, mono=True)
    np.testing.assert_array_equal(mono.samples, to_mono(decoded.samples))
    assert as_audio(decoded) is decoded
    low = as_audio(five_one_file, sample_rate=16000, mono=True)
    assert (low.num_channels, low.sample_rate) == (1, 16000)
    np.testing.assert_allclose(low.samples, to_mono(resample(decoded.samples, 44100, 16000)), atol=1e-5)


@pytest.mark.parametrize("bad", [np.zeros((2, 10), np.float32), 3, None])
def test_other_sources_are_refused_with_the_fix(bad):
    with pytest.raises(ParameterError, match="wrap an array as audiokit.Audio"):
        open_source(bad)
