"""Spatial rendering benchmark: audiokit's BinauralRenderer against scipy.

Scenes (fixed seeds): S1, N static sources spread over the sphere; S2, N sources
orbiting at 90°/s or 360°/s with the head turning 200°/s. Metrics per (HRTF,
scene, N, block size): source-seconds rendered per wall-second on one thread,
p50/p99/max block time, whether p99 fits the block period, setup time.
Anchor in the same run: scipy.signal.oaconvolve in float32, per source and ear
(static only). Writes ``bench_spatial.json`` (with a manifest: machine, versions,
SOFA SHA-256) and, when matplotlib is installed, ``bench_spatial_rtf.png``.

Usage: ``python benchmarks/bench_spatial.py [--quick] [-o DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS_DIR, versions, write_json  # noqa: E402

KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
FULL = {"counts": (1, 4, 16, 64, 256, 1024), "blocks": (64, 128, 256, 512), "seconds": 2.0}
QUICK = {"counts": (16, 256), "blocks": (128, 512), "seconds": 0.5}


def _hrtfs():
    from audiokit.spatial import HRTF

    sets = [("spherical-head@48k", HRTF.spherical_head(48000), 48000)]
    if KEMAR.is_file():
        sets.insert(0, ("kemar@44.1k", HRTF.from_sofa(KEMAR), 44100))
    return sets


def _directions(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(0, 360, count), np.degrees(np.arcsin(rng.uniform(-0.6, 1, count)))])


def run_renderer(hrtf, rate: int, count: int, block: int, seconds: float, *, orbit_deg_s: float) -> dict:
    """Render ``count`` sources for ``seconds``; returns timing statistics."""
    from audiokit.spatial import BinauralRenderer

    start = time.perf_counter()
    renderer = BinauralRenderer(hrtf, rate, block_size=block)
    directions = _directions(count, seed=count)
    ids = [renderer.add_source(azimuth_deg=a, elevation_deg=e) for a, e in directions]
    setup_s = time.perf_counter() - start
    x = np.random.default_rng(1).uniform(-0.1, 0.1, (count, block)).astype(np.float32)
    renderer.process(x)   # warm-up (kernel compile/cache load)
    blocks = max(8, int(seconds * rate / block))
    times = np.empty(blocks)
    for k in range(blocks):
        t0 = time.perf_counter()
        if orbit_deg_s:
            t = (k + 1) * block / rate
            for i, source in enumerate(ids):
                renderer.move_source(source, azimuth_deg=(directions[i, 0] + orbit_deg_s * t) % 360,
                                     elevation_deg=directions[i, 1])
            renderer.set_listener(yaw_deg=(200.0 * t) % 360)
        renderer.process(x)
        times[k] = time.perf_counter() - t0
    period = block / rate
    return {"setup_s": setup_s, "blocks": blocks, "p50_ms": float(np.median(times) * 1e3),
            "p99_ms": float(np.percentile(times, 99) * 1e3), "max_ms": float(times.max() * 1e3),
            "source_seconds_per_s": float(count * blocks * period / times.sum()),
            "fits_realtime_p99": bool(np.percentile(times, 99) <= period),
            "latency_ms": 1e3 * period}


def run_scipy(hrtf, rate: int, count: int, seconds: float) -> dict:
    """Anchor: scipy.signal.oaconvolve float32, one call per source and ear."""
    from scipy.signal import oaconvolve

    frames = int(seconds * rate)
    x = np.random.default_rng(1).uniform(-0.1, 0.1, (count, frames)).astype(np.float32)
    filters = [hrtf.ir(a, e) for a, e in _directions(count, seed=count)]
    t0 = time.perf_counter()
    out = np.zeros((2, frames + hrtf.num_taps - 1), np.float32)
    for i in range(count):
        for ear in range(2):
            out[ear] += oaconvolve(x[i], filters[i][ear])
    elapsed = time.perf_counter() - t0
    return {"source_seconds_per_s": count * seconds / elapsed, "seconds": elapsed}


def static_accuracy_db(hrtf, rate: int) -> float:
    """Renderer vs float64 direct convolution with the same (split) HRIR pair."""
    from audiokit.spatial import fractional_delay, render_static

    x = np.random.default_rng(3).uniform(-0.5, 0.5, rate // 4)
    out = render_static(x.astype(np.float32), rate, hrtf, azimuth_deg=37.3, elevation_deg=12.5, block_size=256)
    aligned, delays = hrtf.split(37.3, 12.5)
    ref = np.stack([np.convolve(fractional_delay(x, delays[e], len(x) + 80), aligned[e].astype(float))
                    for e in range(2)])
    n = min(out.shape[1], ref.shape[1])
    return float(10 * np.log10(np.sum((out[:, :n] - ref[:, :n]) ** 2) / np.sum(ref[:, :n] ** 2)))


def run(*, quick: bool, out_dir: Path) -> Path:
    """Run the suite and write JSON (and plots when matplotlib is present)."""
    config = QUICK if quick else FULL
    rows = []
    manifest = {"versions": versions("scipy"), "quick": quick, "config": config}
    if KEMAR.is_file():
        from audiokit.spatial.sofa import sofa_sha256

        manifest["kemar_sha256"] = sofa_sha256(KEMAR)
    accuracy = {}
    for name, hrtf, rate in _hrtfs():
        accuracy[name] = static_accuracy_db(hrtf, rate)
        for count in config["counts"]:
            for block in config["blocks"]:
                for scene, orbit in (("S1-static", 0.0), ("S2-orbit360-headturn", 360.0)):
                    result = run_renderer(hrtf, rate, count, block, config["seconds"], orbit_deg_s=orbit)
                    rows.append({"hrtf": name, "scene": scene, "sources": count, "block_size": block, **result})
                    print(f"{name:20s} {scene:22s} N={count:5d} B={block:4d} "
                          f"{result['source_seconds_per_s']:9.0f} src-s/s  p99 {result['p99_ms']:.2f} ms",
                          file=sys.stderr)
            anchor = run_scipy(hrtf, rate, count, config["seconds"])
            rows.append({"hrtf": name, "scene": "S1-static", "sources": count, "block_size": None,
                         "anchor": "scipy.oaconvolve-float32", **anchor})
    for row in rows:
        if "anchor" in row:
            mine = [r for r in rows if r["hrtf"] == row["hrtf"] and r["sources"] == row["sources"]
                    and r["scene"] == "S1-static" and r.get("block_size") == 512]
            if mine:
                row["audiokit_B512_speedup"] = mine[0]["source_seconds_per_s"] / row["source_seconds_per_s"]
    document = {"manifest": manifest, "static_accuracy_db": accuracy, "results": rows}
    path = write_json("bench_spatial", document, out_dir)
    _plot(rows, out_dir)
    return path


def _plot(rows: list, out_dir: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: plots skipped (pip install 'audiokit[bench]')", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in sorted({(r["hrtf"], r["scene"], r["block_size"]) for r in rows if "anchor" not in r}):
        points = sorted((r["sources"], r["source_seconds_per_s"]) for r in rows
                        if (r["hrtf"], r["scene"], r.get("block_size")) == key and "anchor" not in r)
        ax.plot(*zip(*points), marker="o", label=f"{key[0]} {key[1]} B={key[2]}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sources N")
    ax.set_ylabel("source-seconds per wall-second")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out_dir / "bench_spatial_rtf.png", dpi=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small grid, about a minute.")
    parser.add_argument("-o", "--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    print(run(quick=args.quick, out_dir=args.out))


if __name__ == "__main__":
    main()
