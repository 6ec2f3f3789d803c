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
Accuracy: static render vs float64 direct convolution; interpolation error vs
grid density (KEMAR only): the 710 directions are decimated to nested
farthest-point subsets (710, 355, 178, 89, 45), an HRTF is built from each
(``HRTF.from_irs``), and the held-out measured directions are interpolated
(barycentric and nearest) and compared with the measured IRs: ITD error (µs),
ILD error (dB), log-spectral distortion (dB), against the LAP-challenge
thresholds (ITD < 100 µs, ILD < 4.4 dB, LSD < 7.4 dB). At 710 it is
leave-one-out (each direction interpolated from the other 709).

Writes ``bench_spatial.json`` (manifest: machine, versions, SOFA SHA-256) and,
when matplotlib is installed, ``bench_spatial_rtf.png`` (throughput vs N),
``bench_spatial_blocks.png`` (block-time distributions) and
``bench_spatial_error_vs_density.png`` (interpolation error vs grid density).

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
#: density_eval_stride: evaluate every k-th held-out direction (1 = all of them)
FULL = {"counts": (1, 4, 16, 64, 256, 1024), "blocks": (64, 128, 256, 512), "seconds": 2.0,
        "max_wall_s": 1.5, "anchor_counts": (4, 32), "anchor_seconds": 2.0, "repeats": 3,
        "densities": (710, 355, 178, 89, 45), "density_eval_stride": 1}
QUICK = {"counts": (16, 64, 256), "blocks": (128, 512), "seconds": 2.0,
         "max_wall_s": 1.5, "anchor_counts": (32,), "anchor_seconds": 2.0, "repeats": 5,
         "densities": (710, 355, 178, 89, 45), "density_eval_stride": 7}
#: Ambisonic bus orders measured (accuracy tables; the timing grid uses BUS_TIMING)
BUS_ORDERS = (1, 3, 5)
#: (order, block size, K direct or None) cells of the bus/hybrid timing grid, at every N of the config
BUS_TIMING = ((1, 512, None), (3, 512, None), (5, 512, None), (3, 512, 8))
#: blocks rendered before timing (cycles every frame buffer once, loads the kernels)
WARMUP_BLOCKS = 8
#: ffmpeg channel names the headphone filter can map an HRIR pair to (LFE is not convolved)
FFMPEG_CHANNELS = ("FL FR FC BL BR FLC FRC BC SL SR TC TFL TFC TFR TBL TBC TBR DL DR WL WR SDL SDR "
                   "TSL TSR BFC BFL BFR SSL SSR TTL TTR BIL BIR").split()
ANCHOR_BLOCK = 512
SCENES = (("S1-static", False), ("S2-orbit90/360-elev-sweep-head200", True))
#: LAP-challenge thresholds (as the issue lists them): ITD µs, ILD dB, LSD dB
LAP_THRESHOLDS = {"itd_us": 100.0, "ild_db": 4.4, "lsd_db": 7.4}
#: held-out directions at or below this elevation are not scored: KEMAR's lowest ring is
#: -40°, so nothing lies below them to interpolate from (as in the leave-one-out test)
DENSITY_MIN_ELEVATION_DEG = -40.0


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
                 max_wall_s: float, bus_order: int | None = None, hybrid_direct: int | None = None
                 ) -> tuple[dict, np.ndarray]:
    """Render ``count`` sources for ``seconds`` (or until ``max_wall_s``); timing statistics.

    ``bus_order``: render through an :class:`AmbisonicRenderer` of that order (MagLS)
    instead of the direct renderer (the setup time then includes the decoder design);
    with ``hybrid_direct`` K, through a :class:`HybridRenderer` (the K loudest direct).
    """
    from audiokit.spatial import BinauralRenderer
    from audiokit.spatial.ambisonics import AmbisonicOptions, AmbisonicRenderer, HybridRenderer

    start = time.perf_counter()
    if bus_order is None:
        renderer = BinauralRenderer(hrtf, rate, block_size=block)
    elif hybrid_direct is None:
        renderer = AmbisonicRenderer(hrtf, rate, block_size=block, options=AmbisonicOptions(order=bus_order))
    else:
        renderer = HybridRenderer(hrtf, rate, block_size=block, direct_sources=hybrid_direct,
                                  options=AmbisonicOptions(order=bus_order))
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
            "latency_ms": 1e3 * period,
            "state_bytes": getattr(renderer, "state_bytes", None)}, times


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


