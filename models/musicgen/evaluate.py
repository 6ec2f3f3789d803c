"""Measure the committed model for its card: ``python -m audiokit.models.musicgen.evaluate``.

Prints one JSON document: validation NLL of the model (re-scored with the
numpy runtime) and of the unigram/bigram baselines, statistics of sampled
pieces (pitch-class KL to the corpus by mode, voice ranges, notes per bar,
parallel fifths/octaves between adjacent chords), and the wall-clock time to
compose and render a 30 s piece (median of ``--repeats``, after one warm-up that
compiles the Numba kernels). Needs numpy and safetensors only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np

from .data import load_heldout
from .metrics import baseline_nll, kl_divergence, pitch_class_histogram
from .rendering import render
from .runtime import load_network
from .sampling import compose
from .tokens import VOICE_RANGES, grid_pitches, grid_to_notes

__all__ = ["evaluate", "main"]

#: Keys of the evaluation pieces: four major, four minor.
KEYS = ("C", "D", "F", "Bb", "a", "e", "g", "c#")


def _parallels(pitches: np.ndarray) -> int:
    """Consecutive fifths/octaves between any two voices across chord changes."""
    count = 0
    changes = [t for t in range(1, pitches.shape[1]) if (pitches[:, t] != pitches[:, t - 1]).any()]
    for t in changes:
        before, after = pitches[:, t - 1], pitches[:, t]
        for a in range(4):
            for b in range(a + 1, 4):
                if min(before[a], before[b], after[a], after[b]) < 0 or before[a] == after[a]:
                    continue
                interval_before = (before[a] - before[b]) % 12
                interval_after = (after[a] - after[b]) % 12
                if interval_before == interval_after and interval_after in (0, 7):
                    count += 1
    return count


def evaluate(*, bars: int = 16, temperature: float = 1.0, top_p: float = 0.95, repeats: int = 3) -> dict:
    """The card's numbers (see the module docstring)."""
    network = load_network()
    heldout = load_heldout()
    total, count = 0.0, 0
    for index, grid in enumerate(heldout.grids):
        log_probs = network.log_probs(grid, positions=heldout.positions(index), key=heldout.key(index).index)
        total -= log_probs.sum()
        count += log_probs.size
    pieces = [compose(bars=bars, seed=seed, key=key, temperature=temperature, top_p=top_p,
                      network=network) for seed, key in enumerate(KEYS)]
    generated = pitch_class_histogram([p.grid for p in pieces], [p.key for p in pieces])
    real = pitch_class_histogram(heldout.grids, [heldout.key(i) for i in range(len(heldout))])
    in_range = []
    for piece in pieces:
        pitches = piece.pitches()
        for voice, (low, high) in enumerate(VOICE_RANGES):
            sounding = pitches[voice][pitches[voice] >= 0]
            in_range.append(bool(sounding.size == 0 or (low <= sounding.min() and sounding.max() <= high)))
    heldout_bars = sum(g.shape[1] / s for g, s in zip(heldout.grids, heldout.steps_per_bar))
    timings: dict[str, list[float]] = {"compose_s": [], "render_s": []}
    for run in range(repeats + 1):
        started = time.perf_counter()
        piece = compose(seconds=30.0, tempo_bpm=80.0, seed=run, key="D", network=network)
        composed = time.perf_counter()
        render(piece, tempo_bpm=80.0)
        if run:  # run 0 compiles or loads the kernels
            timings["compose_s"].append(composed - started)
            timings["render_s"].append(time.perf_counter() - composed)
    return {
        "validation": {
            "chorales": len(heldout), "tokens": count, "model_nll": total / count,
            "unigram_nll": baseline_nll(network.tensors["eval.unigram"].astype(np.float64), heldout),
            "bigram_nll": baseline_nll(network.tensors["eval.bigram"].astype(np.float64), heldout),
        },
        "samples": {
            "pieces": len(pieces), "bars": bars, "temperature": temperature, "top_p": top_p,
            "pitch_class_kl_major": kl_divergence(generated[0], network.pitch_classes[0]),
            "pitch_class_kl_minor": kl_divergence(generated[1], network.pitch_classes[1]),
            "heldout_pitch_class_kl_major": kl_divergence(real[0], network.pitch_classes[0]),
            "heldout_pitch_class_kl_minor": kl_divergence(real[1], network.pitch_classes[1]),
            "voices_in_range": f"{sum(in_range)}/{len(in_range)}",
            "notes_per_bar": sum(len(p.notes()) for p in pieces) / (len(pieces) * bars),
            "heldout_notes_per_bar": sum(len(grid_to_notes(g)) for g in heldout.grids) / heldout_bars,
            "parallels_per_bar": sum(_parallels(p.pitches()) for p in pieces) / (len(pieces) * bars),
            "heldout_parallels_per_bar":
                sum(_parallels(grid_pitches(g)) for g in heldout.grids) / heldout_bars,
        },
        "timing_30s_piece": {
            "compose_s": statistics.median(timings["compose_s"]),
            "render_s": statistics.median(timings["render_s"]),
            "repeats": repeats, "load_average_1min": round(os.getloadavg()[0], 2),
        },
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Command-line entry point; returns the report it prints."""
    parser = argparse.ArgumentParser(prog="python -m audiokit.models.musicgen.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    report = evaluate(bars=args.bars, temperature=args.temperature, top_p=args.top_p, repeats=args.repeats)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
