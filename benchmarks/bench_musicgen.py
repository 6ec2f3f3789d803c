"""Benchmark: compose and render a 30 s chorale-style piece on the CPU.

The issue's target: a 30 s piece generates and renders in under 2 s. Both
steps are timed interleaved over several seeds (warm-up discarded), plus the
spatial (binaural) rendering, and written to benchmarks/results/musicgen.json.

Run: ``python benchmarks/bench_musicgen.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import versions, write_json  # noqa: E402

PIECE_SECONDS = 30.0
TARGET_S = 2.0


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from audiokit.models.musicgen.rendering import render
    from audiokit.models.musicgen.sampling import compose

    timings = {"compose_s": [], "render_s": [], "render_spatial_s": []}
    for round_index in range(args.repeats + 1):  # round 0 is the warm-up (kernel cache loads)
        started = time.perf_counter()
        piece = compose(seconds=PIECE_SECONDS, seed=round_index)
        composed = time.perf_counter()
        audio = render(piece)
        rendered = time.perf_counter()
        render(piece, spatial=True)
        spatial = time.perf_counter()
        if round_index:
            timings["compose_s"].append(composed - started)
            timings["render_s"].append(rendered - composed)
            timings["render_spatial_s"].append(spatial - rendered)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    total = medians["compose_s"] + medians["render_s"]
    document = {
        "versions": versions("torch", "safetensors"),
        "input": {"piece_seconds": PIECE_SECONDS, "rendered_seconds": audio.duration_s, "repeats": args.repeats},
        "median_s": medians,
        "generate_and_render_s": total,
        "x_realtime": audio.duration_s / total,
        "meets_target": total < TARGET_S,
        "timings": timings,
    }
    path = write_json("musicgen", document)
    print(f"compose {medians['compose_s']:.3f} s, render {medians['render_s']:.3f} s, "
          f"spatial render {medians['render_spatial_s']:.3f} s; total {total:.3f} s "
          f"(target < {TARGET_S} s) -> {path}")
    return document


if __name__ == "__main__":
    main()
