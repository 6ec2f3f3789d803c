"""Benchmark the spotify-like ladder: audiokit.transcode.build_ladder against the ffmpeg CLI.

Input: a 5-minute 44.1 kHz stereo 24-bit FLAC (music-like synthetic signal).
Contenders, interleaved, warm-up discarded:

- ``audiokit``: ``build_ladder(..., qa="off")`` (decode once, resample once,
  encode the 7 rungs in threads) -- the same work as the anchors;
- ``audiokit_qa``: ``build_ladder(..., qa="fast")``, the default (each rendition
  decoded back in its encoder thread, measured, tagged with its own gain, checked);
- ``audiokit_qa_full``: ``qa="full"`` (also whole-track alignment and AAC level matching by re-encoding);
- ``ffmpeg_one_process``: one Debian ``ffmpeg`` process writing the 7 renditions
  with the same encoders (libopus, aac, flac) and bitrates;
- ``ffmpeg_per_rendition``: one ``ffmpeg`` process per rendition, one after another.

Per-codec encode speed (one thread, one rendition, the same 5 minutes):
PyAV's bundled encoders through audiokit's writer against Debian's ffmpeg.

Run ``python benchmarks/bench_ladder.py [SECONDS [REPEATS]]`` (default 300 s, 3
repeats); writes benchmarks/results/ladder.json (and ladder.png when matplotlib
is installed). Needs Debian's ``ffmpeg`` (``apt-get install -y ffmpeg``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.transcode import PRESETS, build_ladder

DURATION_S = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
SAMPLE_RATE = 44100
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
PRESET = "spotify-like"


def _music(frames: int) -> np.ndarray:
    """Tilted noise plus harmonic tones (as tests/transcode/_ladder_signals.py), stereo float32."""
    generator = np.random.default_rng(0)
    freqs = np.fft.rfftfreq(frames, 1 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    shape = (freqs / 1000) ** -0.75 / np.sqrt(1 + (freqs / 16000) ** 8)
    tilted = np.fft.irfft(np.fft.rfft(generator.standard_normal((2, frames)), axis=1) * shape, frames, axis=1)
    tilted /= tilted.std()
    t = np.arange(frames) / SAMPLE_RATE
    tones = sum(0.3 / k * np.sin(2 * np.pi * 110 * k * t + k) for k in range(1, 12))
    return (0.08 * tilted * (0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t) ** 2) + 0.25 * tones).astype(np.float32)


def _ffmpeg_outputs(out: Path) -> list[list[str]]:
    """ffmpeg output arguments for each rung of the preset (same encoders and bitrates)."""
    outputs = []
    for rung in PRESETS[PRESET]:
        if rung.codec == "opus":
            args = ["-c:a", "libopus", "-b:a", str(rung.bitrate_bps), "-ar", "48000", str(out / f"{rung.name}.opus")]
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
    audiokit.write(source, audiokit.Audio(_music(round(DURATION_S * SAMPLE_RATE)), SAMPLE_RATE), bit_depth=24)
    base = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-threads", "1", "-i", str(source)]

    def ffmpeg_one_process():
        out = _fresh(work / "ffmpeg_one")
        subprocess.run([*base, *[arg for output in _ffmpeg_outputs(out) for arg in output]], check=True)

    def ffmpeg_per_rendition():
        out = _fresh(work / "ffmpeg_each")
        for output in _ffmpeg_outputs(out):
            subprocess.run([*base, *output], check=True)

    contenders = {
        "audiokit": lambda: build_ladder(source, work / "ak", preset=PRESET, qa="off", force=True),
        "audiokit_qa": lambda: build_ladder(source, work / "ak_qa", preset=PRESET, qa="fast", force=True),
        "audiokit_qa_full": lambda: build_ladder(source, work / "ak_full", preset=PRESET, qa="full", force=True),
        "ffmpeg_one_process": ffmpeg_one_process,
        "ffmpeg_per_rendition": ffmpeg_per_rendition,
    }
    times = time_interleaved(contenders, repeats=REPEATS, warmup=1)
    summary = summarize(times, audio_seconds=DURATION_S, subject="audiokit")
    result = build_ladder(source, work / "ak_qa", preset=PRESET, force=True)

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
        "input": {"duration_s": DURATION_S, "sample_rate": SAMPLE_RATE, "channels": 2, "format": "FLAC 24-bit",
                  "preset": PRESET, "rungs": [rung.to_dict() for rung in PRESETS[PRESET]]},
        "versions": {**versions("av"), "ffmpeg_cli": ffmpeg_version},
        "repeats": REPEATS,
        "ladder": summary,
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
