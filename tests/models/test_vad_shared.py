"""One 16 kHz signal and one Silero VAD pass, shared: ``mono_16k``, ``speech_probabilities`` and their consumers.

The ingest pipeline decodes a track to 16 kHz mono once, into a temporary
file (``spill_mono_16k``), scores it with Silero VAD once, and hands both to
the tagger, the learned segmenter and the transcriber's chunker. These tests
check that each consumer then computes what it computes on its own from the
source: the same samples, bit for bit, the same chunks and the same segments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import audiokit
from audiokit.analysis import analyze
from audiokit.errors import FormatError, ParameterError
from audiokit.io.resample import output_length
from audiokit.models.segmentation import LearnedSegmenter
from audiokit.models.tagging import tagger
from audiokit.models.whisper.transcribe import _mono_blocks as transcriber_blocks
from audiokit.models.whisper.vad import (
    FRAME_SAMPLES,
    KnownSpeech,
    SpeechDetector,
    mono_16k,
    speech_chunks,
    speech_probabilities,
    spill_mono_16k,
)

FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "example.flac"


@pytest.fixture(scope="module")
def voices() -> audiokit.Audio:
    """Two real ALSA voice prompts (48 kHz) with pauses between them, as a stereo track of 9.9 s."""
    voice = audiokit.read(FRONT_CENTER)
    mono = voice.samples[0]
    gap = np.zeros(voice.sample_rate * 2, np.float32)
    left = np.concatenate([gap, mono, gap, mono[::-1] * 0.5, gap, mono])
    return audiokit.Audio(np.stack([left, 0.8 * left]), voice.sample_rate)


def test_mono_16k_is_what_the_transcriber_and_the_tagger_decode(voices):
    for source in (voices, EXAMPLE):
        shared = mono_16k(source)
        info = audiokit.probe(source) if isinstance(source, Path) else None
        num_frames, rate = (info.num_frames, info.sample_rate) if info else (voices.num_frames, voices.sample_rate)
        assert shared.dtype == np.float32 and shared.shape == (output_length(num_frames, rate, 16000),)
        blocks, _ = transcriber_blocks(source)
        np.testing.assert_array_equal(np.concatenate(list(blocks)), shared)
        np.testing.assert_array_equal(np.concatenate(list(tagger._mono_blocks(source))), shared)
        # as a 16 kHz mono Audio it decodes to itself: a consumer handed it sees the same samples
        np.testing.assert_array_equal(mono_16k(audiokit.Audio(shared[np.newaxis], 16000)), shared)


def test_speech_probabilities_match_a_streaming_detector(voices):
    samples = mono_16k(voices)
    whole = speech_probabilities(samples)
    assert whole.shape == (-(-samples.size // FRAME_SAMPLES),)
    detector = SpeechDetector()
    streamed = np.concatenate([detector.process(samples[i : i + 7777]) for i in range(0, samples.size, 7777)]
                              + [detector.flush()])
    np.testing.assert_array_equal(streamed, whole)
    assert 0.3 < np.mean(whole >= 0.5) < 0.7  # three prompts of 1.4 s in 9.9 s, pauses silent


@pytest.mark.parametrize("block", [997, 262144])
def test_known_probabilities_cut_the_chunks_the_detector_cuts(voices, block):
    samples = mono_16k(voices)
    probabilities = speech_probabilities(samples)

    def blocks():
        return (samples[i : i + block] for i in range(0, samples.size, block))

    detected = list(speech_chunks(blocks()))
    shared = list(speech_chunks(blocks(), probabilities=probabilities))
    assert len(detected) >= 1
    assert [(c.start, c.regions) for c in shared] == [(c.start, c.regions) for c in detected]
    for a, b in zip(shared, detected):
        np.testing.assert_array_equal(a.samples, b.samples)


def test_known_probabilities_must_cover_the_samples_frame_for_frame(voices):
    samples = mono_16k(voices)
    probabilities = speech_probabilities(samples)
    with pytest.raises(ParameterError, match=r"speech probabilities for \d+ samples"):
        list(speech_chunks([samples], probabilities=probabilities[:-1]))
    known = KnownSpeech(probabilities)
    assert known.process(samples[:FRAME_SAMPLES * 3 + 5]).size == 3
    with pytest.raises(ParameterError, match="vad=False"):
        list(speech_chunks([samples], vad=False, probabilities=probabilities))


def test_segmenter_on_shared_vad_equals_its_own_pass(voices):
    samples = mono_16k(voices)
    probabilities = speech_probabilities(samples)
    own = analyze(voices, segmenter=LearnedSegmenter(mono_16k=samples)).segments
    shared = analyze(voices, segmenter=LearnedSegmenter(mono_16k=samples, speech_probabilities=probabilities)).segments
    assert shared.to_dict() == own.to_dict()
    # the prompts are speech (each "Front ... Center" may split at its pause), the 2 s gaps are not
    speech = [segment for segment in shared.segments if segment.label == "speech"]
    assert shared.speech_ratio > 0.25 and len(speech) >= 3 and all(segment.start_s >= 1.9 for segment in speech)
    with pytest.raises(ParameterError, match="values for"):
        LearnedSegmenter(mono_16k=samples, speech_probabilities=probabilities[:-2])
    with pytest.raises(ParameterError, match="one dimension"):
        LearnedSegmenter(speech_probabilities=probabilities[np.newaxis])


def test_a_segmenter_given_its_signal_spares_the_analysis_pass_collecting_one(voices, monkeypatch):
    """With mono_16k the learned segmenter never reads the pass's mono (it gets an empty one) and the
    segments equal those of a segmenter that resamples the pass's signal itself."""
    from audiokit.analysis.segments import needs_signal

    samples = mono_16k(voices)
    given = LearnedSegmenter(mono_16k=samples)
    assert not needs_signal(given) and needs_signal(LearnedSegmenter())
    seen: list[int] = []
    original = LearnedSegmenter.__call__
    monkeypatch.setattr(LearnedSegmenter, "__call__",
                        lambda self, signal: (seen.append(signal.mono.size), original(self, signal))[1])
    with_signal = analyze(voices, segmenter=given).segments
    assert seen == [0]
    assert with_signal.to_dict() == analyze(voices, segmenter=LearnedSegmenter()).segments.to_dict()


