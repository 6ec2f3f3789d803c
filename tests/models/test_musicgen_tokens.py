"""The token grid: notes round trip, transposition, keys (no torch, no music21)."""

from __future__ import annotations

import numpy as np
import pytest

from audiokit.errors import ParameterError
from audiokit.models.musicgen import tokens
from audiokit.models.musicgen.tokens import HOLD, REST, Key, Note


def test_notes_round_trip():
    notes = [Note(0, 0, 4, 72), Note(0, 4, 2, 74), Note(0, 8, 8, 71),
             Note(1, 0, 16, 67), Note(2, 2, 6, 60), Note(3, 0, 1, 48), Note(3, 1, 15, 43)]
    grid = tokens.notes_to_grid(notes, num_steps=16)
    assert grid.shape == (4, 16) and grid.dtype == np.int16
    assert grid[0, 6] == REST and grid[0, 5] == HOLD
    assert tokens.grid_to_notes(grid) == notes


def test_hold_after_rest_reads_as_rest():
    grid = np.array([[REST, HOLD, tokens.pitch_token(60), HOLD]] * 4)
    assert [n.start_step for n in tokens.grid_to_notes(grid)] == [2, 2, 2, 2]
    pitches = tokens.grid_pitches(grid)
    assert pitches[0].tolist() == [-1, -1, 60, 60]


def test_transpose_and_vocabulary_edges():
    grid = tokens.notes_to_grid([Note(0, 0, 2, 70)], num_steps=4)
    up = tokens.transpose_grid(grid, 5)
    assert tokens.grid_to_notes(up)[0].pitch == 75
    assert (up[0, 1:] == grid[0, 1:]).all()  # HOLD and REST unchanged
    with pytest.raises(ParameterError, match="leaves the pitch range"):
        tokens.transpose_grid(tokens.notes_to_grid([Note(0, 0, 1, tokens.PITCH_MAX)], num_steps=1), 1)
    with pytest.raises(ParameterError, match="outside the vocabulary"):
        tokens.notes_to_grid([Note(0, 0, 1, 20)], num_steps=1)


def test_vocabulary_covers_every_training_transposition_of_every_range():
    low = min(r[0] for r in tokens.VOICE_RANGES) + min(tokens.TRANSPOSITIONS)
    high = max(r[1] for r in tokens.VOICE_RANGES) + max(tokens.TRANSPOSITIONS)
    assert tokens.PITCH_MIN <= low and high <= tokens.PITCH_MAX
    assert tokens.VOCAB_SIZE == 2 + tokens.PITCH_MAX - tokens.PITCH_MIN + 1


@pytest.mark.parametrize("text, tonic, minor", [
    ("C", 0, False), ("D", 2, False), ("F#m", 6, True), ("Bb minor", 10, True),
    ("e", 4, True), ("Eb", 3, False), ("g major", 7, False), ("Cb", 11, False),
])
def test_parse_key(text, tonic, minor):
    key = tokens.parse_key(text)
    assert (key.tonic, key.minor) == (tonic, minor)
    assert tokens.parse_key(key) is key


@pytest.mark.parametrize("text", ["H", "", "C##", "Dorian", 5, None])
def test_parse_key_rejects(text):
    with pytest.raises(ParameterError, match="key is"):
        tokens.parse_key(text)


def test_key_index_name_transpose():
    assert Key(2, False).index == 2 and Key(9, True).index == 21
    assert Key(2, False).name == "D" and Key(6, True).name == "F#m"
    assert Key(11, True).transposed(2) == Key(1, True)
    assert Key(2, False).to_dict() == {"tonic": 2, "minor": False, "name": "D"}
