"""Benchmark the spotify-like ladder: ``audiokit ladder`` against the ffmpeg CLI, whole processes.

Input: a 3-minute 44.1 kHz stereo 16-bit FLAC of real-ish music: the bundled
``examples/example.flac`` (synthesized pop) looped with a slow level drift, as
benchmarks/bench_ingest.py builds its tracks. Contenders, each a fresh process
(interpreter start, imports and Numba cache loads included), interleaved,
warm-up discarded:

- ``audiokit``: ``audiokit ladder --qa off`` (one streaming decode, one resampler
  per rate, the 7 rungs encoded in threads while the source is decoded) -- the
  same work as the anchors, plus the loudness meters of the gain tags;
- ``audiokit_qa``: ``--qa fast``, the default (each rendition decoded back in its
  encoder thread, measured, tagged with its own gain, checked);
- ``audiokit_qa_full``: ``--qa full`` (also whole-track alignment and AAC level matching by re-encoding);
- ``ffmpeg_one_process``: one Debian ``ffmpeg`` process writing the 7 renditions
  with the same encoders and settings (libopus constrained VBR at 48 kHz, aac, flac);
- ``ffmpeg_per_rendition``: one ``ffmpeg`` process per rendition, one after another.

Besides wall time, each contender's CPU time (user + system of the process and
its children) is recorded; QA's CPU share is the CPU ``--qa fast`` adds over
``--qa off``, as a fraction of ``--qa off``'s (the encoders' and the decode's).
The load average before and after the runs is recorded: the machine is shared.

Per-codec encode speed (one thread, one rendition, the same 5 minutes):
PyAV's bundled encoders through audiokit's writer against Debian's ffmpeg.

Run ``python benchmarks/bench_ladder.py [SECONDS [REPEATS]]`` (default 180 s, 3
repeats); writes benchmarks/results/ladder.json (and ladder.png when matplotlib
is installed). Needs Debian's ``ffmpeg`` (``apt-get install -y ffmpeg``).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.transcode import LADDERS, build_ladder

DURATION_S = float(sys.argv[1]) if len(sys.argv) > 1 else 180.0
SAMPLE_RATE = 44100
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
PRESET = "spotify-like"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "example.flac"
#: The audiokit command line, as installed.
AUDIOKIT = [sys.executable, "-c", "from audiokit.cli.main import main; main()"]


def _music(frames: int) -> np.ndarray:
    """The bundled example looped to ``frames``, with a slow +-3 dB level drift, stereo float32."""
    loop = audiokit.read(EXAMPLE, sample_rate=SAMPLE_RATE).samples.astype(np.float64)
    samples = np.tile(loop, -(-frames // loop.shape[1]))[:, :frames]
    t = np.arange(frames) / SAMPLE_RATE
    samples *= 10 ** ((3.0 * np.sin(2 * np.pi * t / 37.0) - 4.0) / 20)
    return (samples * min(1.0, 0.98 / np.abs(samples).max())).astype(np.float32)


def _cpu_s() -> float:
    """User + system seconds of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ffmpeg_outputs(out: Path) -> list[list[str]]:
    """ffmpeg output arguments for each rung of the preset (same encoders and bitrates)."""
    outputs = []
    for rung in LADDERS[PRESET]:
        if rung.codec == "opus":
            args = ["-c:a", "libopus", "-b:a", str(rung.bitrate_bps), "-vbr", "constrained", "-ar", "48000",
                    str(out / f"{rung.name}.opus")]
        elif rung.codec == "aac":
            args = ["-c:a", "aac", "-b:a", str(rung.bitrate_bps), str(out / f"{rung.name}.m4a")]
        else:
            args = ["-c:a", "flac", "-sample_fmt", "s32", str(out / f"{rung.name}.flac")]
        outputs.append(["-map", "0:a", *args])
    return outputs


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def main() -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("bench_ladder: Debian's ffmpeg is needed for the anchors: apt-get install -y ffmpeg")
    ffmpeg_version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    work = Path(tempfile.mkdtemp(prefix="bench_ladder."))
    source = work / "master.flac"
    audiokit.write(source, audiokit.Audio(_music(round(DURATION_S * SAMPLE_RATE)), SAMPLE_RATE), bit_depth=16)
    base = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-threads", "1", "-i", str(source)]
    load_before = os.getloadavg()
    cpu: dict[str, list[float]] = {}

    def with_cpu(name, run):
        def measured():
            before = _cpu_s()
            run()
            cpu.setdefault(name, []).append(_cpu_s() - before)
        return measured

    def audiokit_ladder(qa: str):
        def run():
            subprocess.run([*AUDIOKIT, "ladder", str(source), "-o", str(work / f"ak_{qa}"), "--ladder", PRESET,
                            "--qa", qa, "--force"], check=True, stdout=subprocess.DEVNULL)
        return run

    def ffmpeg_one_process():
        out = _fresh(work / "ffmpeg_one")
        subprocess.run([*base, *[arg for output in _ffmpeg_outputs(out) for arg in output]], check=True)

    def ffmpeg_per_rendition():
        out = _fresh(work / "ffmpeg_each")
        for output in _ffmpeg_outputs(out):
            subprocess.run([*base, *output], check=True)

    contenders = {
        "audiokit": audiokit_ladder("off"),
        "audiokit_qa": audiokit_ladder("fast"),
        "audiokit_qa_full": audiokit_ladder("full"),
        "ffmpeg_one_process": ffmpeg_one_process,
        "ffmpeg_per_rendition": ffmpeg_per_rendition,
    }
    times = time_interleaved({name: with_cpu(name, run) for name, run in contenders.items()},
                             repeats=REPEATS, warmup=1)
    summary = summarize(times, audio_seconds=DURATION_S, subject="audiokit")
    cpu_s = {name: float(np.median(values[1:] if len(values) > 1 else values)) for name, values in cpu.items()}
    qa_cpu_share = (cpu_s["audiokit_qa"] - cpu_s["audiokit"]) / cpu_s["audiokit"]
    load_after = os.getloadavg()
    result = build_ladder(source, work / "ak_qa", ladder=PRESET, force=True)

    # Per-codec encode speed, one thread, one rendition each.
    audio = audiokit.read(source)
    at_48k = audiokit.io.resample.resample(audio.samples, SAMPLE_RATE, 48000)
    per_codec = {}
    for name, path, samples, rate, options, ffmpeg_args in (
        ("opus_160k", "x.opus", at_48k, 48000, {"bitrate_bps": 160_000}, ["-c:a", "libopus", "-b:a", "160000", "-ar", "48000"]),
        ("aac_256k", "x.m4a", audio.samples, SAMPLE_RATE, {"bitrate_bps": 256_000}, ["-c:a", "aac", "-b:a", "256000"]),
        ("mp3_320k", "x.mp3", audio.samples, SAMPLE_RATE, {"bitrate_bps": 320_000}, ["-c:a", "libmp3lame", "-b:a", "320000"]),
        ("flac_24bit", "x.flac", audio.samples, SAMPLE_RATE, {"bit_depth": 24}, ["-c:a", "flac", "-sample_fmt", "s32"]),
    ):
        target = work / path

        def pyav(samples=samples, rate=rate, options=options, target=target):
            audiokit.write(target, audiokit.Audio(samples, rate), **options)

        def cli(ffmpeg_args=ffmpeg_args, target=target):
            subprocess.run([*base, *ffmpeg_args, str(target)], check=True)

        codec_times = time_interleaved({"audiokit_pyav": pyav, "ffmpeg_cli": cli}, repeats=REPEATS, warmup=1)
        per_codec[name] = summarize(codec_times, audio_seconds=DURATION_S, subject="audiokit_pyav")

    document = {
        "input": {"duration_s": DURATION_S, "sample_rate": SAMPLE_RATE, "channels": 2, "format": "FLAC 16-bit",
                  "content": "examples/example.flac looped, +-3 dB drift",
                  "preset": PRESET, "rungs": [rung.to_dict() for rung in LADDERS[PRESET]]},
        "versions": {**versions("av"), "ffmpeg_cli": ffmpeg_version},
        "repeats": REPEATS,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "ladder": summary,
        "cpu_s": cpu_s,
        "qa_cpu_share_of_encoding": qa_cpu_share,
        "per_codec": per_codec,
        "renditions": [{key: r.to_dict()[key] for key in ("name", "measured_bitrate_bps", "integrated_lufs",
                                                           "bandwidth_hz", "mel_distance")} for r in result.renditions],
    }
    path = write_json("ladder", document)
    _plot(document)
    shutil.rmtree(work)
    print(path)
    for name, row in summary.items():
        print(f"{name:22s} {row['median_s']:7.2f} s  {row['x_realtime']:6.1f}x realtime  "
              f"audiokit speed-up {row.get('audiokit_speedup', 1.0):.2f}")
    for name, seconds in cpu_s.items():
        print(f"{name:22s} {seconds:7.2f} s CPU")
    print(f"QA fast CPU over QA off: {qa_cpu_share:.1%}; load average {load_before} -> {load_after}")
    for codec, rows in per_codec.items():
        print(f"{codec:12s} pyav {rows['audiokit_pyav']['median_s']:.2f} s  cli {rows['ffmpeg_cli']['median_s']:.2f} s")


def _plot(document: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(document["ladder"])
    seconds = [document["ladder"][name]["median_s"] for name in names]
    figure, axis = plt.subplots(figsize=(7, 3))
    axis.barh(names, seconds)
    axis.set_xlabel(f"median seconds, {DURATION_S:g} s stereo 44.1 kHz, spotify-like ladder")
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / "ladder.png", dpi=120)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
