"""MIDI export: parse the file back with a minimal reader and compare with the piece."""

from __future__ import annotations

import struct

import pytest

from audiokit.errors import ParameterError
from audiokit.models.musicgen import midi
from audiokit.models.musicgen.sampling import Piece
from audiokit.models.musicgen.tokens import Key, Note, notes_to_grid

D_MAJOR = Key(2, False)


def _piece(notes, steps=32, key=D_MAJOR):
    return Piece(notes_to_grid(notes, num_steps=steps), key, 16, 0, 0, None, 0, 1.0, 0.95)


def _read_varlen(data, i):
    value = 0
    while True:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i


def _parse(data: bytes):
    """(format, ticks, tracks), each track a list of (absolute tick, event bytes)."""
    assert data[:4] == b"MThd"
    _, fmt, ntracks, ticks = struct.unpack(">IHHH", data[4:14])
    i, tracks = 14, []
    for _ in range(ntracks):
        assert data[i : i + 4] == b"MTrk"
        (length,) = struct.unpack(">I", data[i + 4 : i + 8])
        body, j, now, events = data[i + 8 : i + 8 + length], 0, 0, []
        while j < len(body):
            delta, j = _read_varlen(body, j)
            now += delta
            status = body[j]
            if status == 0xFF:
                size, k = _read_varlen(body, j + 2)
                events.append((now, bytes(body[j : k + size])))
                j = k + size
            else:
                size = 2 if status >> 4 in (0xC, 0xD) else 3
                events.append((now, bytes(body[j : j + size])))
                j += size
        tracks.append(events)
        i += 8 + length
    return fmt, ticks, tracks


def test_notes_tempo_and_key_survive():
    notes = [Note(0, 0, 4, 74), Note(0, 4, 12, 73), Note(1, 0, 16, 66), Note(2, 0, 8, 57),
             Note(2, 8, 8, 59), Note(3, 0, 16, 50)]
    data = midi.midi_bytes(_piece(notes), tempo_bpm=90)
    fmt, ticks, tracks = _parse(data)
    assert (fmt, ticks, len(tracks)) == (1, midi.TICKS_PER_QUARTER, 5)
    conductor = dict((e[1][:2], e[1]) for e in tracks[0])
    assert int.from_bytes(conductor[b"\xff\x51"][3:6], "big") == round(60_000_000 / 90)
    assert conductor[b"\xff\x59"][3:5] == bytes([2, 0])  # D major: 2 sharps
    per_step = midi.TICKS_PER_QUARTER // 4
    parsed = []
    for voice, track in enumerate(tracks[1:]):
        starts = {}
        for tick, event in track:
            if event[0] >> 4 == 0x9 and event[2] > 0:
                assert event[0] & 0x0F == voice
                starts[event[1]] = tick
            elif event[0] >> 4 == 0x8:
                start = starts.pop(event[1])
                parsed.append(Note(voice, start // per_step, (tick - start) // per_step, event[1]))
    assert sorted(parsed, key=lambda n: (n.voice, n.start_step)) == notes


def test_repeated_pitch_is_released_before_it_restarts():
    notes = [Note(0, 0, 4, 72), Note(0, 4, 4, 72)]
    _, _, tracks = _parse(midi.midi_bytes(_piece(notes), tempo_bpm=60))
    at_four = [e for t, e in tracks[1] if t == 4 * midi.TICKS_PER_QUARTER // 4 and e[0] >> 4 in (8, 9)]
    assert [e[0] >> 4 for e in at_four] == [0x8, 0x9]


def test_minor_key_signature_and_atomic_write(tmp_path):
    path = midi.write_midi(tmp_path / "x.mid", _piece([Note(3, 0, 4, 45)], key=Key(9, True)), tempo_bpm=60)
    _, _, tracks = _parse(path.read_bytes())
    signature = [e for _, e in tracks[0] if e[:2] == b"\xff\x59"][0]
    assert signature[3:5] == bytes([0, 1])  # A minor: no sharps, minor
    assert [p.name for p in tmp_path.iterdir()] == ["x.mid"]


def test_rejects_bad_tempo():
    with pytest.raises(ParameterError, match="tempo_bpm"):
        midi.midi_bytes(_piece([]), tempo_bpm=0)
