"""Chorale extraction (music21, the ``train`` extra) and the shipped held-out set."""

from __future__ import annotations

import numpy as np
import pytest
from music21 import chord, meter, note, stream

from audiokit.errors import FormatError
from audiokit.models.musicgen.data import Chorales, extract_chorale, load_heldout
from audiokit.models.musicgen.tokens import HOLD, VOICE_RANGES, grid_pitches, pitch_token


def _score(parts_notes, *, time_signature="4/4"):
    """A Score whose parts hold (midi, quarter length) notes, in bars."""
    score = stream.Score()
    for notes in parts_notes:
        part = stream.Part()
        part.append(meter.TimeSignature(time_signature))
        for midi, length in notes:
            part.append(note.Note(midi, quarterLength=length) if midi else note.Rest(quarterLength=length))
        part.makeMeasures(inPlace=True)
        score.insert(0, part)
    return score


def test_extracts_four_voices_on_the_sixteenth_grid():
    satb = [[(72, 1), (71, 0.5), (69, 0.5), (67, 2)], [(67, 2), (66, 1), (67, 1)],
            [(64, 1), (62, 1), (62, 2)], [(48, 1), (50, 0.25), (52, 0.75), (55, 2)]]
    grid, key, bar_offset, per_bar = extract_chorale(_score(satb))
    assert grid.shape == (4, 16) and per_bar == 16 and bar_offset == 0
    assert grid[0, :8].tolist() == [pitch_token(72), HOLD, HOLD, HOLD, pitch_token(71), HOLD,
                                    pitch_token(69), HOLD]
    assert grid[3, 4] == pitch_token(50) and grid[3, 5] == pitch_token(52)
    assert key.name in ("C", "G", "Em", "Am")


def test_rejects_non_chorales():
    three = [[(72, 4)], [(67, 4)], [(60, 4)]]
    with pytest.raises(FormatError, match="3 parts"):
        extract_chorale(_score(three))
    triplet = [[(72, 1 / 3), (71, 1 / 3), (69, 1 / 3), (67, 3)]] + [[(60, 4)]] * 3
    with pytest.raises(FormatError, match="sixteenth grid"):
        extract_chorale(_score(triplet))
    score = _score([[(72, 4)], [(67, 4)], [(60, 4)], [(48, 4)]])
    score.parts[1].getElementsByClass("Measure")[0].insert(0, chord.Chord([64, 67], quarterLength=4))
    with pytest.raises(FormatError):
        extract_chorale(score)
    with pytest.raises(FormatError, match="time"):
        extract_chorale(_score([[(72, 2.5)]] * 4, time_signature="5/8"))


def test_heldout_round_trip_and_split(tmp_path):
    heldout = load_heldout()
    assert len(heldout) > 20 and heldout.to_dict()["chorales"] == len(heldout)
    path = tmp_path / "x.npz"
    heldout.save(path)
    again = Chorales.load(path)
    assert again.names == heldout.names
    assert all((a == b).all() for a, b in zip(again.grids, heldout.grids))
    assert (again.keys == heldout.keys).all()
    train, valid = heldout.split()
    assert len(train) + len(valid) == len(heldout) and not set(train.names) & set(valid.names)
    for index in range(len(heldout)):
        positions = heldout.positions(index)
        assert positions.max() < heldout.steps_per_bar[index]


def test_heldout_chorales_sit_in_the_voice_ranges_within_a_transposition():
    heldout = load_heldout()
    for grid in heldout.grids:
        pitches = grid_pitches(grid)
        for voice, (low, high) in enumerate(VOICE_RANGES):
            sounding = pitches[voice][pitches[voice] >= 0]
            assert low - 6 <= sounding.min() and sounding.max() <= high + 6
    assert np.isin(heldout.steps_per_bar, (12, 16)).all()
