"""Benchmark ``audiokit normalize --preset podcast`` as whole processes, against ffmpeg's two-pass loudnorm.

Input: the test suite's espeak-ng podcast episode (tests/_episodes.py; several
voices, pauses, a music bed, reverb), ``--minutes`` long (default 16),
resampled to 44.1 kHz stereo (right channel at 0.9, both at 0.3 so the preset
must raise it) and written as a 16-bit WAV, what a creator uploads.

Contenders, each a whole process (start-up, imports and Numba's kernel loads
included), per output format (WAV, FLAC, MP3):

- ``audiokit_<fmt>``: ``audiokit normalize episode.wav out.<fmt> --preset
  podcast`` (-16 LUFS, -1 dBTP, limit mode; the output keeps 16 bits, the MP3
  is 192 kbit/s and is level-matched: decoded, measured and encoded again);
- ``audiokit_before_<fmt>`` (with ``--before TREE``): the same command from
  another checkout (``git worktree add TREE COMMIT``), its own ``cli/`` too
  (``--after TREE`` likewise names the checkout timed as ``audiokit``);
- ``ffmpeg_loudnorm_<fmt>`` (the anchor): Debian's ffmpeg, the documented
  two-pass ``loudnorm`` (I=-16, TP=-1, LRA=11): one pass prints the
  measurements, the second applies them with ``linear=true`` and encodes the
  same format (``-ar 44100``; MP3 ``libmp3lame -b:a 192k``), one shell script.

Rounds are interleaved (every contender once per round), a warm-up round of
the WAV contenders loads each tree's Numba cache, and each run's wall time,
CPU time (user + system of the process and its children, ``os.wait4``) and
peak RSS (``ru_maxrss``; for the anchor, its largest process) are recorded.
Outputs of the two checkouts are compared byte for byte.

Run ``python benchmarks/bench_normalize.py [--after TREE] [--before TREE]``;
writes benchmarks/results/normalize.json. Needs espeak-ng and Debian's ffmpeg.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import versions, write_json

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("wav", "flac", "mp3")
PRESET, TARGET_LUFS, CEILING_DBTP, LRA_LU = "podcast", -16.0, -1.0, 11.0
MP3_BITRATE = "192k"
#: Runs ``audiokit`` from the checkout in argv[1], with that checkout's cli/ (the install maps audiokit.cli to one).
_LAUNCH = (
    "import sys\n"
    "tree = sys.argv.pop(1)\n"
    "sys.path.insert(0, tree)\n"
    "import audiokit\n"
    "assert audiokit.__file__.startswith(tree), audiokit.__file__\n"
    "audiokit.__path__.append(tree)\n"
    "from audiokit.cli.main import main\n"
    "sys.argv[0] = 'audiokit'\n"
    "assert sys.modules['audiokit.cli'].__file__.startswith(tree), sys.modules['audiokit.cli'].__file__\n"
    "sys.exit(main())\n"
)
#: ffmpeg's two-pass loudnorm: measure, then apply the measurements linearly ($1 input, $2 output, $3 codec args).
_LOUDNORM = """set -e
filter="loudnorm=I={target}:TP={ceiling}:LRA={lra}"
ffmpeg -nostdin -hide_banner -i "$1" -af "$filter:print_format=json" -f null - 2> "$2.pass1.txt"
measured=$(sed -n '/^{{/,/^}}/p' "$2.pass1.txt")
value() {{ printf '%s\\n' "$measured" | sed -n "s/.*\\"$1\\" : \\"\\([^\\"]*\\)\\".*/\\1/p"; }}
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$1" -af "$filter:measured_I=$(value input_i):measured_TP=$(value input_tp):measured_LRA=$(value input_lra):measured_thresh=$(value input_thresh):offset=$(value target_offset):linear=true" -ar 44100 $3 "$2"
"""
_FFMPEG_CODEC_ARGS = {"wav": "-c:a pcm_s16le", "flac": "-c:a flac -sample_fmt s16", "mp3": f"-c:a libmp3lame -b:a {MP3_BITRATE}"}


_MAKE_EPISODE = """
import sys
sys.path.insert(0, sys.argv[3])
import numpy as np
from _episodes import available, episode
import audiokit
from audiokit.io.resample import resample
if not available():
    raise SystemExit("bench_normalize: espeak-ng is needed for the episode: apt-get install -y espeak-ng")
made = episode(float(sys.argv[2]))
speech = resample(made.samples, made.sample_rate, 44100)
stereo = np.vstack([speech, 0.9 * speech]) * np.float32(0.3)
audiokit.write(sys.argv[1], audiokit.Audio(stereo, 44100))
print(stereo.shape[1] / 44100)
"""


def make_episode(path: Path, minutes: float) -> float:
    """Write the espeak episode as a 44.1 kHz stereo 16-bit WAV; returns its duration, seconds.

    Made in a process of its own: a child inherits its parent's resident memory
    until it execs, and Linux counts that in the child's peak RSS, so this
    process stays small while it starts the timed ones.
    """
    made = subprocess.run([sys.executable, "-c", _MAKE_EPISODE, str(path), str(minutes), str(ROOT / "tests")],
                          capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f"bench_normalize: making the episode failed:\n{made.stderr[-2000:]}")
    return float(made.stdout.split()[-1])


def run_process(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command`` to the end; its wall seconds, CPU seconds (with children) and peak RSS (MB)."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)  # its own rusage, with the children it waited for
        wall_s = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"bench_normalize: {' '.join(command)} failed ({process.returncode}):\n"
                             f"{stderr.read().decode(errors='replace')[-2000:]}")
        return {"wall_s": wall_s, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
                "stdout": stdout.read().decode(errors="replace")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measured_lufs(path: Path) -> dict:
    """The delivered file's loudness and true peak, as audiokit measures it (in a process of its own: see make_episode)."""
    code = ("import json, sys\nfrom audiokit.loudness import measure_file\nr = measure_file(sys.argv[1])\n"
            "print(json.dumps({'integrated_lufs': round(r.integrated_lufs, 3), 'true_peak_dbtp': round(r.true_peak_dbtp, 3)}))")
    measured = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return json.loads(measured.stdout)


def summarize(runs: dict[str, list[dict]], reports: dict[str, dict], formats: list[str], trees: dict[str, Path],
              duration_s: float) -> dict:
    """Medians per contender, and per format audiokit's ratios to the anchor and to the other checkout."""
    summary = {}
    for key, values in runs.items():
        summary[key] = {
            "median_wall_s": statistics.median(r["wall_s"] for r in values),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in values),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in values),
            "x_realtime_wall": duration_s / statistics.median(r["wall_s"] for r in values),
            "repeats": len(values),
        }
    ratios = {}
    for fmt in formats:
        ours = summary[f"audiokit_{fmt}"]
        anchor = summary[f"ffmpeg_loudnorm_{fmt}"]
        ratios[fmt] = {"anchor_wall_over_audiokit": anchor["median_wall_s"] / ours["median_wall_s"],
                       "anchor_cpu_over_audiokit": anchor["median_cpu_s"] / ours["median_cpu_s"]}
        if "audiokit_before" in trees:
            before = summary[f"audiokit_before_{fmt}"]
            same = {r["output_sha256"] for r in runs[f"audiokit_{fmt}"] + runs[f"audiokit_before_{fmt}"]}
            ratios[fmt].update(before_wall_over_after=before["median_wall_s"] / ours["median_wall_s"],
                               before_cpu_over_after=before["median_cpu_s"] / ours["median_cpu_s"],
                               before_rss_over_after=before["max_peak_rss_mb"] / ours["max_peak_rss_mb"],
                               outputs_identical=len(same) == 1,
                               reports_identical=(reports[f"audiokit_{fmt}"] | {"output_file": None})
                               == (reports[f"audiokit_before_{fmt}"] | {"output_file": None}))
    return {"summary": summary, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=16.0, help="episode length (default 16)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--anchor-repeats", type=int, default=3,
                        help="rounds that run the ffmpeg anchor too (default 3; the first ones)")
    parser.add_argument("--after", type=Path, default=ROOT,
                        help="the checkout timed as audiokit (default this one; a clean worktree of a commit "
                             "keeps others' uncommitted changes out)")
    parser.add_argument("--before", type=Path, help="another checkout to time beside it (git worktree)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="output formats (default wav,flac,mp3)")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("bench_normalize: Debian's ffmpeg is needed for the anchor: apt-get install -y ffmpeg")
    ffmpeg_version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    trees = {"audiokit": args.after.resolve(), **({"audiokit_before": args.before.resolve()} if args.before else {})}
    commits = {name: subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True,
                                    text=True).stdout.strip() for name, tree in trees.items()}

    work = Path(tempfile.mkdtemp(prefix="bench_normalize."))
    try:
        source = work / "episode.wav"
        duration_s = make_episode(source, args.minutes)
        print(f"episode: {duration_s:.1f} s", flush=True)
        script = work / "loudnorm.sh"
        script.write_text(_LOUDNORM.format(target=TARGET_LUFS, ceiling=CEILING_DBTP, lra=LRA_LU))

        def contender(name: str, fmt: str) -> tuple[list[str], dict[str, str], Path]:
            out = work / f"{name}.{fmt}"
            if name in trees:  # a private Numba cache per checkout: one compiles what the other would reuse
                env = {**os.environ, "NUMBA_CACHE_DIR": str(work / f"numba-{name}")}
                command = [sys.executable, "-c", _LAUNCH, str(trees[name]), "normalize", str(source), str(out),
                           "--preset", PRESET, "--force", "--json"]
            else:
                env = dict(os.environ)
                command = ["sh", str(script), str(source), str(out), _FFMPEG_CODEC_ARGS[fmt]]
            return command, env, out

        names = [*trees, "ffmpeg_loudnorm"]
        load_before = os.getloadavg()
        for name in trees:  # warm-up: each checkout's kernels compiled into its cache, the input in the page cache
            command, env, _ = contender(name, "wav")
            print(f"warm-up {name}: {run_process(command, env)['wall_s']:.1f} s", flush=True)
        runs: dict[str, list[dict]] = {}
        reports: dict[str, dict] = {}
        for round_index in range(args.repeats):
            for fmt in formats:
                for name in names:
                    if name not in trees and round_index >= args.anchor_repeats:
                        continue
                    command, env, out = contender(name, fmt)
                    out.unlink(missing_ok=True)
                    result = run_process(command, env)
                    key = f"{name}_{fmt}"
                    if name in trees:
                        reports[key] = json.loads(result["stdout"])[0]
                    result["output_sha256"] = sha256(out)
                    del result["stdout"]
                    runs.setdefault(key, []).append(result)
                    print(f"round {round_index + 1} {key:26s} wall {result['wall_s']:6.1f} s  cpu {result['cpu_s']:6.1f} s"
                          f"  peak RSS {result['peak_rss_mb']:5.0f} MB", flush=True)
            # Written after every round, so that a run cut short still leaves its complete rounds.
            document = {
                "input": {"content": "espeak-ng episode (tests/_episodes.py), 44.1 kHz stereo 16-bit WAV",
                          "minutes_asked": args.minutes, "duration_s": duration_s, "preset": PRESET,
                          "target_lufs": TARGET_LUFS, "true_peak_dbtp": CEILING_DBTP},
                "command": "audiokit normalize episode.wav out.<fmt> --preset podcast --force --json (whole process)",
                "anchor": "sh: ffmpeg -af loudnorm=I=-16:TP=-1:LRA=11:print_format=json, then loudnorm with the "
                          "measured values and linear=true, -ar 44100, same codec",
                "checkouts": {name: {"tree": str(tree), "commit": commits[name]} for name, tree in trees.items()},
                "versions": {**versions("av"), "ffmpeg_cli": ffmpeg_version},
                "rounds_completed": round_index + 1,
                "anchor_repeats": min(args.anchor_repeats, round_index + 1),
                "load_average_before": load_before,
                "load_average_after": os.getloadavg(),
                **summarize(runs, reports, formats, trees, duration_s),
                "delivered": {f"{name}_{fmt}": measured_lufs(contender(name, fmt)[2])
                              for fmt in formats for name in names},
                "audiokit_reports": {key: {k: report[k] for k in ("gain_db", "limiter_max_reduction_db", "level_match")}
                                     for key, report in reports.items()},
                "runs": runs,
            }
            written = write_json("normalize", document)
            print(f"round {round_index + 1} done, load average {os.getloadavg()}; wrote {written}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for fmt, row in document["ratios"].items():
        print(fmt, {key: (round(value, 3) if isinstance(value, float) else value) for key, value in row.items()})

if __name__ == "__main__":
    main()
