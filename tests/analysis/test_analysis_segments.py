"""Speech / music / silence segmentation: Silero VAD, energy, the MTT tagger, and the energy fallback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import audiokit
from audiokit import Audio
from audiokit.analysis import analyze, segments
from audiokit.errors import MissingDependencyError, ParameterError
from audiokit.io.resample import resample
from audiokit.models.segmentation import LEARNED_METHOD

EXAMPLE = Path(__file__).parents[2] / "examples" / "example.flac"
SPEECH_TEXT = ("Welcome back to the show. Today we talk about audio tools, streaming platforms, "
               "and how a podcast is produced from start to finish.")
#: the brief's acceptance: segment edges within this of the truth, seconds
EDGE_TOLERANCE_S = 0.25
#: samples quieter than this (about -54 dBFS) are espeak-ng's own leading/trailing silence
SPEECH_FLOOR = 0.002

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng (Debian package) synthesizes the speech")


def _ml_available() -> bool:
    try:
        audiokit.models.require("onnxruntime")
        audiokit.models.require("torch")
        audiokit.models.require("silero_vad")
    except MissingDependencyError:
        return False
    return True


needs_ml = pytest.mark.skipif(not _ml_available(), reason="the ml extra (torch, onnxruntime, silero-vad) is required")


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Audio:
    """espeak-ng reading two sentences (about 8 s at 22050 Hz), mono."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng (Debian package) synthesizes the speech")
    wav = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), SPEECH_TEXT], check=True)
    return audiokit.read(wav)


@pytest.fixture(scope="module")
def music() -> Audio:
    return audiokit.read(EXAMPLE)


def _mono_at(audio: Audio, sample_rate: int) -> np.ndarray:
    mono = audio.samples.mean(axis=0, dtype=np.float32)
    return mono if audio.sample_rate == sample_rate else resample(mono, audio.sample_rate, sample_rate)[0]


def _spans(result, label):
    return [(s.start_s, s.end_s) for s in result.segments if s.label == label]


@needs_ml
def test_espeak_speech_is_speech(speech):
    result = segments(speech.samples, speech.sample_rate)
    assert result.method == LEARNED_METHOD and result.fallback_reason is None
    assert result.speech_ratio >= 0.8 and result.music_ratio == 0.0, result.to_dict()


@needs_ml
def test_example_track_is_music(music):
    result = segments(music.samples, music.sample_rate)
    assert result.music_ratio >= 0.8 and result.speech_ratio <= 0.1, result.to_dict()


@needs_ml
@needs_espeak
def test_speech_over_silence_edges(speech):
    sample_rate = speech.sample_rate
    voice = speech.samples[0]
    loud = np.flatnonzero(np.abs(voice) > SPEECH_FLOOR)
    voice = voice[loud[0] : loud[-1] + 1]
    lead_s, trail_s = 1.0, 1.5
    x = np.concatenate([np.zeros(round(lead_s * sample_rate), np.float32), voice,
                        np.zeros(round(trail_s * sample_rate), np.float32)])
    end_s = lead_s + voice.size / sample_rate
    result = segments(x, sample_rate)
    spoken = _spans(result, "speech")
    assert spoken, result.to_dict()
    assert spoken[0][0] == pytest.approx(lead_s, abs=EDGE_TOLERANCE_S)
    assert spoken[-1][1] == pytest.approx(end_s, abs=EDGE_TOLERANCE_S)
    first, last = result.segments[0], result.segments[-1]
    assert first.label == "silence" and first.end_s == pytest.approx(lead_s, abs=EDGE_TOLERANCE_S)
    assert last.label == "silence" and last.start_s == pytest.approx(end_s, abs=EDGE_TOLERANCE_S)
    assert result.silence_ratio == pytest.approx((lead_s + trail_s) / result.segments[-1].end_s, abs=0.05)


@needs_ml
@needs_espeak
def test_speech_then_music_switches_at_the_join(speech, music):
    sample_rate = 22050
    voice, piano = _mono_at(speech, sample_rate), _mono_at(music, sample_rate)[: 9 * sample_rate]
    join_s = voice.size / sample_rate
    result = segments(np.concatenate([voice, piano]), sample_rate)
    assert result.segments[-1].label == "music"
    assert _spans(result, "speech")[-1][1] == pytest.approx(join_s, abs=EDGE_TOLERANCE_S), result.to_dict()
    assert result.music_ratio == pytest.approx(9 / (join_s + 9), abs=0.1)


@needs_ml
def test_noise_is_other_and_silence_is_silence(rng):
    noise = (0.1 * rng.standard_normal(3 * 22050)).astype(np.float32)
    result = segments(noise, 22050)
    assert result.other_ratio >= 0.9 and result.speech_ratio == result.music_ratio == 0.0, result.to_dict()
    quiet = segments(np.zeros(2 * 48000, np.float32), 48000)
    assert [s.label for s in quiet.segments] == ["silence"] and quiet.silence_ratio == 1.0


def test_missing_ml_extra_falls_back_to_energy_and_says_so(monkeypatch, music):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.warns(RuntimeWarning, match="audiokit\\[ml\\]"):
        result = segments(music.samples, music.sample_rate)
    assert result.method == "energy" and "pip install 'audiokit[ml]'" in result.fallback_reason
    assert result.music_ratio >= 0.8 and result.to_dict()["method"] == "energy"
    with pytest.raises(MissingDependencyError, match="audiokit\\[ml\\]"):
        segments(music.samples, music.sample_rate, method="learned")
    with pytest.warns(RuntimeWarning):
        assert analyze(music).segments.method == "energy"


def test_energy_method_on_request_and_bad_method():
    x = np.zeros(44100, np.float32)
    result = segments(x, 44100, method="energy")
    assert result.method == "energy" and result.fallback_reason is None and result.silence_ratio == 1.0
    with pytest.raises(ParameterError, match="method is 'vad'"):
        segments(x, 44100, method="vad")


@needs_ml
def test_a_given_tag_result_is_reused(monkeypatch, music):
    from audiokit.models.tagging import tag

    tags = tag(music, model="MTT_musicnn")
    monkeypatch.setattr("audiokit.models.tagging.tag", lambda *a, **k: pytest.fail("the tagger ran again"))
    result = segments(music.samples, music.sample_rate, tags=tags)
    assert result.music_ratio >= 0.8 and result.speech_ratio <= 0.1
    with pytest.raises(ParameterError, match="expected a 'MTT_musicnn'"):
        segments(music.samples, music.sample_rate, tags=tag(music, model="MSD_musicnn"))
