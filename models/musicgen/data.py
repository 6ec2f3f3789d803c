"""Bach chorales from music21's corpus as token grids.

Training needs ``music21`` (the ``train`` extra); generation does not: the
held-out chorales that sampling can be primed with ship with the weights as a
small ``.npz`` (:func:`load_heldout`), written by the training script.

A chorale is kept when it is strict four-part writing: four parts, one note at
a time in each, every onset and duration on the sixteenth-note grid, one time
signature of 4/4 or 3/4 throughout. Its key is music21's Krumhansl-Schmuckler
estimate (``score.analyze("key")``).

Examples
--------
>>> corpus = load_corpus()          # doctest: +SKIP  (about 3 minutes cold, then cached)
>>> train, valid = corpus.split()   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from audiokit.errors import FormatError

from .._registry import cache_dir, require
from .tokens import HOLD, PITCH_MAX, PITCH_MIN, REST, STEPS_PER_QUARTER, VOICES, Key, pitch_token

__all__ = ["Chorales", "HELDOUT_PATH", "chorale_paths", "extract_chorale", "load_corpus", "load_heldout"]

#: Time signatures kept, as steps per bar (3/4 and 4/4).
STEPS_PER_BAR_KEPT = (12, 16)
#: Every VALID_EVERY-th chorale (in file-name order) is held out for validation.
VALID_EVERY = 10
#: Held-out chorales shipped with the weights (for priming and for tests).
HELDOUT_PATH = Path(__file__).with_name("heldout.npz")
#: Bump when extraction changes, so cached corpora are rebuilt.
_EXTRACT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Chorales:
    """A set of chorales on the token grid."""

    #: file stems, e.g. "bwv26.6"
    names: tuple
    #: one int16 token grid per chorale, shape (4, steps)
    grids: tuple
    #: key id per chorale (Key.index: tonic, +12 for minor)
    keys: np.ndarray
    #: steps before the first bar line (pickup), per chorale: position in bar of step 0
    bar_offsets: np.ndarray
    #: steps per bar (16 for 4/4, 12 for 3/4), per chorale
    steps_per_bar: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def key(self, index: int) -> Key:
        """The :class:`Key` of chorale ``index``."""
        return Key(int(self.keys[index]) % 12, bool(self.keys[index] >= 12))

    def positions(self, index: int) -> np.ndarray:
        """Position in bar (0..steps_per_bar-1) of every step of chorale ``index``.

        Returns
        -------
        np.ndarray [shape=(steps,), dtype=int64]
        """
        steps = self.grids[index].shape[1]
        return (self.bar_offsets[index] + np.arange(steps)) % self.steps_per_bar[index]

    def subset(self, indices: Iterable[int]) -> "Chorales":
        """The chorales at ``indices``, in that order."""
        indices = list(indices)
        return Chorales(tuple(self.names[i] for i in indices), tuple(self.grids[i] for i in indices),
                        self.keys[indices], self.bar_offsets[indices], self.steps_per_bar[indices])

    def split(self) -> tuple["Chorales", "Chorales"]:
        """(train, validation): every :data:`VALID_EVERY`-th chorale by name is validation."""
        order = sorted(range(len(self)), key=lambda i: self.names[i])
        valid = order[::VALID_EVERY]
        train = [i for i in order if i not in set(valid)]
        return self.subset(train), self.subset(valid)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to an ``.npz`` (no pickle), atomically."""
        lengths = np.array([g.shape[1] for g in self.grids], np.int64)
        tmp = Path(f"{path}.tmp.npz")
        np.savez_compressed(tmp, names=np.array(self.names), lengths=lengths,
                            tokens=np.concatenate(self.grids, axis=1).astype(np.int8),
                            keys=self.keys, bar_offsets=self.bar_offsets,
                            steps_per_bar=self.steps_per_bar)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Chorales":
        """Read what :meth:`save` wrote."""
        with np.load(path, allow_pickle=False) as data:
            bounds = np.concatenate([[0], np.cumsum(data["lengths"])])
            tokens = data["tokens"].astype(np.int16)
            grids = tuple(tokens[:, a:b] for a, b in zip(bounds[:-1], bounds[1:]))
            return cls(tuple(str(n) for n in data["names"]), grids, data["keys"].astype(np.int64),
                       data["bar_offsets"].astype(np.int64), data["steps_per_bar"].astype(np.int64))

    def to_dict(self) -> dict:
        """Summary counts (JSON-able)."""
        return {"chorales": len(self), "steps": int(sum(g.shape[1] for g in self.grids)),
                "minor": int((self.keys >= 12).sum()),
                "three_four": int((self.steps_per_bar == 12).sum())}


