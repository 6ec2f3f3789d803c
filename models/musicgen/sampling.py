"""Sample four-voice chorale-style pieces from the committed model.

Sampling runs the numpy network (:mod:`.runtime`) one sixteenth-note step at a
time; within a step the voices are drawn soprano, alto, tenor, bass. Before each
draw the logits are masked so that every voice stays inside its range
(:data:`~.tokens.VOICE_RANGES`) and ``HOLD`` only follows a sounding note, then
divided by the temperature and cut to the top-p nucleus. Randomness comes from
one ``numpy.random.Generator(PCG64(seed))``: the same arguments give the same
piece.

Examples
--------
>>> piece = compose(bars=4, seed=1, key="D")
>>> piece.grid.shape
(4, 64)
>>> piece.key.name
'D'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from audiokit.errors import ParameterError

from .tokens import (
    HOLD,
    REST,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    VOCAB_SIZE,
    VOICE_RANGES,
    VOICES,
    Key,
    Note,
    grid_pitches,
    grid_to_notes,
    parse_key,
    pitch_token,
    transpose_grid,
)

if TYPE_CHECKING:
    from .runtime import ChoraleNetwork

__all__ = ["Piece", "compose", "steps_for"]


@dataclass(frozen=True, eq=False)
class Piece:
    """A sampled piece on the token grid."""

    #: tokens, shape (4, steps), int16 (see tokens.py)
    grid: np.ndarray
    #: the key it was sampled in
    key: Key
    #: steps per bar (16 = 4/4; a primed piece keeps its chorale's metre)
    steps_per_bar: int
    #: position in the bar of step 0 (non-zero after a pickup)
    bar_offset: int
    #: leading steps copied from the priming chorale (0 when not primed)
    prime_steps: int
    #: the priming chorale's name, or None
    prime: str | None
    #: the seed of the sampler
    seed: int
    #: softmax temperature
    temperature: float
    #: nucleus (top-p) mass
    top_p: float

    @property
    def num_steps(self) -> int:
        """Length in sixteenth-note steps."""
        return self.grid.shape[1]

    def notes(self) -> list[Note]:
        """The piece's notes (:class:`~.tokens.Note`), by voice then start."""
        return grid_to_notes(self.grid)

    def pitches(self) -> np.ndarray:
        """Sounding MIDI pitch per voice and step, -1 where silent (shape (4, steps))."""
        return grid_pitches(self.grid)

    def to_dict(self) -> dict:
        """JSON-able summary (the grid as nested lists)."""
        return {"grid": self.grid.tolist(), "key": self.key.to_dict(),
                "steps_per_bar": self.steps_per_bar, "bar_offset": self.bar_offset,
                "prime_steps": self.prime_steps, "prime": self.prime, "seed": self.seed,
                "temperature": self.temperature, "top_p": self.top_p}


def steps_for(*, seconds: float | None = None, bars: int | None = None,
              tempo_bpm: float = 80.0) -> int:
    """Number of grid steps for a length in seconds (whole beats) or in 4/4 bars.

    Raises
    ------
    ParameterError
        Unless exactly one of ``seconds`` and ``bars`` is given and positive.
    """
    if (seconds is None) == (bars is None):
        raise ParameterError("give exactly one of seconds and bars")
    if bars is not None:
        if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or bars < 1:
            raise ParameterError(f"bars is {bars!r}; expected a positive integer")
        return int(bars) * STEPS_PER_BAR
    if not (isinstance(seconds, (int, float)) and 0 < seconds <= 3600):
        raise ParameterError(f"seconds is {seconds!r}; expected a number in (0, 3600]")
    _check_tempo(tempo_bpm)
    beats = max(1, round(seconds * tempo_bpm / 60.0))
    return beats * STEPS_PER_QUARTER


def _check_tempo(tempo_bpm: object) -> None:
    if not (isinstance(tempo_bpm, (int, float)) and 20 <= tempo_bpm <= 300):
        raise ParameterError(f"tempo_bpm is {tempo_bpm!r}; expected 20..300 quarter notes per minute")


def _range_masks() -> np.ndarray:
    """(4, vocab) bool: tokens each voice may sample, HOLD included."""
    masks = np.zeros((len(VOICES), VOCAB_SIZE), bool)
    for voice, (low, high) in enumerate(VOICE_RANGES):
        masks[voice, pitch_token(low) : pitch_token(high) + 1] = True
        masks[voice, [REST, HOLD]] = True
    return masks


def _prime(name: str, key: Key | None, bars: int) -> tuple[np.ndarray, Key, int, int]:
    """Grid, key, metre and offset of the opening of held-out chorale ``name``."""
    from .data import load_heldout

    heldout = load_heldout()
    if name not in heldout.names:
        raise ParameterError(f"prime is {name!r}; expected one of the held-out chorales: "
                             f"{', '.join(sorted(heldout.names))}")
    index = heldout.names.index(name)
    source_key = heldout.key(index)
    per_bar, offset = int(heldout.steps_per_bar[index]), int(heldout.bar_offsets[index])
    if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or bars < 1:
        raise ParameterError(f"prime_bars is {bars!r}; expected a positive integer")
    pickup = (per_bar - offset) % per_bar
    grid = heldout.grids[index][:, : pickup + bars * per_bar]
    if key is None:
        return grid, source_key, per_bar, offset
    if key.minor != source_key.minor:
        raise ParameterError(f"prime {name} is in {source_key.name}; key {key.name} has the other "
                             "mode. Pass a key of the same mode or no key")
    shift = (key.tonic - source_key.tonic + 6) % 12 - 6
    for candidate in (shift, shift + 12, shift - 12):
        moved = transpose_grid(grid, candidate) if _fits(grid, candidate) else None
        if moved is not None:
            return moved, key, per_bar, offset
    raise ParameterError(f"prime {name} does not fit the voice ranges in {key.name}; "
                         "choose another key or prime")


