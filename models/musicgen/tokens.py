"""The four-voice token grid: vocabulary, voice ranges, keys, notes.

A chorale is a grid of shape ``(4, steps)``: one row per voice (soprano, alto,
tenor, bass), one column per sixteenth note. Each cell holds one token:

- ``REST`` (0): the voice is silent;
- ``HOLD`` (1): the voice holds the pitch it sounded on an earlier step;
- ``2 + (midi - PITCH_MIN)``: the voice starts a note of that MIDI pitch.

The vocabulary is shared by the four voices and covers every training
transposition (-6..+5 semitones) of the corpus; the voice ranges below are what
sampling allows (:data:`VOICE_RANGES`).

Examples
--------
>>> grid = notes_to_grid([Note(voice=0, start_step=0, num_steps=4, pitch=67)], num_steps=4)
>>> grid[0].tolist()
[39, 1, 1, 1]
>>> grid_to_notes(grid)[0]
Note(voice=0, start_step=0, num_steps=4, pitch=67)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from audiokit.errors import ParameterError

__all__ = [
    "VOICES",
    "STEPS_PER_QUARTER",
    "STEPS_PER_BAR",
    "REST",
    "HOLD",
    "PITCH_MIN",
    "PITCH_MAX",
    "VOCAB_SIZE",
    "VOICE_RANGES",
    "TRANSPOSITIONS",
    "Key",
    "Note",
    "parse_key",
    "pitch_token",
    "token_pitch",
    "grid_to_notes",
    "notes_to_grid",
    "transpose_grid",
    "grid_pitches",
]

#: Voice names, in grid row order (the order voices are sampled within a step).
VOICES = ("soprano", "alto", "tenor", "bass")
#: Grid resolution: sixteenth notes.
STEPS_PER_QUARTER = 4
#: Steps in a 4/4 bar, the metre generated pieces use.
STEPS_PER_BAR = 16
#: Token of a silent step.
REST = 0
#: Token of a step that holds the voice's sounding pitch.
HOLD = 1
#: Lowest and highest MIDI pitch in the vocabulary: the corpus range (36..81)
#: widened by the training transpositions (-6..+5 semitones).
PITCH_MIN = 30
PITCH_MAX = 86
#: Number of distinct tokens (REST, HOLD and one per pitch).
VOCAB_SIZE = 2 + PITCH_MAX - PITCH_MIN + 1
#: Allowed MIDI pitch range per voice when sampling (inclusive): the ranges of
#: the Bach chorale corpus (music21), which are the classical SATB ranges.
VOICE_RANGES = ((60, 81), (53, 74), (48, 69), (36, 64))
#: Training transpositions (semitones): every chorale is seen in all 12 keys.
TRANSPOSITIONS = tuple(range(-6, 6))

_TONICS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b]?)\s*(m|min|minor|maj|major)?\s*$")


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class and mode."""

    #: tonic pitch class, 0 = C ... 11 = B
    tonic: int
    #: True for minor, False for major
    minor: bool

    @property
    def index(self) -> int:
        """The model's key id: ``tonic`` for major keys, ``12 + tonic`` for minor ones."""
        return self.tonic + 12 * self.minor

    @property
    def name(self) -> str:
        """E.g. ``"D"`` or ``"F#m"``."""
        return _NAMES[self.tonic] + ("m" if self.minor else "")

    def transposed(self, semitones: int) -> "Key":
        """The key ``semitones`` higher."""
        return Key((self.tonic + semitones) % 12, self.minor)

    def to_dict(self) -> dict:
        """The key as a JSON-able dict (with its name)."""
        return {**asdict(self), "name": self.name}


@dataclass(frozen=True)
class Note:
    """One note of a voice on the grid."""

    #: voice index into :data:`VOICES`
    voice: int
    #: first sixteenth-note step of the note
    start_step: int
    #: length in sixteenth-note steps (>= 1)
    num_steps: int
    #: MIDI pitch (60 = middle C)
    pitch: int

    def to_dict(self) -> dict:
        """The note as a JSON-able dict."""
        return asdict(self)


