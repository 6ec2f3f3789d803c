"""analyze() streams: frames cut across block edges of any size equal the whole-signal analysis.

The whole-signal reference is independent of the front end: librosa's own
``stft``, ``feature.rms``, ``melspectrogram`` + ``power_to_db`` +
``onset.strength``, spectral centroid/bandwidth/rolloff and ``chroma_stft`` on
the whole 22050 Hz mono (made by audiokit's downmix and resampler, the same
signal the analysis sees). Those frames go through the same result functions
(tempo, key, spectral summary, silence, energy segmentation) as the frames
the streaming front end builds from blocks; the results must be equal.
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
from _episodes import build_episode, script

import audiokit
from audiokit import Audio
from audiokit.analysis import analyze
from audiokit.analysis._frames import ANALYSIS_RATE, HOP_LENGTH, N_FFT, FrameAnalyzer, Frames, frames_of
from audiokit.analysis.analyze import AnalysisResult
from audiokit.analysis.rhythm import tempo_from_frames
from audiokit.analysis.segments import SEGMENTER_RATE, energy_segmentation, segment_frames
from audiokit.analysis.spectral import silence_from_frames, summary_from_frames
from audiokit.analysis.tonality import key_from_frames
from audiokit.channels import to_mono
from audiokit.errors import ParameterError
from audiokit.io.resample import resample

EXAMPLE = Path(__file__).parents[2] / "examples" / "example.flac"
#: block sizes drawn per test: log-uniform from 1 frame to 2**17, and a stretch of tiny blocks
MAX_BLOCK = 1 << 17
TINY_BLOCKS = 3000


@pytest.fixture(scope="module")
def speech() -> Audio:
    """About 20 s of espeak-ng speech in sentences with pauses, a music bed and a reverberant passage (22050 Hz)."""
    lines = script(0.4, seed=3)
    spoken = build_episode(lines[:6], seed=3)
    return Audio(spoken.samples, spoken.sample_rate)


@pytest.fixture(scope="module")
def music() -> Audio:
    return audiokit.read(EXAMPLE)


def _variants(speech: Audio, music: Audio) -> dict[str, Audio]:
    """Music and speech, mono and stereo, at 44.1 and 48 kHz (and speech at its own 22050 Hz)."""
    speech_48k = resample(speech.samples, speech.sample_rate, 48000)
    return {
        "music-44k-stereo": music,
        "music-48k-stereo": Audio(resample(music.samples, music.sample_rate, 48000), 48000),
        "speech-22k-mono": speech,
        "speech-44k-mono": Audio(resample(speech.samples, speech.sample_rate, 44100), 44100),
        "speech-48k-stereo": Audio(np.ascontiguousarray(np.concatenate([speech_48k, 0.5 * speech_48k])), 48000),
    }


def _random_blocks(samples: np.ndarray, rng: np.random.Generator):
    """``samples`` cut into blocks of random sizes: a run of 1-16 frame blocks, then 1 .. MAX_BLOCK log-uniform."""
    position = 0
    while position < samples.shape[1]:
        if position < TINY_BLOCKS:
            size = int(rng.integers(1, 17))
        else:
            size = int(np.exp(rng.uniform(0, np.log(MAX_BLOCK))))
        yield samples[:, position : position + size]
        position += size


def _streamed(audio: Audio, rng: np.random.Generator, **options) -> Frames:
    analyzer = FrameAnalyzer(audio.sample_rate, audio.num_channels, **options)
    for block in _random_blocks(audio.samples, rng):
        analyzer.process(block)
    return analyzer.flush()


def _librosa_frames(audio: Audio) -> Frames:
    """The frame features from librosa's functions on the whole analysis-rate mono."""
    y = resample(to_mono(audio.samples), audio.sample_rate, ANALYSIS_RATE)[0]
    magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))
    mel = librosa.feature.melspectrogram(S=magnitude**2, sr=ANALYSIS_RATE, n_mels=128)
    return Frames(
        rms=librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH)[0],
        onset=librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=ANALYSIS_RATE, hop_length=HOP_LENGTH),
        centroid_hz=librosa.feature.spectral_centroid(S=magnitude, sr=ANALYSIS_RATE)[0],
        bandwidth_hz=librosa.feature.spectral_bandwidth(S=magnitude, sr=ANALYSIS_RATE)[0],
        rolloff_hz=librosa.feature.spectral_rolloff(S=magnitude, sr=ANALYSIS_RATE)[0],
        bin_power=(magnitude.astype(np.float64) ** 2).sum(axis=1),
        duration_s=audio.duration_s, mono=np.zeros(0, np.float32))


def _results(frames: Frames) -> dict:
    """What analyze() reports, from frames (energy segmentation)."""
    return AnalysisResult(
        duration_s=round(frames.duration_s, 6), tempo=tempo_from_frames(frames), key=key_from_frames(frames),
        spectral=summary_from_frames(frames), silence=silence_from_frames(frames),
        segments=segment_frames(frames, energy_segmentation)).to_dict()