def extract_chorale(score: Any) -> tuple[np.ndarray, Key, int, int]:
    """Token grid, key, pickup offset and steps per bar of one music21 score.

    Parameters
    ----------
    score : music21.stream.Score

    Returns
    -------
    grid : np.ndarray [shape=(4, steps), dtype=int16]
    key : Key
    bar_offset : int
        Position in the bar of step 0 (non-zero for a pickup).
    steps_per_bar : int

    Raises
    ------
    FormatError
        If the score is not strict four-part writing on the sixteenth grid.
    """
    parts = list(score.parts)
    if len(parts) != len(VOICES):
        raise FormatError(f"{len(parts)} parts; expected 4")
    signatures = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    if len(signatures) != 1:
        raise FormatError(f"time signatures {sorted(signatures)}; expected exactly one")
    numerator, denominator = map(int, signatures.pop().split("/"))
    steps_per_bar = numerator * STEPS_PER_QUARTER * 4 // denominator
    if steps_per_bar not in STEPS_PER_BAR_KEPT:
        raise FormatError(f"{numerator}/{denominator} time; expected 4/4 or 3/4")
    num_steps = _on_grid(score.highestTime, "length")
    grid = np.full((len(VOICES), num_steps), REST, np.int16)
    for voice, part in enumerate(parts):
        end = 0
        for element in part.stripTies().flatten().notes:
            if element.isChord:
                raise FormatError(f"chord in voice {VOICES[voice]}; expected one note at a time")
            if element.duration.isGrace:
                continue
            start = _on_grid(element.offset, "onset")
            steps = _on_grid(element.quarterLength, "duration")
            if start < end or steps == 0:
                raise FormatError(f"overlapping notes in voice {VOICES[voice]} at step {start}")
            pitch = element.pitch.midi
            if not PITCH_MIN + 6 <= pitch <= PITCH_MAX - 5:
                raise FormatError(f"pitch {pitch} out of the transposable range")
            grid[voice, start] = pitch_token(pitch)
            grid[voice, start + 1 : start + steps] = HOLD
            end = start + steps
    first_measure = parts[0].getElementsByClass("Measure")[0]
    bar_offset = _on_grid(first_measure.paddingLeft, "pickup") % steps_per_bar
    estimate = score.analyze("key")
    key = Key(estimate.tonic.pitchClass, estimate.mode == "minor")
    return grid, key, bar_offset, steps_per_bar


def _on_grid(quarter_length: float | Fraction, what: str) -> int:
    steps = float(quarter_length) * STEPS_PER_QUARTER
    if abs(steps - round(steps)) > 1e-6:
        raise FormatError(f"{what} {float(quarter_length)} quarters is off the sixteenth grid")
    return int(round(steps))


def _extract_path(path: str) -> tuple[str, np.ndarray, int, int, int] | None:
    """(name, grid, key index, pickup offset, steps per bar) of the chorale at ``path``; None if it is not one."""
    from music21 import corpus

    try:
        grid, key, bar_offset, steps_per_bar = extract_chorale(corpus.parse(path))
    except FormatError:
        return None
    return Path(path).name.rsplit(".", 1)[0], grid, key.index, bar_offset, steps_per_bar


def chorale_paths() -> list[str]:
    """Paths of the Bach MusicXML files in music21's corpus, sorted by name."""
    corpus = require("music21.corpus", extra="train")
    paths = [p for p in corpus.getComposer("bach") if p.suffix in (".mxl", ".xml")]
    return [str(p) for p in sorted(paths, key=lambda p: p.name)]


def load_corpus(*, workers: int = 2, cache: bool = True) -> Chorales:
    """Parse every strict four-part Bach chorale in music21's corpus.

    Parameters
    ----------
    workers : int
        Parser processes.
    cache : bool
        Read and write the extracted grids under :func:`audiokit.models.cache_dir`,
        keyed by the music21 version and the corpus file list.

    Returns
    -------
    Chorales
    """
    music21 = require("music21", extra="train")
    paths = chorale_paths()
    digest = hashlib.sha256("\n".join(Path(p).name for p in paths).encode()).hexdigest()[:12]
    cached = cache_dir() / f"musicgen-chorales-v{_EXTRACT_VERSION}-m21-{music21.__version__}-{digest}.npz"
    if cache and cached.exists():
        return Chorales.load(cached)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = [row for row in pool.map(_extract_path, paths, chunksize=8) if row is not None]
    names, grids, keys, offsets, bars = zip(*rows)
    chorales = Chorales(names, grids, np.array(keys, np.int64), np.array(offsets, np.int64),
                        np.array(bars, np.int64))
    if cache:
        chorales.save(cached)
    return chorales


def load_heldout() -> Chorales:
    """The held-out validation chorales that ship with the weights (no music21 needed)."""
    return Chorales.load(HELDOUT_PATH)