def _fits(grid: np.ndarray, shift: int) -> bool:
    pitches = grid_pitches(grid)
    for voice, (low, high) in enumerate(VOICE_RANGES):
        sounding = pitches[voice][pitches[voice] >= 0] + shift
        if sounding.size and (sounding.min() < low or sounding.max() > high):
            return False
    return True


def compose(*, seconds: float | None = None, bars: int | None = None, tempo_bpm: float = 80.0,
            seed: int = 0, temperature: float = 1.0, top_p: float = 0.95, key: str | Key | None = None,
            prime: str | None = None, prime_bars: int = 2, network: ChoraleNetwork | None = None) -> Piece:
    """Sample a piece.

    Parameters
    ----------
    seconds, bars : float or int
        Length: exactly one. ``seconds`` is rounded to whole beats at ``tempo_bpm``;
        ``bars`` counts 4/4 bars. A primed opening counts toward the length.
    tempo_bpm : float
        Quarter notes per minute (used here only to turn ``seconds`` into steps).
    seed : int
        Seeds the sampler.
    temperature : float
        Softmax temperature, > 0 (lower is more conservative).
    top_p : float
        Nucleus mass in (0, 1]: only the most likely tokens that together
        reach it are drawn from.
    key : str or Key, optional
        E.g. ``"D"``, ``"F#m"``; default: drawn from ``seed`` (or the prime's key).
    prime : str, optional
        Name of a held-out chorale (e.g. ``"bwv26.6"``) whose first
        ``prime_bars`` bars (plus pickup) open the piece, transposed to ``key``.
    prime_bars : int
    network : ChoraleNetwork, optional
        Default: the committed weights.

    Returns
    -------
    Piece
    """
    from .runtime import load_network

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed is {seed!r}; expected a non-negative integer")
    if not (isinstance(temperature, (int, float)) and 0.05 <= temperature <= 5):
        raise ParameterError(f"temperature is {temperature!r}; expected a number in [0.05, 5]")
    if not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ParameterError(f"top_p is {top_p!r}; expected a number in (0, 1]")
    num_steps = steps_for(seconds=seconds, bars=bars, tempo_bpm=tempo_bpm)
    rng = np.random.Generator(np.random.PCG64(seed))
    key = parse_key(key) if key is not None else None
    if prime is not None:
        primed, key, per_bar, offset = _prime(prime, key, prime_bars)
    else:
        primed, per_bar, offset = np.zeros((len(VOICES), 0), np.int16), STEPS_PER_BAR, 0
        if key is None:
            key = Key(int(rng.integers(12)), bool(rng.integers(2)))
    network = network or load_network()
    grid = _sample(network, primed, num_steps, key=key, steps_per_bar=per_bar, bar_offset=offset,
                   rng=rng, temperature=float(temperature), top_p=float(top_p))
    return Piece(grid, key, per_bar, offset, min(primed.shape[1], num_steps), prime, int(seed),
                 float(temperature), float(top_p))


def _sample(network: ChoraleNetwork, primed: np.ndarray, num_steps: int, *, key: Key, steps_per_bar: int,
            bar_offset: int, rng: np.random.Generator, temperature: float, top_p: float) -> np.ndarray:
    masks = _range_masks()
    grid = np.full((len(VOICES), num_steps), REST, np.int16)
    state = network.initial_state()
    previous = [REST] * len(VOICES)
    for step in range(num_steps):
        position = (bar_offset + step) % steps_per_bar
        state, hidden = network.step(state, previous=previous, position=position, key=key.index)
        if step < primed.shape[1]:
            column = primed[:, step].tolist()
        else:
            column = []
            for voice in range(len(VOICES)):
                logits = network.voice_logits(hidden, voice=voice, key=key.index, chosen=column)
                allowed = masks[voice].copy()
                allowed[HOLD] = previous[voice] != REST
                column.append(_draw(logits, allowed, rng, temperature, top_p))
        grid[:, step] = column
        previous = column
    return grid


def _draw(logits: np.ndarray, allowed: np.ndarray, rng: np.random.Generator,
          temperature: float, top_p: float) -> int:
    """One token from masked, tempered, nucleus-truncated logits (float64 arithmetic)."""
    scaled = np.where(allowed, logits.astype(np.float64) / temperature, -np.inf)
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]
    kept = probs[keep] / probs[keep].sum()
    index = int(np.searchsorted(np.cumsum(kept), rng.random(), side="right"))
    return int(keep[min(index, len(keep) - 1)])
