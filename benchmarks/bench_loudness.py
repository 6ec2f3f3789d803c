"""Benchmark audiokit's loudness meter against pyloudnorm and ffmpeg's ebur128 filter.

Speed: the same 10-minute stereo 44.1 kHz float32 programme, one thread,
interleaved repeats, warm-up discarded:

- audiokit ``measure`` (the full report: integrated, LRA, true peak, sample
  peak, momentary and short-term maxima at 10 ms);
- audiokit ``LoudnessMeter`` fed 1024-frame blocks (streaming throughput);
- pyloudnorm ``Meter.integrated_loudness`` (integrated loudness alone);
- ffmpeg ``ebur128=peak=true`` through PyAV (abuffer -> ebur128 -> abuffersink),
  and ``ebur128`` without true peak.

audiokit's true peak skips 256-sample segments whose bound cannot beat the
running peak (exact branch-and-bound), so its cost depends on the programme;
full-band white noise, the worst case for that bound, is timed as well.

Compile time: ``measure`` in a fresh process with an empty Numba cache (first
call compiles) and again in a second process (first call loads the cache).

Run ``python benchmarks/bench_loudness.py``; writes benchmarks/results/loudness.json
(and loudness.png when matplotlib is installed).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # one thread for every contender

import fractions  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import av  # noqa: E402
import av.filter  # noqa: E402
import numpy as np  # noqa: E402
import pyloudnorm  # noqa: E402
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json  # noqa: E402

from audiokit.loudness import LoudnessMeter, measure  # noqa: E402

DURATION_S = 600.0
SAMPLE_RATE = 44100
NUM_CHANNELS = 2
REPEATS = 5
STREAM_BLOCK_FRAMES = 1024
#: Frames per AudioFrame pushed into ffmpeg's filter graph (large: PyAV overhead per push is small).
FFMPEG_FRAME = 16384
SUBJECT = "audiokit_full_report"
#: What the compile-time subprocess runs: import, then the first call on 5 s of noise.
_FIRST_CALL = (
    "import time, numpy as np\n"
    "from audiokit.loudness import measure\n"
    "x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 5 * 44100)).astype(np.float32)\n"
    "start = time.perf_counter(); measure(x, 44100); print(time.perf_counter() - start)\n"
)


def programme(duration_s: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Music-like stereo: notes with harmonics and decays, pink-ish noise, phrase-level dynamics."""
    rng = np.random.default_rng(seed)
    period = 30 * sample_rate  # synthesize 30 s, vary its level per repetition
    t = np.arange(period) / sample_rate
    base = np.zeros((2, period))
    for note in range(30 * 4):
        start = note * sample_rate // 4
        length = min(period - start, sample_rate // 2)
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        envelope = np.exp(-3.0 * np.arange(length) / sample_rate) * rng.uniform(0.2, 1.0)
        for harmonic in range(1, 6):
            phase = 2 * np.pi * f0 * harmonic * t[start:start + length] + rng.uniform(0, 6.3)
            base[:, start:start + length] += envelope * np.sin(phase) / harmonic * rng.uniform(0.5, 1.0, (2, 1))
    pinkish = np.cumsum(rng.standard_normal((2, period)), axis=1)
    pinkish -= np.convolve(pinkish[0], np.ones(64) / 64, "same")[np.newaxis]
    base += 0.02 * pinkish / np.abs(pinkish).max()
    base *= 0.9 / np.abs(base).max()
    repeats = int(np.ceil(duration_s * sample_rate / period))
    levels = 10 ** (rng.uniform(-12, 0, repeats) / 20)
    out = np.concatenate([base * level for level in levels], axis=1)[:, : round(duration_s * sample_rate)]
    return out.astype(np.float32)


def ffmpeg_ebur128(samples: np.ndarray, sample_rate: int, *, true_peak: bool) -> dict:
    """ffmpeg's ebur128 through PyAV; the programme values from the last frame's metadata."""
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="fltp", sample_rate=sample_rate, layout="stereo",
                               time_base=fractions.Fraction(1, sample_rate))
    meter = graph.add("ebur128", "peak=true:metadata=1" if true_peak else "metadata=1")
    sink = graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    metadata = {}
    for start in range(0, samples.shape[1], FFMPEG_FRAME):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + FFMPEG_FRAME]),
                                           format="fltp", layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = start
        graph.push(frame)
        while True:
            try:
                metadata = graph.pull().metadata
            except (av.BlockingIOError, av.EOFError):
                break
    result = {"integrated_lufs": float(metadata["lavfi.r128.I"])}
    if true_peak:
        result["true_peak_dbtp"] = 20 * float(np.log10(float(metadata["lavfi.r128.true_peak"])))
    return result


