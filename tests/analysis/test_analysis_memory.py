"""Peak memory of analyze() and of moderate(bleep=) does not grow with the duration of the file.

Both read a file in blocks (analyze: per-frame features only; bleeping: the
windows around the flagged words, then the bleeped copy written block by
block). A 2-minute and a 12-minute 48 kHz stereo episode (espeak-ng speech
with planted profanity, the same 40 s passage repeated, its transcript
repeated with it) each run in a fresh process that reports its peak RSS
(``getrusage``) after analyze() and after moderate(bleep=). Reading the
12-minute file whole would take 276 MB of float32 samples for the decode
alone, 230 MB more than the 2-minute one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from _episodes import Line, build_episode

import audiokit
from audiokit.io.resample import resample
from audiokit.io.writer import AudioWriter

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RATE = 48000
#: peak RSS may grow by less than this from the 2-minute to the 12-minute episode, MB (per-frame analysis
#: features, 36 bytes per 23 ms frame, and the flags and spans of the longer transcript grow legitimately)
GROWTH_ALLOWANCE_MB = 40
#: the passage: the profanity sentence of tests/_episodes.SCRIPT between clean ones, with pauses
PASSAGE = (
    Line("Welcome back to the show about sound and the people who make it.", pause_before_s=1.0),
    Line("Honestly, the old mixing desk was a real pain in the ass.", voice="en-gb", pause_before_s=0.6),
    Line("Half of the channels crackled whenever the heating came on.", pause_before_s=0.5),
    Line("We learned which faders to avoid and wrote warnings on masking tape.", voice="en-us+f3",
         pause_before_s=0.8, music=True),
    Line("This shit is getting old, said the engineer.", pause_before_s=0.7),
)
#: the transcript's word times run this late (Whisper's are mostly late)
LATE_S = 0.08

_MEASURE = """
import json, resource, sys
from audiokit.analysis import analyze
from audiokit.models.moderation import moderate

source, transcript, output, report = sys.argv[1:]
analysis = analyze(source, segment_method="energy")
after_analysis = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result = moderate(source, transcript=transcript, bleep=output, audio_checks=False)
after_bleep = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(report, "w") as handle:
    json.dump({"analysis_mb": after_analysis, "bleep_mb": after_bleep, "duration_s": analysis.duration_s,
               "bleeped": len(result.bleep.spans)}, handle)
"""


def _episode(folder: Path, minutes: float) -> tuple[Path, Path, int]:
    """The passage repeated for ``minutes`` as a 48 kHz stereo FLAC (written in passages), its transcript, and
    how many words the transcript flags."""
    passage = build_episode(PASSAGE, seed=1, tail_s=0.5)
    samples = resample(passage.samples, passage.sample_rate, SAMPLE_RATE)
    stereo = np.ascontiguousarray(np.concatenate([samples, 0.8 * samples]))
    repeats = int(np.ceil(minutes * 60 * SAMPLE_RATE / stereo.shape[1]))
    path = folder / f"episode-{minutes:g}min.flac"
    with AudioWriter(path, SAMPLE_RATE, 2, bit_depth=16) as writer:
        for _ in range(repeats):
            writer.write(stereo)
    passage_s = passage.duration_s
    segments = []
    for repeat in range(repeats):
        for sentence in passage.sentences:
            offset_s = repeat * passage_s + LATE_S
            words = [{"text": " " + word.text, "start_s": round(offset_s + passage.seconds(word.start), 3),
                      "end_s": round(offset_s + passage.seconds(word.end), 3), "probability": 0.9}
                     for word in sentence.words]
            segments.append({"start_s": words[0]["start_s"], "end_s": words[-1]["end_s"], "text": sentence.text,
                             "words": words})
    transcript = folder / f"episode-{minutes:g}min.json"
    transcript.write_text(json.dumps({"language": "en", "segments": segments}), encoding="utf-8")
    return path, transcript, 2 * repeats


def _peaks_mb(folder: Path, minutes: float) -> dict:
    source, transcript, flagged = _episode(folder, minutes)
    report = folder / f"rss-{minutes:g}.json"
    command = [sys.executable, "-c", _MEASURE, str(source), str(transcript), str(folder / f"clean-{minutes:g}.flac"),
               str(report)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr
    peaks = json.loads(report.read_text())
    assert peaks["duration_s"] == round(audiokit.probe(source).duration_s, 6)
    assert peaks["bleeped"] == flagged  # every planted word of every repeat was bleeped
    return peaks


def test_analysis_and_bleeping_memory_does_not_grow_with_duration(tmp_path):
    short, long = _peaks_mb(tmp_path, 2), _peaks_mb(tmp_path, 12)
    print(f"peak RSS, 48 kHz stereo FLAC: analyze {short['analysis_mb']:.0f} MB at 2 min, "
          f"{long['analysis_mb']:.0f} MB at 12 min; + moderate(bleep=) {short['bleep_mb']:.0f} MB at 2 min, "
          f"{long['bleep_mb']:.0f} MB at 12 min")
    for stage in ("analysis_mb", "bleep_mb"):
        assert long[stage] - short[stage] < GROWTH_ALLOWANCE_MB, (stage, short, long)
