"""Standard MIDI File export of a sampled piece (format 1, no dependencies).

Track 0 carries the tempo, time and key signatures; tracks 1-4 carry soprano,
alto, tenor and bass on MIDI channels 0-3 (General MIDI church organ).

Examples
--------
>>> from audiokit.models.musicgen import compose
>>> write_midi("piece.mid", compose(bars=2, seed=0), tempo_bpm=80)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from audiokit._files import write_atomically
from audiokit.errors import ParameterError

from .tokens import STEPS_PER_QUARTER, VOICES

if TYPE_CHECKING:
    from .sampling import Piece

__all__ = ["TICKS_PER_QUARTER", "PROGRAM", "midi_bytes", "write_midi"]

#: MIDI time resolution (ticks per quarter note).
TICKS_PER_QUARTER = 480
#: General MIDI program of every voice (19 = Church Organ, zero-based).
PROGRAM = 19
#: Note-on velocity.
VELOCITY = 80
_TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER
# Sharps (+) or flats (-) of each major tonic pitch class, for the key signature meta event.
_MAJOR_SHARPS = (0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity (SMF 1.0, "Variable Length Quantity")."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track(events: Iterable[tuple[int, int, bytes]]) -> bytes:
    """An MTrk chunk from (tick, sort order, payload) events; adds End of Track."""
    body, now = bytearray(), 0
    for tick, _, payload in sorted(events, key=lambda e: (e[0], e[1])):
        body += _varlen(tick - now) + payload
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def midi_bytes(piece: Piece, *, tempo_bpm: float) -> bytes:
    """The piece as a format-1 Standard MIDI File.

    Parameters
    ----------
    piece : Piece
    tempo_bpm : float
        Quarter notes per minute.

    Returns
    -------
    bytes
    """
    if not (isinstance(tempo_bpm, (int, float)) and 20 <= tempo_bpm <= 300):
        raise ParameterError(f"tempo_bpm is {tempo_bpm!r}; expected 20..300")
    microseconds = round(60_000_000 / tempo_bpm)
    numerator = piece.steps_per_bar // STEPS_PER_QUARTER
    sharps = _MAJOR_SHARPS[(piece.key.tonic + 3 * piece.key.minor) % 12]
    conductor = [
        (0, 0, b"\xff\x51\x03" + microseconds.to_bytes(3, "big")),
        (0, 0, bytes([0xFF, 0x58, 0x04, numerator, 2, 24, 8])),
        (0, 0, bytes([0xFF, 0x59, 0x02, sharps & 0xFF, int(piece.key.minor)])),
    ]
    tracks = [_track(conductor)]
    notes = piece.notes()
    for voice, name in enumerate(VOICES):
        events = [(0, 0, b"\xff\x03" + _varlen(len(name)) + name.encode("ascii")),
                  (0, 0, bytes([0xC0 | voice, PROGRAM]))]
        for note in (n for n in notes if n.voice == voice):
            start = note.start_step * _TICKS_PER_STEP
            end = (note.start_step + note.num_steps) * _TICKS_PER_STEP
            # note-offs sort before note-ons at the same tick
            events.append((start, 2, bytes([0x90 | voice, note.pitch, VELOCITY])))
            events.append((end, 1, bytes([0x80 | voice, note.pitch, 0])))
        tracks.append(_track(events))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    return header + b"".join(tracks)


def write_midi(path: str | os.PathLike[str], piece: Piece, *, tempo_bpm: float) -> Path:
    """Write :func:`midi_bytes` to ``path`` atomically; returns the path."""
    path = Path(path)
    data = midi_bytes(piece, tempo_bpm=tempo_bpm)
    return write_atomically(path, data)