def static_accuracy_db(hrtf, rate: int) -> dict:
    """Static render vs float64 direct convolution, dB of error energy re the reference.

    ``measured``: at a measured direction, against the set's own measured IR pair
    (``HRTF.measured_irs``, bit-exact to the file's); ``interpolated``: at (37.3°, 12.5°),
    against the ITD-split interpolated filter (delayed aligned mix plus prefix mix).
    """
    from audiokit.spatial import fractional_delay, render_static

    x = np.random.default_rng(3).uniform(-0.5, 0.5, rate // 4)
    result = {}
    index = int(np.argmin(np.abs(hrtf.directions_deg[:, 0] - 30.0) + np.abs(hrtf.directions_deg[:, 1])))
    az, el = hrtf.directions_deg[index]
    measured = hrtf.measured_irs()[index].astype(float)
    for key, (a, e) in (("measured", (az, el)), ("interpolated", (37.3, 12.5))):
        out = render_static(x.astype(np.float32), rate, hrtf, azimuth_deg=a, elevation_deg=e, block_size=256)
        if key == "measured":
            ir = measured
        else:
            indices, weights = hrtf.weights(a, e)
            aligned = np.einsum("k,ket->et", weights, hrtf.aligned[indices].astype(float))
            delays = weights @ hrtf.delays_samples[indices]
            prefix = np.einsum("k,ket->et", weights, hrtf.prefix[indices].astype(float))
            ir = np.stack([fractional_delay(aligned[ear], delays[ear], hrtf.aligned_taps + 80)
                           for ear in range(2)])
            ir[:, :prefix.shape[1]] += prefix
        ref = np.stack([np.convolve(x, ir[ear]) for ear in range(2)])
        n = min(out.shape[1], ref.shape[1])
        result[key] = float(10 * np.log10(np.sum((out[:, :n] - ref[:, :n]) ** 2) / np.sum(ref[:, :n] ** 2)))
    return result


def farthest_point_order(directions_deg: np.ndarray) -> np.ndarray:
    """Greedy farthest-point ordering of directions, starting at the one nearest (0°, 0°).

    Every prefix of the order is a well-spread subset (each next direction is the
    one farthest, in great-circle angle, from all chosen so far), so the subsets
    of decreasing size are nested.
    """
    from audiokit.spatial.interpolation import spherical_to_cartesian

    points = spherical_to_cartesian(directions_deg[:, 0], directions_deg[:, 1])
    order = [int(np.argmax(points[:, 0]))]
    closeness = points @ points[order[0]]          # cosine to the nearest chosen direction
    for _ in range(len(points) - 1):
        closeness[order[-1]] = np.inf
        order.append(int(np.argmin(closeness)))
        closeness = np.maximum(closeness, points @ points[order[-1]])
    return np.array(order, np.int64)


def itd_ild_lsd(estimates: np.ndarray, references: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-direction ITD error (µs), ILD error (dB) and broadband LSD (dB), shape (q, 3),
    as :func:`audiokit.spatial.metrics.compare_hrirs` defines them."""
    from audiokit.spatial.metrics import compare_hrirs

    errors = compare_hrirs(estimates, references, sample_rate)
    return np.column_stack([errors.itd_us, errors.ild_db, errors.lsd_db])


def accuracy_tables(hrtf, *, eval_stride: int = 1, methods=("barycentric", "nearest")) -> dict:
    """Renderer accuracy against the measured HRIRs (audiokit.spatial.metrics).

    ``grid``: every ``eval_stride``-th measured direction rendered from the full set
    (exact by design; this measures what is left: float32 rounding). ``leave_one_out``:
    every ``eval_stride``-th measured direction above ``DENSITY_MIN_ELEVATION_DEG``
    removed from the set, rendered from the other m - 1 and compared with its measurement,
    per interpolation method. Summaries: mean/p95/max of ITD, ILD and broadband LSD error,
    mean/p95 LSD per octave band.
    """
    from audiokit.spatial.metrics import compare_hrirs, leave_one_out, render_hrirs

    started = time.perf_counter()
    measured = hrtf.measured_irs()
    grid = np.arange(0, hrtf.num_directions, eval_stride)
    rendered = render_hrirs(hrtf, hrtf.directions_deg[grid])
    tables = {"grid": compare_hrirs(rendered, measured[grid], hrtf.sample_rate).summary(), "leave_one_out": {}}
    held = np.flatnonzero(hrtf.directions_deg[:, 1] > DENSITY_MIN_ELEVATION_DEG)[::eval_stride]
    for method in methods:
        tables["leave_one_out"][method] = leave_one_out(hrtf, held, method=method).summary()
        row = tables["leave_one_out"][method]
        print(f"leave-one-out {method}: ITD {row['itd_us']['mean']:.1f} µs ILD {row['ild_db']['mean']:.2f} dB "
              f"LSD {row['lsd_db']['mean']:.2f} dB ({row['directions']} directions)", file=sys.stderr)
    tables["bus"] = bus_accuracy(hrtf, held)
    tables["eval_stride"] = eval_stride
    tables["seconds"] = time.perf_counter() - started
    return tables


def bus_accuracy(hrtf, rows: np.ndarray, orders=BUS_ORDERS, decoders=("ls", "magls")) -> dict:
    """The Ambisonic bus at measured directions ``rows`` against their measured HRIRs,
    per order and decoder (decoders fitted to the whole set)."""
    from audiokit.spatial.ambisonics import AmbisonicOptions, AmbisonicRenderer
    from audiokit.spatial.metrics import compare_hrirs

    measured = hrtf.measured_irs()[rows]
    impulse = np.zeros((1, ANCHOR_BLOCK), np.float32)
    impulse[0, 0] = 1.0
    out = {}
    for order in orders:
        for decoder in decoders:
            renderer = AmbisonicRenderer(hrtf, hrtf.sample_rate, block_size=ANCHOR_BLOCK,
                                         options=AmbisonicOptions(order=order, decoder=decoder))
            estimates = []
            for row in rows:
                source = renderer.add_source(azimuth_deg=hrtf.directions_deg[row, 0],
                                             elevation_deg=hrtf.directions_deg[row, 1])
                rendered = np.concatenate([renderer.process(impulse), renderer.flush()], axis=1)
                estimates.append(rendered[:, :renderer.tail_frames + 1])
                renderer.remove_source(source)
            summary = compare_hrirs(np.stack(estimates), measured, hrtf.sample_rate).summary()
            out[f"order{order}-{decoder}"] = summary
            print(f"bus order {order} {decoder}: ITD {summary['itd_us']['mean']:.1f} µs "
                  f"ILD {summary['ild_db']['mean']:.2f} dB LSD {summary['lsd_db']['mean']:.2f} dB", file=sys.stderr)
    return out


def error_vs_density(hrtf, densities=(710, 355, 178, 89, 45), *, eval_stride: int = 1,
                     methods=("barycentric", "nearest")) -> list:
    """Interpolation error of held-out measured directions vs measurement-grid density.

    For each density n, the first n directions of :func:`farthest_point_order` make an
    HRTF (``HRTF.from_irs`` on the measured IRs) and every ``eval_stride``-th of the
    other directions above ``DENSITY_MIN_ELEVATION_DEG`` is interpolated from it. At
    n = all directions it is leave-one-out (an HRTF of the other m - 1 per direction).

    Returns one row per density and method: mean, p95 and max of each metric, the
    fraction of directions within each LAP threshold, the median angular spacing of the
    subset (great-circle distance to the nearest other direction, degrees).
    """
    from audiokit.spatial import HRTF
    from audiokit.spatial.interpolation import spherical_to_cartesian

    irs = hrtf.measured_irs()
    directions = hrtf.directions_deg
    m = len(directions)
    order = farthest_point_order(directions)
    rows = []
    for n in densities:
        started = time.perf_counter()
        subset = np.sort(order[:n])
        points = spherical_to_cartesian(directions[subset, 0], directions[subset, 1])
        cosines = points @ points.T
        np.fill_diagonal(cosines, -1.0)
        spacing = float(np.median(np.degrees(np.arccos(np.clip(cosines.max(axis=1), -1, 1)))))
        if n >= m:                                   # leave-one-out
            held = np.flatnonzero(directions[:, 1] > DENSITY_MIN_ELEVATION_DEG)[::eval_stride]
            estimates = {method: [] for method in methods}
            for index in held:
                keep = np.arange(m) != index
                rest = HRTF.from_irs(irs[keep], directions[keep], hrtf.sample_rate)
                for method in methods:
                    estimates[method].append(rest.ir(*directions[index], method=method))
            subset_size = m - 1
        else:
            held = np.setdiff1d(np.arange(m), subset)
            held = held[directions[held, 1] > DENSITY_MIN_ELEVATION_DEG][::eval_stride]
            sub = HRTF.from_irs(irs[subset], directions[subset], hrtf.sample_rate)
            estimates = {method: [sub.ir(*directions[index], method=method) for index in held]
                         for method in methods}
            subset_size = n
        for method in methods:
            errors = itd_ild_lsd(np.stack(estimates[method]), irs[held], hrtf.sample_rate)
            row = {"directions": int(subset_size if n < m else m), "subset_size": int(subset_size),
                   "leave_one_out": bool(n >= m), "method": method, "held_out": int(len(held)),
                   "median_spacing_deg": spacing}
            for column, metric in enumerate(("itd_us", "ild_db", "lsd_db")):
                values = errors[:, column]
                row[f"{metric}_mean"] = float(values.mean())
                row[f"{metric}_p95"] = float(np.percentile(values, 95))
                row[f"{metric}_max"] = float(values.max())
                row[f"{metric}_within_lap"] = float(np.mean(values < LAP_THRESHOLDS[metric]))
            rows.append(row)
        print(f"grid density {n:4d} (spacing {spacing:4.1f}°, {len(held)} held out): "
              + "; ".join(f"{r['method']} ITD {r['itd_us_mean']:.1f} µs ILD {r['ild_db_mean']:.2f} dB "
                          f"LSD {r['lsd_db_mean']:.2f} dB" for r in rows[-len(methods):])
              + f"  [{time.perf_counter() - started:.1f} s]", file=sys.stderr)
    return rows


def realtime_capacity(rows: list) -> list:
    """Largest measured N whose p99 block time fits the block period, per HRTF, scene and block size."""
    table = []
    def key_of(r):
        return r["hrtf"], r.get("renderer", "direct"), r["scene"], r["block_size"]

    for key in sorted({key_of(r) for r in rows}):
        fitting = [r["sources"] for r in rows if key_of(r) == key and r["fits_realtime_p99"]]
        table.append({"hrtf": key[0], "renderer": key[1], "scene": key[2], "block_size": key[3],
                      "max_sources_p99_realtime": max(fitting) if fitting else 0})
    return table


def run_accuracy(*, quick: bool, out_dir: Path) -> Path:
    """Accuracy only (no timing): static exactness, the metric tables, error vs density;
    writes ``bench_spatial_accuracy.json``."""
    config = QUICK if quick else FULL
    started = time.perf_counter()
    from audiokit._files import file_sha256
    from audiokit.spatial import HRTF

    hrtf = HRTF.from_sofa(KEMAR)
    document = {"manifest": {"versions": versions("scipy"), "quick": quick, "kemar_sha256": file_sha256(KEMAR),
                             "hrtf": "kemar@44.1k", "block_size": 512},
                "static_accuracy_db": static_accuracy_db(hrtf, 44100),
                "accuracy": accuracy_tables(hrtf, eval_stride=config["density_eval_stride"]),
                "error_vs_density": {"hrtf": "kemar@44.1k", "lap_thresholds": LAP_THRESHOLDS,
                                     "subsets": "nested farthest-point, from (0°, 0°)",
                                     "min_elevation_deg_exclusive": DENSITY_MIN_ELEVATION_DEG,
                                     "eval_stride": config["density_eval_stride"],
                                     "rows": error_vs_density(hrtf, config["densities"],
                                                              eval_stride=config["density_eval_stride"])}}
    document["manifest"]["wall_s"] = time.perf_counter() - started
    path = write_json("bench_spatial_accuracy", document, out_dir)
    _plot_density(document["error_vs_density"]["rows"], out_dir)
    return path


def run(*, quick: bool, out_dir: Path) -> Path:
    """Run the suite and write JSON (and plots when matplotlib is present)."""
    import resource

    config = QUICK if quick else FULL
    started = time.perf_counter()
    manifest = {"versions": versions("scipy", "av"), "quick": quick, "config": config,
                "threads": 1, "moving_api": "BinauralRenderer.move_sources (one call per block)"}
    if KEMAR.is_file():
        from audiokit._files import file_sha256

        manifest["kemar_sha256"] = file_sha256(KEMAR)
    rows, anchors, accuracy, distributions, density = [], [], {}, {}, []
    for name, hrtf, rate in _hrtfs():
        first = time.perf_counter()
        accuracy[name] = static_accuracy_db(hrtf, rate)   # also loads the kernels' cache
        manifest.setdefault("first_render_s", {})[name] = time.perf_counter() - first
        if name.startswith("kemar"):
            start_density = time.perf_counter()
            density = error_vs_density(hrtf, config["densities"], eval_stride=config["density_eval_stride"])
            manifest["error_vs_density_s"] = time.perf_counter() - start_density
        for count in config["anchor_counts"]:
            anchors.append(run_anchors(name, hrtf, rate, count, config["anchor_seconds"], config["repeats"]))
            speeds = {k: round(v["source_seconds_per_s"]) for k, v in anchors[-1]["contenders"].items()}
            print(f"{name:20s} anchors N={count:4d}: {speeds} src-s/s", file=sys.stderr)
        cells = [(None, block, None) for block in config["blocks"]] + list(BUS_TIMING)
        for count in config["counts"]:
            for bus_order, block, direct_k in cells:
                for scene, moving in SCENES:
                    result, times = run_renderer(hrtf, rate, count, block, config["seconds"], moving=moving,
                                                 max_wall_s=config["max_wall_s"], bus_order=bus_order,
                                                 hybrid_direct=direct_k)
                    renderer = ("direct" if bus_order is None else f"bus-order{bus_order}" if direct_k is None
                                else f"hybrid-K{direct_k}-order{bus_order}")
                    rows.append({"hrtf": name, "renderer": renderer, "scene": scene, "sources": count,
                                 "block_size": block, **result})
                    if bus_order is None:
                        distributions[(name, scene, count, block)] = times
                    print(f"{name:20s} {renderer:12s} {scene:34s} N={count:5d} B={block:4d} "
                          f"{result['source_seconds_per_s']:9.0f} src-s/s  p99 {result['p99_ms']:.2f} ms "
                          f"(period {result['period_ms']:.2f})", file=sys.stderr)
    manifest["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    manifest["wall_s"] = time.perf_counter() - started
    document = {"manifest": manifest, "static_accuracy_db": accuracy, "anchors": anchors,
                "results": rows, "realtime_capacity": realtime_capacity(rows),
                "error_vs_density": {"hrtf": "kemar@44.1k", "lap_thresholds": LAP_THRESHOLDS,
                                     "subsets": "nested farthest-point, from (0°, 0°)",
                                     "min_elevation_deg_exclusive": DENSITY_MIN_ELEVATION_DEG,
                                     "eval_stride": config["density_eval_stride"], "rows": density}}
    path = write_json("bench_spatial", document, out_dir)
    _plot(rows, distributions, out_dir, anchors)
    _plot_density(density, out_dir)
    return path


def _plot(rows: list, distributions: dict, out_dir: Path, anchors: list = ()) -> None:
    """Throughput vs N with the real-time line and the anchors; block times with their deadlines."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: plots skipped (pip install 'audiokit[bench]')", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 7.5))
    def key_of(r):
        return r["hrtf"], r.get("renderer", "direct"), r["scene"], r["block_size"]

    for key in sorted({key_of(r) for r in rows}):
        points = sorted((r["sources"], r["source_seconds_per_s"]) for r in rows if key_of(r) == key)
        ax.plot(*zip(*points), marker="o" if key[1] == "direct" else "s",
                linestyle="-" if key[1] == "direct" else ":",
                label=f"{key[0]} {key[1]} {key[2].split('-')[0]} B={key[3]}")
    markers = {"ffmpeg": "X", "scipy": "P", "audiokit": "*"}
    for contender in sorted({c for a in anchors for c in a["contenders"]}):
        for hrtf in sorted({a["hrtf"] for a in anchors}):
            points = sorted((a["sources"], a["contenders"][contender]["source_seconds_per_s"]) for a in anchors
                            if a["hrtf"] == hrtf and contender in a["contenders"])
            if points:
                ax.plot(*zip(*points), linestyle="none", markersize=9, color="black",
                        marker=markers.get(contender.split(".")[0].split("-")[0], "D"), fillstyle="none",
                        label=f"anchor {contender} ({hrtf}, static, B={ANCHOR_BLOCK})")
    counts = sorted({r["sources"] for r in rows})
    ax.plot(counts, counts, color="red", linestyle="--", label="real time (N sources need N source-s/s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sources N")
    ax.set_ylabel("source-seconds per wall-second (1 thread)")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out_dir / "bench_spatial_rtf.png", dpi=120)
    plt.close(fig)

    if not distributions:                         # replotting from a JSON: no block times
        return
    largest = max(key[2] for key in distributions)
    keys = sorted(key for key in distributions if key[2] == largest)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.boxplot([distributions[key] * 1e3 for key in keys], whis=(1, 99), showfliers=True)
    for position, key in enumerate(keys, start=1):
        period = next(r["period_ms"] for r in rows
                      if (r["hrtf"], r["scene"], r["sources"], r["block_size"]) == key
                      and r.get("renderer", "direct") == "direct")
        ax.hlines(period, position - 0.4, position + 0.4, color="red", linestyle="--",
                  label="deadline: block period B / sample rate" if position == 1 else None)
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_xticks(range(1, len(keys) + 1),
                  [f"{k[0][:5]}\n{k[1].split('-')[0]}\nB={k[3]}" for k in keys], fontsize=6)
    ax.set_ylabel(f"block time, ms (N = {largest}; whiskers p1/p99)")
    fig.tight_layout()
    fig.savefig(out_dir / "bench_spatial_blocks.png", dpi=120)
    plt.close(fig)