def parse_key(key: str | Key) -> Key:
    """Parse ``"D"``, ``"F#m"``, ``"Bb minor"``, ``"e"`` (lower case = minor) or a :class:`Key`.

    Raises
    ------
    ParameterError
        If ``key`` is not a key name.
    """
    if isinstance(key, Key):
        return key
    match = _KEY_RE.match(key) if isinstance(key, str) else None
    if match is None:
        raise ParameterError(
            f"key is {key!r}; expected a key name such as 'D', 'F#m', 'Bb minor' or 'e' (minor)"
        )
    letter, accidental, mode = match.groups()
    tonic = (_TONICS[letter.upper()] + {"": 0, "#": 1, "b": -1}[accidental]) % 12
    minor = mode in ("m", "min", "minor") or (mode is None and letter.islower())
    return Key(tonic, minor)


def pitch_token(pitch: ArrayLike) -> np.ndarray:
    """Token(s) of MIDI pitch(es): ``2 + pitch - PITCH_MIN``."""
    return 2 + np.asarray(pitch) - PITCH_MIN


def token_pitch(token: ArrayLike) -> np.ndarray:
    """MIDI pitch(es) of onset token(s) (inverse of :func:`pitch_token`)."""
    return np.asarray(token) - 2 + PITCH_MIN


def grid_to_notes(grid: np.ndarray) -> list[Note]:
    """The notes of a token grid, ordered by voice then start.

    Parameters
    ----------
    grid : np.ndarray [shape=(4, steps), dtype=integer]

    Returns
    -------
    list of Note
        A ``HOLD`` after a ``REST`` (or at step 0) is read as a rest.
    """
    notes = []
    for voice, row in enumerate(np.asarray(grid)):
        start = None
        for step, token in enumerate(row.tolist() + [REST]):
            if token == HOLD and start is not None:
                continue
            if start is not None:
                notes.append(Note(voice, start, step - start, int(token_pitch(row[start]))))
                start = None
            if token >= 2:
                start = step
    return notes


def notes_to_grid(notes: Iterable[Note], *, num_steps: int) -> np.ndarray:
    """The token grid of ``notes`` (later notes overwrite earlier ones where they overlap).

    Returns
    -------
    np.ndarray [shape=(4, num_steps), dtype=int16]
    """
    grid = np.full((len(VOICES), num_steps), REST, np.int16)
    for note in notes:
        if not PITCH_MIN <= note.pitch <= PITCH_MAX:
            raise ParameterError(f"{note} is outside the vocabulary's pitches {PITCH_MIN}..{PITCH_MAX}")
        end = min(note.start_step + note.num_steps, num_steps)
        grid[note.voice, note.start_step] = pitch_token(note.pitch)
        grid[note.voice, note.start_step + 1 : end] = HOLD
    return grid


def transpose_grid(grid: np.ndarray, semitones: int) -> np.ndarray:
    """Shift every onset token by ``semitones`` (REST and HOLD unchanged).

    Raises
    ------
    ParameterError
        If a pitch leaves the vocabulary.
    """
    grid = np.asarray(grid)
    onset = grid >= 2
    out = grid.copy()
    out[onset] += semitones
    if onset.any() and (out[onset].min() < 2 or out[onset].max() >= VOCAB_SIZE):
        raise ParameterError(
            f"transposing by {semitones} semitones leaves the pitch range {PITCH_MIN}..{PITCH_MAX}"
        )
    return out


def grid_pitches(grid: np.ndarray) -> np.ndarray:
    """The sounding MIDI pitch of every cell (-1 where silent).

    Parameters
    ----------
    grid : np.ndarray [shape=(4, steps)]

    Returns
    -------
    np.ndarray [shape=(4, steps), dtype=int16]
    """
    grid = np.asarray(grid)
    out = np.full(grid.shape, -1, np.int16)
    for voice in range(grid.shape[0]):
        current = -1
        for step, token in enumerate(grid[voice].tolist()):
            if token == REST:
                current = -1
            elif token != HOLD:
                current = int(token_pitch(token))
            out[voice, step] = current
    return out