def _assert_same_frames(ours: Frames, reference: Frames, *, exact: bool) -> None:
    assert ours.rms.shape == reference.rms.shape and ours.duration_s == reference.duration_s
    for name in ("rms", "onset", "centroid_hz", "bandwidth_hz", "rolloff_hz", "bin_power"):
        if exact:
            np.testing.assert_array_equal(getattr(ours, name), getattr(reference, name), err_msg=name)
    if not exact:  # librosa's STFT rounds differently (float64 window): float rounding of float32 spectra
        np.testing.assert_allclose(ours.rms, reference.rms, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(ours.onset, reference.onset, rtol=0, atol=1e-4 * reference.onset.max())
        np.testing.assert_allclose(ours.bin_power, reference.bin_power, rtol=1e-4, atol=1e-6 * reference.bin_power.max())


def test_blocks_of_any_size_give_the_frames_of_the_whole_signal(speech, music):
    rng = np.random.default_rng(20261205)
    for audio in _variants(speech, music).values():
        whole = frames_of(audio.samples, audio.sample_rate)
        _assert_same_frames(_streamed(audio, rng), whole, exact=True)
        _assert_same_frames(whole, _librosa_frames(audio), exact=False)


def test_streamed_analysis_equals_the_analysis_of_librosas_whole_signal_frames(speech, music, tmp_path):
    """analyze() on a file, read in blocks, against the same result functions on librosa's whole-signal frames."""
    for name, audio in _variants(speech, music).items():
        path = tmp_path / f"{name}.wav"
        audiokit.write(path, audio, codec="pcm_f32le")
        streamed = analyze(path, segment_method="energy").to_dict()
        reference = _results(_librosa_frames(audio))
        assert streamed["duration_s"] == reference["duration_s"]
        assert streamed["tempo"]["bpm"] == pytest.approx(reference["tempo"]["bpm"], abs=0.01), name
        assert streamed["tempo"]["beat_times_s"] == pytest.approx(reference["tempo"]["beat_times_s"], abs=1e-4)
        assert streamed["key"]["key"] == reference["key"]["key"]
        assert streamed["key"]["chroma"] == pytest.approx(reference["key"]["chroma"], abs=2e-5)
        assert streamed["spectral"] == pytest.approx(reference["spectral"], abs=0.02), name
        assert streamed["silence"] == reference["silence"], name
        assert streamed["segments"] == reference["segments"], name
        # an Audio in memory streams through the same front end and gives the same result
        assert analyze(audio, segment_method="energy").to_dict() == streamed


def test_the_kept_mono_is_the_analysis_mono_at_the_segmenter_rate(speech, music):
    """A segmenter that reads the signal gets the 22050 Hz mono resampled to 16 kHz, as it would resample it itself."""
    rng = np.random.default_rng(5)
    for audio in (music, Audio(speech.samples, speech.sample_rate)):
        expected = resample(resample(to_mono(audio.samples), audio.sample_rate, ANALYSIS_RATE), ANALYSIS_RATE,
                            SEGMENTER_RATE)[0]
        for options in ({}, {"expected_frames": audio.num_frames}):
            frames = _streamed(audio, rng, mono_rate=SEGMENTER_RATE, **options)
            assert frames.mono_rate == SEGMENTER_RATE
            np.testing.assert_array_equal(frames.mono, expected)
    assert frames_of(music.samples, music.sample_rate).mono.size == 0  # not kept unless asked


def test_a_segmenter_gets_the_16_khz_mono_and_the_frames(music):
    seen = {}

    def segmenter(signal):
        seen.update(rate=signal.sample_rate, size=signal.mono.size, frames=signal.rms.size)
        return energy_segmentation(signal)

    result = analyze(music, segmenter=segmenter)
    assert result.segments.method == "energy"
    assert seen == {"rate": SEGMENTER_RATE, "size": -(-music.num_frames * SEGMENTER_RATE // music.sample_rate),
                    "frames": 1 + (-(-music.num_frames * ANALYSIS_RATE // music.sample_rate)) // HOP_LENGTH}


def test_stream_errors_name_the_problem():
    with pytest.raises(ParameterError, match="num_channels is 0"):
        FrameAnalyzer(44100, 0)
    analyzer = FrameAnalyzer(44100, 2)
    with pytest.raises(ParameterError, match="3 channels"):
        analyzer.process(np.zeros((3, 10), np.float32))
    bad = np.zeros((2, 100), np.float32)
    bad[1, 7] = np.nan
    analyzer.process(np.zeros((2, 50), np.float32))
    with pytest.raises(ParameterError, match=r"block from frame 50\)\[1, 7\] is nan"):
        analyzer.process(bad)
    short = FrameAnalyzer(44100, 1)
    short.process(np.ones((1, 4000), np.float32))
    with pytest.raises(ParameterError, match="lasts 0.0907 s; analysis needs at least 0.093 s"):
        short.flush()