def _plot_density(rows: list, out_dir: Path) -> None:
    """Error vs grid density, one panel per metric, LAP thresholds dashed."""
    if not rows:
        return
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (("itd_us", "ITD error, µs"), ("ild_db", "ILD error, dB"), ("lsd_db", "LSD, dB"))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    for ax, (metric, label) in zip(axes, metrics):
        for method, marker in (("barycentric", "o"), ("nearest", "s")):
            points = sorted((r["directions"], r[f"{metric}_mean"], r[f"{metric}_p95"])
                            for r in rows if r["method"] == method)
            if not points:
                continue
            n, mean, p95 = zip(*points)
            line, = ax.plot(n, mean, marker=marker, label=f"{method} (mean)")
            ax.plot(n, p95, marker=marker, linestyle=":", color=line.get_color(), alpha=0.6,
                    label=f"{method} (p95)")
        ax.axhline(LAP_THRESHOLDS[metric], color="red", linestyle="--", label="LAP threshold")
        ax.set_xscale("log")
        ticks = sorted({r["directions"] for r in rows})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("measured directions kept")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=7)
    fig.suptitle("KEMAR interpolation error of held-out measured directions vs grid density "
                 "(farthest-point subsets; 710 = leave-one-out)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "bench_spatial_error_vs_density.png", dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small grid, about a minute.")
    parser.add_argument("--accuracy-only", action="store_true",
                        help="Only the accuracy tables (bench_spatial_accuracy.json), no timing.")
    parser.add_argument("-o", "--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    print((run_accuracy if args.accuracy_only else run)(quick=args.quick, out_dir=args.out))


if __name__ == "__main__":
    main()
