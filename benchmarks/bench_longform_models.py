"""Which registry model keeps more of a long episode? tiny.en against base on the same generated episode.

The test suite's generated episode (tests/_episodes.py: four espeak-ng
voices, 140-170 words a minute, pauses, a music bed, reverb) is transcribed
by audiokit's default long form (``transcribe()``: faster backend, int8,
beam 5, Silero VAD) once with each model of the Whisper registry, the model
being the only option changed (``base`` is multilingual and detects the
language itself, as it does for a user who names only the model).

Per model: wall and CPU seconds of the transcription in this process, WER
against the script, sentences under 80 % of their words matched in order and
sentences lost (under 20 %), the lowest sentence kept, and how many readings
of the planted swear word ("ass", tests/models/test_moderate_episode.py) the
transcript flags with the shipped English lexicon. Writes
benchmarks/results/transcribe_models.json.

Run ``python benchmarks/bench_longform_models.py [--minutes 10]``. Needs
espeak-ng and ``audiokit[ml,whisper-base]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _harness import versions, write_json

from audiokit.models.moderation.lexicon import load_lexicon
from audiokit.models.moderation.transcript import flag_transcript
from audiokit.models.whisper import REGISTRY, resolve_model, transcribe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _episodes import episode, sentence_coverage, word_error_rate, words_of  # noqa: E402
from _results import checkout_state, utc_now  # noqa: E402

#: a sentence is kept well at this share of its words, and lost under the second (the long-form tests' lines)
WELL_KEPT, LOST_UNDER = 0.8, 0.2
#: the word planted in one sentence of the script
PLANTED = "ass"
#: a flag counts for a planted word when it overlaps the word's span widened by this, s
OVERLAP_SLACK_S = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the episode, minutes")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import ctranslate2

    measured = {**checkout_state(), "date_utc": utc_now(), "load_average_before": os.getloadavg()}
    ep = episode(args.minutes)
    planted = [(ep.seconds(word.start), ep.seconds(word.end)) for sentence in ep.sentences
               for word in sentence.words if words_of(word.text) == [PLANTED]]
    lexicon = load_lexicon("en")
    models = {}
    with tempfile.TemporaryDirectory() as folder:
        path = ep.write(Path(folder) / "episode.wav")
        for name in REGISTRY:
            resolve_model(name)  # joins split weights into the cache before the clock starts
            ctranslate2.set_random_seed(0)
            wall, cpu = time.perf_counter(), time.process_time()
            segments, info = transcribe(path, model=name, num_threads=args.threads)
            segments = list(segments)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            text = " ".join(segment.text for segment in segments)
            coverage = sentence_coverage(ep, text)
            flags = flag_transcript(segments, lexicon=lexicon)
            flagged = sum(any(flag.start_s < end + OVERLAP_SLACK_S and flag.end_s > start - OVERLAP_SLACK_S
                              for flag in flags) for start, end in planted)
            models[name] = {
                "language": info.language, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                "wer": round(word_error_rate(ep, text), 4),
                "sentences_under_80pct": sum(c < WELL_KEPT for c in coverage),
                "sentences_lost": sum(c < LOST_UNDER for c in coverage),
                "lowest_sentence_kept": round(min(coverage), 3),
                "planted_flagged": flagged,
                "sentences_under_80pct_list": [
                    {"index": index, "text": sentence.text, "voice": sentence.voice,
                     "music": sentence.music, "reverb": sentence.reverb, "kept": round(coverage[index], 3)}
                    for index, sentence in enumerate(ep.sentences) if coverage[index] < WELL_KEPT],
            }
            print(name, {key: value for key, value in models[name].items() if not key.endswith("_list")}, flush=True)
    document = {
        "versions": versions("faster-whisper", "ctranslate2", "silero-vad", "jiwer"),
        "input": {"description": "tests/_episodes.py episode: 4 voices, 0.2-3 s pauses, music bed, reverb",
                  "minutes": args.minutes, "duration_s": ep.duration_s, "sentences": len(ep.sentences),
                  "planted": len(planted)},
        "options": "transcribe() defaults (faster, int8, beam 5, Silero VAD) with model= only",
        "threads": args.threads,
        **measured,
        "load_average_after": os.getloadavg(),
        "models": models,
    }
    out = write_json("transcribe_models", document)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
