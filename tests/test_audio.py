"""The core type and the array checks at the public edge."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import audiokit
from audiokit import Audio, ParameterError
from audiokit._arrays import as_samples, check_finite, check_sample_rate, from_interleaved


def test_audio_properties_and_layout():
    audio = Audio(np.zeros((2, 48000)), 48000)
    assert audio.samples.dtype == np.float32 and audio.samples.flags.c_contiguous
    assert (audio.num_channels, audio.num_frames, audio.duration_s) == (2, 48000, 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        audio.sample_rate = 44100


def test_mono_vector_becomes_one_row():
    assert Audio(np.zeros(10, np.float32), 8000).samples.shape == (1, 10)


def test_frames_by_channels_is_rejected_with_the_fix():
    with pytest.raises(ParameterError, match=r"shape \(48000, 2\).*from_interleaved"):
        Audio(np.zeros((48000, 2), np.float32), 48000)


def test_from_interleaved():
    data = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(from_interleaved(data), [[0, 2, 4], [1, 3, 5]])


@pytest.mark.parametrize("dtype, value, expected", [
    (np.int16, -32768, -1.0), (np.int16, 16384, 0.5), (np.int32, 2**30, 0.5),
    (np.uint8, 128, 0.0), (np.uint8, 0, -1.0), (np.float64, 0.25, 0.25)])
def test_integer_pcm_is_scaled(dtype, value, expected):
    assert as_samples(np.array([value], dtype=dtype))[0, 0] == expected


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4)), np.zeros((0, 5)), "noise", np.array(["a"])])
def test_bad_arrays(bad):
    with pytest.raises(ParameterError):
        as_samples(bad)


def test_check_finite_names_the_position():
    samples = np.zeros((2, 10), np.float32)
    samples[1, 7] = np.nan
    with pytest.raises(ParameterError, match=r"samples\[1, 7\] is nan"):
        check_finite(samples)


@pytest.mark.parametrize("bad", [0, -44100, 44100.5, "44100", None, True])
def test_bad_sample_rates(bad):
    with pytest.raises(ParameterError, match="sample_rate"):
        check_sample_rate(bad)
    assert check_sample_rate(48000.0) == 48000


def test_import_is_light():
    code = "import sys, audiokit; print('torch' in sys.modules, 'numba' in sys.modules, 'av' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False False False"


def test_lazy_attributes():
    assert audiokit.read is audiokit.io.read and callable(audiokit.probe)
    with pytest.raises(AttributeError):
        _ = audiokit.no_such_thing
