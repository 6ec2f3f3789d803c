"""normalize_file: the streaming limiter and file-to-file normalization equal the in-memory ones, in bounded memory."""

from __future__ import annotations

import dataclasses
import tracemalloc
import warnings

import numpy as np
import pytest
import soundfile
from test_loudness_crosscheck import music_like

import audiokit
from audiokit.errors import FormatError, ParameterError
from audiokit.io.writer import AudioWriter
from audiokit.loudness import LoudnessWarning, normalize, normalize_file
from audiokit.loudness.limiter import HOLD_MS, LOOKAHEAD_MS, RELEASE_MS, _LimiterStream, _settings


@pytest.fixture(scope="module")
def loud_music(tmp_path_factory):
    """10 s of music-like stereo whose peaks the limiter must catch at -9 LUFS, as a float WAV."""
    samples = music_like(44100, 10.0, seed=3) * np.float32(2.5)
    path = tmp_path_factory.mktemp("normalize-file") / "loud.wav"
    audiokit.write(path, audiokit.Audio(samples, 44100), codec="pcm_f32le")
    return path, samples


@pytest.mark.parametrize("block_sizes", [[1, 7, 40, 3], [512], [5000, 17], [1 << 20]])
def test_streaming_limiter_is_the_one_block_limiter_for_any_block_sizes(block_sizes):
    samples = music_like(48000, 3.0, seed=5) * np.float32(3.0)
    settings = _settings(48000, LOOKAHEAD_MS, HOLD_MS, RELEASE_MS)
    whole = _LimiterStream(48000, 2, 0.5, settings)
    expected = whole.process(samples, final=True)
    stream, outputs, start, index = _LimiterStream(48000, 2, 0.5, settings), [], 0, 0
    while start < samples.shape[1]:
        size = block_sizes[index % len(block_sizes)]
        outputs.append(stream.process(samples[:, start:start + size]))
        start, index = start + size, index + 1
    outputs.append(stream.process(np.zeros((2, 0), np.float32), final=True))
    np.testing.assert_array_equal(np.concatenate(outputs, axis=1), expected)
    assert (stream.max_reduction_db, stream.limited_fraction) == (whole.max_reduction_db, whole.limited_fraction)
    assert whole.max_reduction_db > 3.0  # the limiter did work


@pytest.mark.parametrize("options", [
    {"target_lufs": -9.0, "mode": "limit"},
    {"preset": "podcast"},
    {"preset": "spotify"},
    {"target_lufs": -30.0},
])
def test_file_output_and_report_equal_the_in_memory_normalize(loud_music, tmp_path, options):
    path, samples = loud_music
    report = normalize_file(path, tmp_path / "out.wav", codec="pcm_f32le", block_frames=4099, **options)
    expected, expected_report = normalize(samples, 44100, **options)
    np.testing.assert_array_equal(audiokit.read(tmp_path / "out.wav").samples, expected)
    assert dataclasses.replace(report, delivered=None, level_match=None) == expected_report
    # Float WAV is lossless: the file reads what the encoder was given, and one encode is kept.
    assert report.delivered == report.output
    assert report.level_match.encodes == 1 and report.level_match.gain_db == 0.0


def test_memory_stays_bounded_on_a_long_file(loud_music, tmp_path):
    """4 minutes of stereo (92 MB as float32) go through limit mode's passes in a few MB (7.4 MB measured;
    the in-memory normalize and write peak at about 1 GB on the same file)."""
    normalize_file(loud_music[0], tmp_path / "warm-up.wav", preset="podcast")  # Numba loads its kernels once
    path = tmp_path / "long.wav"
    sample_rate, minutes = 48000, 4
    clicks = np.zeros((2, 10 * sample_rate), np.float32)
    clicks[:, ::sample_rate] = 0.5  # a transient a second: raised to -16 LUFS, they go over the ceiling
    with AudioWriter(path, sample_rate, 2, bit_depth=16) as writer:
        for seed in range(minutes * 6):  # 10 s blocks, different notes each
            writer.write(music_like(sample_rate, 10.0, seed=seed) * np.float32(0.1) + clicks)
    decoded_bytes = minutes * 60 * sample_rate * 2 * 4
    tracemalloc.start()
    try:
        report = normalize_file(path, tmp_path / "out.flac", preset="podcast")
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.mode == "limit" and report.limiter_max_reduction_db > 1.0
    assert report.output.integrated_lufs == pytest.approx(-16.0, abs=0.1)
    assert report.output.true_peak_dbtp <= -1.0
    assert peak_bytes < decoded_bytes / 8, f"peak {peak_bytes / 1e6:.1f} MB for {decoded_bytes / 1e6:.0f} MB of audio"
    assert audiokit.probe(tmp_path / "out.flac").num_frames == minutes * 60 * sample_rate