def stream(samples: np.ndarray, sample_rate: int):
    """LoudnessMeter fed STREAM_BLOCK_FRAMES at a time, as a file reader would."""
    meter = LoudnessMeter(sample_rate, samples.shape[0])
    for start in range(0, samples.shape[1], STREAM_BLOCK_FRAMES):
        meter.process(samples[:, start:start + STREAM_BLOCK_FRAMES])
    return meter.report()


def contenders(samples: np.ndarray, noise: np.ndarray) -> dict:
    interleaved = np.ascontiguousarray(samples.T, dtype=np.float64)  # pyloudnorm's layout
    pyln = pyloudnorm.Meter(SAMPLE_RATE)
    return {
        SUBJECT: lambda: measure(samples, SAMPLE_RATE),
        "audiokit_streaming_1024": lambda: stream(samples, SAMPLE_RATE),
        "audiokit_full_report_white_noise": lambda: measure(noise, SAMPLE_RATE),
        "pyloudnorm_integrated": lambda: pyln.integrated_loudness(interleaved),
        "ffmpeg_ebur128_true_peak": lambda: ffmpeg_ebur128(samples, SAMPLE_RATE, true_peak=True),
        "ffmpeg_ebur128": lambda: ffmpeg_ebur128(samples, SAMPLE_RATE, true_peak=False),
    }


def first_call_times() -> dict:
    """First call in a process with an empty Numba cache, then in a second process using it."""
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=environment, check=True,
                                  capture_output=True, text=True)
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return {"compile_first_process_s": times[0], "cached_second_process_s": times[1]}


def plot(summary: dict) -> None:
    """Bar chart of x-realtime per contender, if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    names = list(summary)
    figure, axis = plt.subplots(figsize=(8, 3.8))
    axis.barh(names[::-1], [summary[name]["x_realtime"] for name in names[::-1]])
    axis.set_xlabel("x realtime (10 min stereo 44.1 kHz, 1 thread)")
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / "loudness.png", dpi=120)


def main() -> None:
    samples = programme(DURATION_S, SAMPLE_RATE)
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, samples.shape).astype(np.float32)
    compile_times = first_call_times()
    print(f"first call: {compile_times['compile_first_process_s']:.2f} s compiling, "
          f"{compile_times['cached_second_process_s']:.2f} s from the cache")
    runs = contenders(samples, noise)
    times = time_interleaved(runs, repeats=REPEATS)
    summary = summarize(times, audio_seconds=DURATION_S, subject=SUBJECT)
    for name, row in summary.items():
        print(f"{name:>34} {row['median_s']:7.3f} s  {row['x_realtime']:7.0f}x realtime  "
              f"audiokit speed-up {row.get('audiokit_speedup', 1.0):5.2f}")
    report = measure(samples, SAMPLE_RATE)
    values = {
        "audiokit": report.to_dict(),
        "pyloudnorm_integrated_lufs": runs["pyloudnorm_integrated"](),
        "ffmpeg_ebur128_true_peak": ffmpeg_ebur128(samples, SAMPLE_RATE, true_peak=True),
    }
    path = write_json("loudness", {
        "versions": versions("pyloudnorm", "av"),
        "input": {"signal": "music-like programme (notes + pink-ish noise, 12 dB of phrase dynamics)",
                  "duration_s": DURATION_S, "sample_rate": SAMPLE_RATE, "num_channels": NUM_CHANNELS,
                  "dtype": "float32", "threads": 1, "stream_block_frames": STREAM_BLOCK_FRAMES},
        "repeats": REPEATS,
        "summary": summary,
        "first_call": compile_times,
        "values": values,
    })
    print(f"wrote {path}")
    plot(summary)


if __name__ == "__main__":
    main()
