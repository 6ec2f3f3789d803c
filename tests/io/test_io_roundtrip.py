"""Write -> read round trips for every format, rate and channel count.

Lossless formats must come back within half an LSB of the quantized input;
lossy ones with exactly the source's frame count (Opus: at 48 kHz), time
aligned (cross-correlation peak at lag 0) and at the same level.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

import audiokit
from audiokit.errors import ParameterError
from audiokit.io.resample import output_length

ROUND_TRIP_RATES = (8000, 22050, 44100, 48000, 96000)
CHANNEL_COUNTS = (1, 2, 6)
DURATION_S = 0.345678  # non-round on purpose
LFE_INDEX = 3  # in ffmpeg's 5.1 order: FL FR FC LFE BL BR
LOSSLESS = {"wav": None, "flac": None, "aiff": None, "m4a-alac": "alac"}
LOSSY = {"mp3": None, "m4a": None, "ogg": None, "opus": None, "webm": None}


def _signal(sample_rate: int, channels: int) -> np.ndarray:
    """Distinct tones per channel plus band-limited noise bursts (so alignment is unambiguous).

    Everything stays below 3 kHz, inside every codec's band at every rate.
    """
    frames = round(DURATION_S * sample_rate)
    t = np.arange(frames) / sample_rate
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    generator = np.random.default_rng(channels * sample_rate)
    lowpass = scipy.signal.butter(8, 3000, fs=sample_rate, output="sos")
    rows = []
    for c in range(channels):
        if channels == 6 and c == LFE_INDEX:  # codecs band-limit the LFE channel (AAC: ~120 Hz)
            rows.append(0.3 * np.sin(2 * np.pi * 40.0 * t) * fade)
            continue
        bursts = scipy.signal.sosfilt(lowpass, generator.standard_normal(frames))
        bursts *= (np.sin(2 * np.pi * (3 + c) * t) > 0.6)  # gated on and off
        rows.append((0.3 * np.sin(2 * np.pi * (440.0 + 110.0 * c) * t) + 0.1 * bursts) * fade)
    return np.asarray(rows, dtype=np.float32)


def _path(tmp_path, name: str):
    extension = name.split("-")[0]
    return tmp_path / f"out.{extension}"


@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
@pytest.mark.parametrize("sample_rate", ROUND_TRIP_RATES)
@pytest.mark.parametrize("name", list(LOSSLESS))
@pytest.mark.parametrize("bit_depth", [16, 24])
def test_lossless_round_trip_is_exact_to_the_bit_depth(tmp_path, name, sample_rate, channels, bit_depth):
    samples = _signal(sample_rate, channels)
    path = audiokit.write(_path(tmp_path, name), audiokit.Audio(samples, sample_rate),
                          codec=LOSSLESS[name], bit_depth=bit_depth)
    info = audiokit.probe(path)
    back = audiokit.read(path)
    assert (info.sample_rate, info.num_channels, info.num_frames, info.bit_depth) == (
        sample_rate, channels, samples.shape[1], bit_depth)
    assert back.samples.shape == samples.shape and back.sample_rate == sample_rate
    half_lsb = 0.5 / 2 ** (bit_depth - 1)
    assert np.max(np.abs(back.samples - samples)) <= half_lsb * 1.0001


def test_integer_pcm_survives_bit_exact(tmp_path, rng):
    ints = rng.integers(-2**15, 2**15, (2, 12345)).astype(np.int16)
    for extension in ("wav", "flac", "aiff", "m4a"):
        path = audiokit.write(tmp_path / f"x.{extension}", audiokit.Audio(ints, 44100),
                              codec="alac" if extension == "m4a" else None)
        back = audiokit.read(path).samples
        assert np.array_equal(np.round(back * 32768).astype(np.int32), ints), extension


def test_float_wav_is_lossless(tmp_path, rng):
    samples = rng.uniform(-1, 1, (2, 5000)).astype(np.float32)
    path = audiokit.write(tmp_path / "f.wav", audiokit.Audio(samples, 48000), codec="pcm_f32le")
    assert np.array_equal(audiokit.read(path).samples, samples)


def _supported(name: str, sample_rate: int, channels: int) -> bool:
    if name == "mp3":
        return sample_rate <= 48000 and channels <= 2
    return True


@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
@pytest.mark.parametrize("sample_rate", ROUND_TRIP_RATES)
@pytest.mark.parametrize("name", list(LOSSY))
def test_lossy_round_trip_has_exact_length_alignment_and_level(tmp_path, name, sample_rate, channels):
    samples = _signal(sample_rate, channels)
    path = _path(tmp_path, name)
    if not _supported(name, sample_rate, channels):
        with pytest.raises(ParameterError):
            audiokit.write(path, audiokit.Audio(samples, sample_rate))
        return
    audiokit.write(path, audiokit.Audio(samples, sample_rate), bitrate_bps=_bitrate(name, channels))
    back = audiokit.read(path)
    # Opus is always encoded at 48 kHz: other rates are resampled on write.
    expected_rate = sample_rate if name in ("mp3", "m4a") else 48000
    assert back.sample_rate == expected_rate
    assert back.num_frames == output_length(samples.shape[1], sample_rate, expected_rate)
    assert audiokit.probe(path).num_frames == back.num_frames
    reference = audiokit.io.resample.resample(samples, sample_rate, expected_rate)
    for channel in range(channels):
        if not (channels == 6 and channel == LFE_INDEX):  # a pure 40 Hz tone has no unique lag
            assert _lag(reference[channel], back.samples[channel]) == 0, channel
        level_db = 20 * math.log10(_rms(back.samples[channel]) / _rms(reference[channel]))
        assert abs(level_db) < 0.5, (channel, level_db)


def _bitrate(name: str, channels: int) -> int:
    per_channel = 96_000 if name == "mp3" else 64_000
    return min(320_000, per_channel * channels) if name == "mp3" else per_channel * channels


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _lag(reference: np.ndarray, decoded: np.ndarray, max_lag: int = 2048) -> int:
    """Lag of ``decoded`` relative to ``reference`` at the cross-correlation peak."""
    n = len(reference)
    spectrum = np.fft.rfft(decoded, 2 * n) * np.conj(np.fft.rfft(reference, 2 * n))
    correlation = np.fft.irfft(spectrum)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([correlation[: max_lag + 1], correlation[-max_lag:]])
    return int(lags[np.argmax(values)])


def test_tags_round_trip(tmp_path):
    tags = {"title": "Ünïcode title", "artist": "A", "album": "B", "ISRC": "USRC17607839"}
    audio = audiokit.Audio(_signal(44100, 2), 44100)
    for extension in ("flac", "mp3", "ogg"):
        path = audiokit.write(tmp_path / f"t.{extension}", audio, tags=tags)
        found = audiokit.probe(path).tags
        assert found["title"] == tags["title"] and found["artist"] == "A" and found["album"] == "B", extension
        assert found.get("isrc", found.get("tsrc")) == "USRC17607839", extension


def test_mono_read_averages_channels(tmp_path):
    samples = _signal(48000, 2)
    path = audiokit.write(tmp_path / "s.wav", audiokit.Audio(samples, 48000), codec="pcm_f32le")
    mono = audiokit.read(path, mono=True)
    assert mono.num_channels == 1
    np.testing.assert_allclose(mono.samples[0], samples.mean(axis=0), atol=1e-7)


def test_read_with_sample_rate_resamples(tmp_path):
    samples = _signal(44100, 2)
    path = audiokit.write(tmp_path / "s.flac", audiokit.Audio(samples, 44100), bit_depth=24)
    audio = audiokit.read(path, sample_rate=48000)
    assert audio.sample_rate == 48000
    assert audio.num_frames == output_length(samples.shape[1], 44100, 48000)
    np.testing.assert_array_equal(
        audio.samples, audiokit.io.resample.resample(audiokit.read(path).samples, 44100, 48000))
