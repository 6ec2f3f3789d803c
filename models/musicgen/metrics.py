"""Baselines and statistics for the model card: unigram/bigram NLL, pitch-class histograms.

Every NLL here is in nats per token, averaged over all four voices and every
step of every chorale, each chorale read from its first step in its original
key (the previous step of step 0 is ``REST``), exactly as the model is scored.

Examples
--------
>>> from audiokit.models.musicgen.data import load_heldout
>>> valid = load_heldout()
>>> table = unigram_table(valid, alpha=0.1)
>>> nll = baseline_nll(table, valid)   # a number of nats per token
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .tokens import REST, TRANSPOSITIONS, VOCAB_SIZE, grid_pitches, transpose_grid

if TYPE_CHECKING:
    from .data import Chorales
    from .tokens import Key

__all__ = [
    "BASELINE_ALPHA",
    "unigram_table",
    "bigram_table",
    "baseline_nll",
    "pitch_class_histogram",
    "kl_divergence",
]

#: Additive (Lidstone) smoothing of the baseline counts.
BASELINE_ALPHA = 0.1


def _augmented(chorales: Chorales) -> Iterator[np.ndarray]:
    """Each grid in all training transpositions, each with REST prepended."""
    for grid in chorales.grids:
        for shift in TRANSPOSITIONS:
            shifted = transpose_grid(grid, shift)
            yield np.concatenate([np.full((shifted.shape[0], 1), REST, shifted.dtype), shifted], axis=1)


def unigram_table(chorales: Chorales, *, alpha: float = BASELINE_ALPHA) -> np.ndarray:
    """Per-voice token log-probabilities from ``chorales`` in all 12 transpositions.

    Returns
    -------
    np.ndarray [shape=(voices, vocab_size), dtype=float64]
    """
    counts = np.full((4, VOCAB_SIZE), alpha)
    for grid in _augmented(chorales):
        for voice in range(4):
            counts[voice] += np.bincount(grid[voice, 1:].astype(np.int64), minlength=VOCAB_SIZE)
    return np.log(counts / counts.sum(axis=1, keepdims=True))


def bigram_table(chorales: Chorales, *, alpha: float = BASELINE_ALPHA) -> np.ndarray:
    """Per-voice ``log P(token | previous token of the same voice)``, all 12 transpositions.

    Returns
    -------
    np.ndarray [shape=(voices, vocab_size, vocab_size), dtype=float64]
        Indexed ``[voice, previous, token]``.
    """
    counts = np.full((4, VOCAB_SIZE * VOCAB_SIZE), alpha)
    for grid in _augmented(chorales):
        grid = grid.astype(np.int64)
        for voice in range(4):
            pairs = grid[voice, :-1] * VOCAB_SIZE + grid[voice, 1:]
            counts[voice] += np.bincount(pairs, minlength=VOCAB_SIZE * VOCAB_SIZE)
    table = counts.reshape(4, VOCAB_SIZE, VOCAB_SIZE)
    return np.log(table / table.sum(axis=2, keepdims=True))


def baseline_nll(table: np.ndarray, chorales: Chorales) -> float:
    """Mean NLL (nats/token) of ``chorales`` under a unigram or bigram table."""
    total, count = 0.0, 0
    for grid in chorales.grids:
        grid = grid.astype(np.int64)
        for voice in range(4):
            row = grid[voice]
            if table.ndim == 2:
                total -= table[voice, row].sum()
            else:
                previous = np.concatenate([[REST], row[:-1]])
                total -= table[voice, previous, row].sum()
            count += row.size
    return float(total / count)


def pitch_class_histogram(grids: Sequence[np.ndarray], keys: Sequence[Key]) -> np.ndarray:
    """Duration-weighted pitch-class histograms relative to the tonic, by mode.

    Parameters
    ----------
    grids : sequence of np.ndarray [shape=(4, steps)]
    keys : sequence of tokens.Key

    Returns
    -------
    np.ndarray [shape=(2, 12), dtype=float64]
        Row 0 major, row 1 minor; column ``(pitch - tonic) % 12``; each row
        sums to 1 (or is all zero when no grid has that mode).
    """
    hist = np.zeros((2, 12))
    for grid, key in zip(grids, keys):
        pitches = grid_pitches(grid)
        sounding = pitches[pitches >= 0]
        hist[int(key.minor)] += np.bincount((sounding - key.tonic) % 12, minlength=12)
    sums = hist.sum(axis=1, keepdims=True)
    return np.divide(hist, sums, out=np.zeros_like(hist), where=sums > 0)


def kl_divergence(p: np.ndarray, q: np.ndarray, *, floor: float = 1e-4) -> float:
    """``KL(p || q)`` in nats, both floored at ``floor`` and renormalized.

    Parameters
    ----------
    p, q : np.ndarray [shape=(12,)]
    """
    p = np.maximum(np.asarray(p, np.float64), floor)
    q = np.maximum(np.asarray(q, np.float64), floor)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))

