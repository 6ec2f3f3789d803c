"""Spatial rendering benchmark: audiokit's BinauralRenderer against ffmpeg and scipy.

Scenes (fixed seeds): S1, N static sources spread over the sphere; S2, N moving
sources (half orbit at 90°/s, half at 360°/s, each sweeping its elevation ±30° at
0.5 Hz) while the head turns at 200°/s. Grid: N x block size x HRTF (KEMAR at
44.1 kHz when libmysofa1 is installed, the spherical head at 48 kHz). Metrics per
cell, one thread: source-seconds rendered per wall-second, p50/p99/max block
time, whether p99 fits the block period (and the largest such N), setup time,
renderer state memory. Anchors, static only, timed interleaved with audiokit on
the same input (warm-up discarded): ffmpeg's ``headphone`` filter through PyAV
(``hrir=multich``, frequency-domain; at most 34 sources, one per named ffmpeg
channel) and ``scipy.signal.oaconvolve`` in float32, one call per source and ear.
Accuracy: static render vs float64 direct convolution.

Writes ``bench_spatial.json`` (manifest: machine, versions, SOFA SHA-256) and,
when matplotlib is installed, ``bench_spatial_rtf.png`` (throughput vs N) and
``bench_spatial_blocks.png`` (block-time distributions).

Usage: ``python benchmarks/bench_spatial.py [--quick] [-o DIR]`` (quick: about a minute).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_variable] = "1"  # one thread for every contender

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json  # noqa: E402

KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
#: wall-clock cap per grid cell, seconds (the cell renders fewer blocks beyond it)
FULL = {"counts": (1, 4, 16, 64, 256, 1024), "blocks": (64, 128, 256, 512), "seconds": 2.0,
        "max_wall_s": 1.5, "anchor_counts": (4, 32), "anchor_seconds": 2.0, "repeats": 3}
QUICK = {"counts": (16, 256), "blocks": (128, 512), "seconds": 2.0,
         "max_wall_s": 1.5, "anchor_counts": (32,), "anchor_seconds": 2.0, "repeats": 5}
#: blocks rendered before timing (cycles every frame buffer once, loads the kernels)
WARMUP_BLOCKS = 8
#: ffmpeg channel names the headphone filter can map an HRIR pair to (LFE is not convolved)
FFMPEG_CHANNELS = ("FL FR FC BL BR FLC FRC BC SL SR TC TFL TFC TFR TBL TBC TBR DL DR WL WR SDL SDR "
                   "TSL TSR BFC BFL BFR SSL SSR TTL TTR BIL BIR").split()
ANCHOR_BLOCK = 512
SCENES = (("S1-static", False), ("S2-orbit90/360-elev-sweep-head200", True))


def _hrtfs():
    from audiokit.spatial import HRTF

    sets = [("spherical-head@48k", HRTF.spherical_head(48000), 48000)]
    if KEMAR.is_file():
        sets.insert(0, ("kemar@44.1k", HRTF.from_sofa(KEMAR), 44100))
    return sets


def _directions(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(0, 360, count), np.degrees(np.arcsin(rng.uniform(-0.6, 0.8, count)))])


def run_renderer(hrtf, rate: int, count: int, block: int, seconds: float, *, moving: bool,
                 max_wall_s: float) -> tuple[dict, np.ndarray]:
    """Render ``count`` sources for ``seconds`` (or until ``max_wall_s``); timing statistics."""
    from audiokit.spatial import BinauralRenderer

    start = time.perf_counter()
    renderer = BinauralRenderer(hrtf, rate, block_size=block)
    directions = _directions(count, seed=count)
    ids = [renderer.add_source(azimuth_deg=a, elevation_deg=e) for a, e in directions]
    setup_s = time.perf_counter() - start
    x = np.random.default_rng(1).uniform(-0.1, 0.1, (count, block)).astype(np.float32)
    for _ in range(WARMUP_BLOCKS):
        renderer.process(x)
    orbit = np.where(np.arange(count) % 2, 360.0, 90.0)
    phase = np.random.default_rng(count + 1).uniform(0, 2 * np.pi, count)
    blocks = max(8, int(seconds * rate / block))
    times = np.empty(blocks)
    wall = time.perf_counter()
    done = blocks
    for k in range(blocks):
        t0 = time.perf_counter()
        if moving:
            t = (k + 1) * block / rate
            elevation = np.clip(directions[:, 1] + 30.0 * np.sin(np.pi * t + phase), -89.0, 89.0)
            renderer.move_sources(ids, azimuth_deg=(directions[:, 0] + orbit * t) % 360,
                                  elevation_deg=elevation)
            renderer.set_listener(yaw_deg=(200.0 * t) % 360)
        renderer.process(x)
        times[k] = time.perf_counter() - t0
        if k >= 7 and times[k] + t0 - wall > max_wall_s:
            done = k + 1
            break
    times = times[:done]
    period = block / rate
    p99 = float(np.percentile(times, 99))
    return {"setup_s": setup_s, "blocks": done, "p50_ms": float(np.median(times) * 1e3),
            "p99_ms": p99 * 1e3, "max_ms": float(times.max() * 1e3),
            "source_seconds_per_s": float(count * done * period / times.sum()),
            "source_seconds_per_s_at_p50": float(count * period / np.median(times)),
            "fits_realtime_p99": bool(p99 <= period), "period_ms": 1e3 * period,
            "latency_ms": 1e3 * period, "state_bytes": renderer.state_bytes}, times


def _audiokit_static(hrtf, rate: int, x: np.ndarray, directions: np.ndarray):
    """Callable rendering ``x`` (sources, frames) with static sources, B = ANCHOR_BLOCK, tail included."""
    from audiokit.spatial import BinauralRenderer

    def render():
        renderer = BinauralRenderer(hrtf, rate, block_size=ANCHOR_BLOCK)
        for a, e in directions:
            renderer.add_source(azimuth_deg=a, elevation_deg=e)
        pieces = [renderer.process(x[:, i:i + ANCHOR_BLOCK]) for i in range(0, x.shape[1], ANCHOR_BLOCK)]
        pieces.append(renderer.flush())
        return np.concatenate(pieces, axis=1)

    return render


def _ffmpeg_headphone(rate: int, x: np.ndarray, irs: np.ndarray):
    """Callable rendering ``x`` through ffmpeg's headphone filter (PyAV), ``hrir=multich``.

    Input 0 carries one named channel per source; input 1 one stream with the
    HRIR pairs (left, right) of those channels in map order.
    """
    from fractions import Fraction

    import av
    from av.audio.frame import AudioFrame

    count = x.shape[0]
    names = FFMPEG_CHANNELS[:count]
    layout = "+".join(names)
    hrir = np.ascontiguousarray(irs.reshape(2 * count, -1).T).reshape(1, -1)

    def frame(samples: np.ndarray, channel_layout: str, pts: int) -> AudioFrame:
        out = AudioFrame.from_ndarray(samples, format="flt", layout=channel_layout)
        out.sample_rate, out.pts, out.time_base = rate, pts, Fraction(1, rate)
        return out

    def drain(sink, pieces: list) -> None:
        while True:
            try:
                pieces.append(sink.pull().to_ndarray())
            except (av.error.BlockingIOError, av.error.EOFError):
                return

    def render():
        graph = av.filter.Graph()
        source = graph.add_abuffer(sample_rate=rate, format="flt", layout=layout)
        filters = graph.add_abuffer(sample_rate=rate, format="flt", layout=f"{2 * count}C")
        headphone = graph.add("headphone", map="|".join(names), hrir="multich")
        sink = graph.add("abuffersink")
        source.link_to(headphone, 0, 0)
        filters.link_to(headphone, 0, 1)
        headphone.link_to(sink)
        graph.configure()
        filters.push(frame(hrir, f"{2 * count}C", 0))
        filters.push(None)
        pieces = []
        for i in range(0, x.shape[1], 1024):
            source.push(frame(np.ascontiguousarray(x[:, i:i + 1024].T).reshape(1, -1), layout, i))
            drain(sink, pieces)
        source.push(None)
        drain(sink, pieces)
        return np.concatenate(pieces, axis=1)

    return render


def _scipy_oaconvolve(x: np.ndarray, irs: np.ndarray):
    """Callable: scipy.signal.oaconvolve in float32, one call per source and ear."""
    from scipy.signal import oaconvolve

    def render():
        out = np.zeros((2, x.shape[1] + irs.shape[2] - 1), np.float32)
        for i in range(x.shape[0]):
            for ear in range(2):
                out[ear] += oaconvolve(x[i], irs[i, ear])
        return out

    return render


def run_anchors(name: str, hrtf, rate: int, count: int, seconds: float, repeats: int) -> dict:
    """Static N sources: audiokit vs ffmpeg headphone vs scipy, interleaved, same input."""
    directions = _directions(count, seed=count)
    frames = int(seconds * rate) // ANCHOR_BLOCK * ANCHOR_BLOCK
    seconds = frames / rate
    x = np.random.default_rng(2).uniform(-0.1, 0.1, (count, frames)).astype(np.float32)
    irs = np.stack([hrtf.ir(a, e) for a, e in directions])
    contenders = {"audiokit": _audiokit_static(hrtf, rate, x, directions),
                  "scipy.oaconvolve-float32": _scipy_oaconvolve(x, irs)}
    if count <= len(FFMPEG_CHANNELS):
        contenders["ffmpeg-headphone"] = _ffmpeg_headphone(rate, x, irs)
    times = time_interleaved(contenders, repeats=repeats)
    summary = summarize(times, audio_seconds=seconds, subject="audiokit")
    for result in summary.values():
        result["source_seconds_per_s"] = count * result["x_realtime"]
    return {"hrtf": name, "sources": count, "block_size": ANCHOR_BLOCK, "seconds": seconds,
            "contenders": summary}


def static_accuracy_db(hrtf, rate: int) -> float:
    """Renderer vs float64 direct convolution with the same (split) HRIR pair, dB."""
    from audiokit.spatial import fractional_delay, render_static

    x = np.random.default_rng(3).uniform(-0.5, 0.5, rate // 4)
    out = render_static(x.astype(np.float32), rate, hrtf, azimuth_deg=37.3, elevation_deg=12.5, block_size=256)
    aligned, delays = hrtf.split(37.3, 12.5)
    ref = np.stack([np.convolve(fractional_delay(x, delays[e], len(x) + 80), aligned[e].astype(float))
                    for e in range(2)])
    n = min(out.shape[1], ref.shape[1])
    return float(10 * np.log10(np.sum((out[:, :n] - ref[:, :n]) ** 2) / np.sum(ref[:, :n] ** 2)))


def realtime_capacity(rows: list) -> list:
    """Largest measured N whose p99 block time fits the block period, per HRTF, scene and block size."""
    table = []
    for key in sorted({(r["hrtf"], r["scene"], r["block_size"]) for r in rows}):
        fitting = [r["sources"] for r in rows if (r["hrtf"], r["scene"], r["block_size"]) == key
                   and r["fits_realtime_p99"]]
        table.append({"hrtf": key[0], "scene": key[1], "block_size": key[2],
                      "max_sources_p99_realtime": max(fitting) if fitting else 0})
    return table


def run(*, quick: bool, out_dir: Path) -> Path:
    """Run the suite and write JSON (and plots when matplotlib is present)."""
    import resource

    config = QUICK if quick else FULL
    started = time.perf_counter()
    manifest = {"versions": versions("scipy", "av"), "quick": quick, "config": config,
                "threads": 1, "moving_api": "BinauralRenderer.move_sources (one call per block)"}
    if KEMAR.is_file():
        from audiokit.spatial.sofa import sofa_sha256

        manifest["kemar_sha256"] = sofa_sha256(KEMAR)
    rows, anchors, accuracy, distributions = [], [], {}, {}
    for name, hrtf, rate in _hrtfs():
        first = time.perf_counter()
        accuracy[name] = static_accuracy_db(hrtf, rate)   # also loads the kernels' cache
        manifest.setdefault("first_render_s", {})[name] = time.perf_counter() - first
        for count in config["anchor_counts"]:
            anchors.append(run_anchors(name, hrtf, rate, count, config["anchor_seconds"], config["repeats"]))
            speeds = {k: round(v["source_seconds_per_s"]) for k, v in anchors[-1]["contenders"].items()}
            print(f"{name:20s} anchors N={count:4d}: {speeds} src-s/s", file=sys.stderr)
        for count in config["counts"]:
            for block in config["blocks"]:
                for scene, moving in SCENES:
                    result, times = run_renderer(hrtf, rate, count, block, config["seconds"], moving=moving,
                                                 max_wall_s=config["max_wall_s"])
                    rows.append({"hrtf": name, "scene": scene, "sources": count, "block_size": block, **result})
                    distributions[(name, scene, count, block)] = times
                    print(f"{name:20s} {scene:34s} N={count:5d} B={block:4d} "
                          f"{result['source_seconds_per_s']:9.0f} src-s/s  p99 {result['p99_ms']:.2f} ms "
                          f"(period {result['period_ms']:.2f})", file=sys.stderr)
    manifest["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    manifest["wall_s"] = time.perf_counter() - started
    document = {"manifest": manifest, "static_accuracy_db": accuracy, "anchors": anchors,
                "results": rows, "realtime_capacity": realtime_capacity(rows)}
    path = write_json("bench_spatial", document, out_dir)
    _plot(rows, distributions, out_dir)
    return path


def _plot(rows: list, distributions: dict, out_dir: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: plots skipped (pip install 'audiokit[bench]')", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in sorted({(r["hrtf"], r["scene"], r["block_size"]) for r in rows}):
        points = sorted((r["sources"], r["source_seconds_per_s"]) for r in rows
                        if (r["hrtf"], r["scene"], r["block_size"]) == key)
        ax.plot(*zip(*points), marker="o", label=f"{key[0]} {key[1].split('-')[0]} B={key[2]}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sources N")
    ax.set_ylabel("source-seconds per wall-second (1 thread)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out_dir / "bench_spatial_rtf.png", dpi=120)
    plt.close(fig)

    largest = max(key[2] for key in distributions)
    keys = sorted(key for key in distributions if key[2] == largest)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.boxplot([distributions[key] * 1e3 for key in keys], whis=(1, 99), showfliers=True)
    ax.set_xticks(range(1, len(keys) + 1),
                  [f"{k[0][:5]}\n{k[1].split('-')[0]}\nB={k[3]}" for k in keys], fontsize=6)
    ax.set_ylabel(f"block time, ms (N = {largest}; whiskers p1/p99)")
    fig.tight_layout()
    fig.savefig(out_dir / "bench_spatial_blocks.png", dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small grid, about a minute.")
    parser.add_argument("-o", "--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    print(run(quick=args.quick, out_dir=args.out))


if __name__ == "__main__":
    main()