def test_the_output_may_replace_the_input(loud_music, tmp_path):
    path, samples = loud_music
    copy = tmp_path / "episode.wav"
    copy.write_bytes(path.read_bytes())
    normalize_file(copy, copy, target_lufs=-20.0, codec="pcm_f32le")
    np.testing.assert_array_equal(audiokit.read(copy).samples, normalize(samples, 44100, target_lufs=-20.0)[0])


def test_non_finite_input_is_refused_and_nothing_is_written(tmp_path):
    samples = np.zeros((2, 44100), np.float32)
    samples[1, 30000] = np.nan
    # audiokit.Audio refuses NaN, so the damaged file is written with libsndfile directly.
    soundfile.write(tmp_path / "bad.wav", samples.T, 44100, subtype="FLOAT")
    # The reader refuses it, naming the file and the sample (audiokit.io).
    with pytest.raises(FormatError, match="bad.wav: sample 30000 of channel 1 is nan"):
        normalize_file(tmp_path / "bad.wav", tmp_path / "out.wav", preset="podcast")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.wav"]


def test_silence_passes_through_with_a_warning(tmp_path):
    audiokit.write(tmp_path / "silence.wav", audiokit.Audio(np.zeros((1, 48000), np.float32), 48000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = normalize_file(tmp_path / "silence.wav", tmp_path / "out.wav", preset="podcast")
    assert any(issubclass(warning.category, LoudnessWarning) for warning in caught)
    assert report.gain_db == 0.0
    assert not audiokit.read(tmp_path / "out.wav").samples.any()


def test_bad_block_frames_is_refused(loud_music, tmp_path):
    with pytest.raises(ParameterError, match="block_frames"):
        normalize_file(loud_music[0], tmp_path / "out.wav", preset="podcast", block_frames=0)


@pytest.mark.parametrize("rate", [1000, 6000])
def test_files_below_8_khz_are_measured_by_upsampling(tmp_path, rate):
    t = np.arange(5 * rate) / rate
    tone = (0.25 * np.sin(2 * np.pi * (rate / 8) * t)).astype(np.float32)[np.newaxis]
    soundfile.write(tmp_path / "low.wav", tone.T, rate, subtype="FLOAT")
    from audiokit.io.resample import resample
    from audiokit.loudness import measure, measure_file

    report = measure_file(tmp_path / "low.wav")
    expected = measure(resample(tone, rate, 8000), 8000)
    assert report.integrated_lufs == pytest.approx(expected.integrated_lufs, abs=1e-6)
    assert np.isfinite(report.integrated_lufs)


@pytest.mark.parametrize(("options", "message"), [
    ({"target_lufs": -16.0, "true_peak_dbtp": -200.0}, r"ceiling in \[-60, 0\]"),
])
def test_absurd_ceilings_are_refused(options, message):
    with pytest.raises(ParameterError, match=message):
        normalize(np.zeros((1, 48000), np.float32), 48000, **options)


@pytest.mark.parametrize("rate", [2**63, 10**9])
def test_absurd_sample_rates_are_refused(rate):
    from audiokit.loudness import measure

    with pytest.raises(ParameterError, match="at most 768000 Hz"):
        measure(np.zeros((1, 48000), np.float32), rate)


@pytest.mark.parametrize(("codec", "suffix", "expected_kbps"), [("mp3", ".mp3", 96), ("opus", ".opus", None)])
def test_naming_the_inputs_own_codec_keeps_its_bitrate(loud_music, tmp_path, codec, suffix, expected_kbps):
    """--codec mp3 on a 96 kbit/s MP3 keeps 96 kbit/s (it fell back to the writer's default, 192); another codec its own."""
    source = tmp_path / "in.mp3"
    audiokit.write(source, audiokit.Audio(loud_music[1] * np.float32(0.3), 44100), bitrate_bps=96_000)
    out = tmp_path / f"out{suffix}"
    normalize_file(source, out, preset="podcast", codec=codec, match_level=False)
    bitrate_kbps = audiokit.probe(out).bitrate_bps / 1000
    if expected_kbps is None:
        assert bitrate_kbps > 110  # libopus's default for stereo, not the input's 96
    else:
        assert bitrate_kbps == pytest.approx(expected_kbps, rel=0.03)
