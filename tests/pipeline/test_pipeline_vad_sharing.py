"""``--stages all`` runs Silero VAD once per track, and the stages that share it say what they say alone."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from _episodes import episode

import audiokit
from audiokit.io.resample import output_length
from audiokit.models import tag, transcribe
from audiokit.models.whisper import vad
from audiokit.models.whisper.vad import FRAME_SAMPLES, SpeechDetector
from audiokit.pipeline import IngestOptions, ingest, read_manifest


@pytest.fixture(scope="module")
def speech_episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30 s espeak episode (two voices, a music bed under the intro), 16-bit WAV."""
    return episode(0.5).write(tmp_path_factory.mktemp("episode") / "episode.wav")


def test_all_stages_score_each_frame_of_the_track_once(speech_episode: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    scored: list[int] = []  # frames per Silero ONNX pass
    score = SpeechDetector._score

    def counting(self: SpeechDetector, samples: np.ndarray) -> np.ndarray:
        probabilities = score(self, samples)
        scored.append(probabilities.size)
        return probabilities

    monkeypatch.setattr(SpeechDetector, "_score", counting)
    # no time limit: the track runs in this process, where the counting patch applies (a worker re-imports)
    options = IngestOptions(stages="all", track_timeout_s=math.inf)
    summary = ingest([str(speech_episode)], tmp_path / "out", options, jobs=1)
    assert summary.counts == {"ingested": 1}, summary.to_dict()
    manifest = read_manifest(Path(summary.results[0].manifest_path))
    assert {name: manifest["stages"][name]["status"] for name in ("tags", "analysis", "speech", "transcript")} \
        == dict.fromkeys(("tags", "analysis", "speech", "transcript"), "ok")

    info = audiokit.probe(speech_episode)
    frames = -(-output_length(info.num_frames, info.sample_rate, 16000) // FRAME_SAMPLES)
    assert sum(scored) == frames  # one pass: every 32 ms frame of the track scored once, by one detector

    # what the stages reported from the shared pass is what each says on its own
    monkeypatch.setattr(SpeechDetector, "_score", score)
    alone = vad.speech_probabilities(vad.mono_16k(speech_episode))
    assert manifest["speech"]["speech_ratio"] == pytest.approx(float(np.mean(alone >= vad.SPEECH_THRESHOLD)), abs=0)
    assert manifest["speech"]["speech_dominant"]
    segments, _ = transcribe(speech_episode, backend="faster")
    assert manifest["transcript"]["text"] == " ".join(segment.text.strip() for segment in segments)
    mtt = tag(speech_episode, model="MTT_musicnn", top_k=10)
    assert manifest["tags"]["MTT_musicnn"]["tags"] == mtt.to_dict()["tags"]
    analysis_speech = manifest["analysis"]["segments"]["speech_ratio"]
    assert analysis_speech > 0.5, manifest["analysis"]["segments"]