def _open_in(folder: Path) -> int:
    """How many of this process's descriptors are open on files in ``folder`` (named or not)."""
    links = (os.readlink(entry) for entry in Path("/proc/self/fd").iterdir() if entry.is_symlink())
    return sum(link.startswith(f"{folder}/") for link in links)


def test_the_spilled_signal_is_mono_16k_on_disk_read_in_windows(voices, tmp_path):
    samples = mono_16k(voices)
    with spill_mono_16k(voices, directory=tmp_path) as signal:
        assert len(signal) == samples.size
        assert list(tmp_path.iterdir()) == [] and _open_in(tmp_path) == 1  # on disk, but under no name
        np.testing.assert_array_equal(signal.read(), samples)
        np.testing.assert_array_equal(signal[1000:23456], samples[1000:23456])
        np.testing.assert_array_equal(signal[-777:], samples[-777:])
        assert signal[samples.size : samples.size + 10].size == 0
        np.testing.assert_array_equal(np.concatenate(list(signal.blocks(10_000))), samples)
        # an ordinary audio file: what the transcriber and the tagger decode of it is the signal itself
        blocks, duration_s = transcriber_blocks(signal.path)
        np.testing.assert_array_equal(np.concatenate(list(blocks)), samples)
        assert duration_s == samples.size / 16000
        np.testing.assert_array_equal(np.concatenate(list(tagger._mono_blocks(signal.path))), samples)
        # scored window by window, with the detector's state carried: the same probabilities
        np.testing.assert_array_equal(speech_probabilities(signal), speech_probabilities(samples))
        with pytest.raises(ParameterError, match="slice with step 1"):
            signal[5]
    assert _open_in(tmp_path) == 0  # closed: the kernel frees the data
    with pytest.raises(ParameterError, match="was closed"):
        signal.read()
    forgotten = spill_mono_16k(voices, directory=tmp_path)
    assert _open_in(tmp_path) == 1
    del forgotten  # garbage-collected: its file goes too
    assert _open_in(tmp_path) == 0


def test_a_killed_process_leaves_no_spilled_signal_behind(tmp_path):
    """A worker stopped by SIGKILL (a time limit, the OOM killer) runs no clean-up: the file must need none."""
    script = (f"import os, signal; from audiokit.models.whisper.vad import spill_mono_16k; "
              f"spilled = spill_mono_16k({str(EXAMPLE)!r}, directory={str(tmp_path)!r}); "
              "os.kill(os.getpid(), signal.SIGKILL)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == -9, run.stderr
    assert list(tmp_path.iterdir()) == []


def test_spilling_a_damaged_file_leaves_nothing_behind(tmp_path):
    damaged = tmp_path / "damaged.wav"
    damaged.write_bytes(FRONT_CENTER.read_bytes()[:44] + b"not audio")
    with pytest.raises(FormatError):
        spill_mono_16k(damaged, directory=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["damaged.wav"]


def test_segmenter_reading_the_spilled_signal_in_windows_equals_the_array(tmp_path):
    """On music the segmenter tags the undecided stretches' windows of the signal: read from the file, the same."""
    samples = mono_16k(EXAMPLE)
    probabilities = speech_probabilities(samples)
    with spill_mono_16k(EXAMPLE, directory=tmp_path) as signal:
        from_file = analyze(EXAMPLE, segmenter=LearnedSegmenter(mono_16k=signal, speech_probabilities=probabilities))
    in_memory = analyze(EXAMPLE, segmenter=LearnedSegmenter(mono_16k=samples, speech_probabilities=probabilities))
    assert from_file.segments.to_dict() == in_memory.segments.to_dict()
    assert any(segment.label == "music" for segment in from_file.segments.segments)
