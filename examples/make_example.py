"""Synthesize examples/example.flac: 20 s of license-clean stereo music.

The project makes its own example so that ``make demo`` runs offline on a
fresh machine. Everything is deterministic (seeded); re-running the script
rewrites the same samples. Released under the project's license (MIT).

Run: ``python examples/make_example.py [OUT.flac]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import audiokit

SAMPLE_RATE = 44100
TEMPO_BPM = 100.0
BARS = 8  # 8 bars of 4/4 at 100 BPM = 19.2 s, plus a 1 s release tail
TAIL_S = 1.0
# I - V - vi - IV in C major, twice; MIDI note numbers of each chord.
PROGRESSION = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)] * 2
BASS = [36, 31, 33, 29] * 2
SEED = 20261127


def midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def envelope(num_frames: int, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack, exponential-ish release to zero at the end."""
    t = np.arange(num_frames) / SAMPLE_RATE
    attack = np.minimum(1.0, t / attack_s)
    release = np.clip((num_frames / SAMPLE_RATE - t) / release_s, 0.0, 1.0) ** 2
    return attack * release


def tone(frequency_hz: float, num_frames: int, harmonics: int, rolloff: float) -> np.ndarray:
    """Additive tone with ``harmonics`` partials falling off as 1/k**rolloff."""
    t = np.arange(num_frames) / SAMPLE_RATE
    out = np.zeros(num_frames)
    for k in range(1, harmonics + 1):
        if k * frequency_hz < 0.45 * SAMPLE_RATE:
            out += np.sin(2 * np.pi * k * frequency_hz * t) / k**rolloff
    return out


def place(track: np.ndarray, sound: np.ndarray, start_s: float, pan: float) -> None:
    """Mix ``sound`` into stereo ``track`` at ``start_s`` with constant-power ``pan`` in [-1, 1]."""
    start = round(start_s * SAMPLE_RATE)
    end = min(track.shape[1], start + len(sound))
    angle = (pan + 1) * np.pi / 4
    track[0, start:end] += np.cos(angle) * sound[: end - start]
    track[1, start:end] += np.sin(angle) * sound[: end - start]


def synthesize() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    beat_s = 60.0 / TEMPO_BPM
    bar_s = 4 * beat_s
    track = np.zeros((2, round((BARS * bar_s + TAIL_S) * SAMPLE_RATE)))
    for bar, (chord, bass) in enumerate(zip(PROGRESSION, BASS)):
        start = bar * bar_s
        chord_frames = round((bar_s + 0.3) * SAMPLE_RATE)
        for index, note in enumerate(chord):  # soft pad, voices spread left to right
            pad = tone(midi_to_hz(note), chord_frames, 8, 1.5) * envelope(chord_frames, 0.15, 0.5)
            place(track, 0.06 * pad, start, pan=-0.5 + 0.5 * index)
        for beat in range(4):  # bass on every beat
            frames = round(0.9 * beat_s * SAMPLE_RATE)
            note = bass + (12 if beat == 3 else 0)
            place(track, 0.16 * tone(midi_to_hz(note), frames, 5, 1.2) * envelope(frames, 0.01, 0.3),
                  start + beat * beat_s, pan=0.0)
        for step in range(8):  # arpeggio in eighth notes, an octave up
            note = chord[step % 3] + 12 + (12 if step in (3, 7) else 0)
            frames = round(0.5 * beat_s * SAMPLE_RATE)
            pluck = tone(midi_to_hz(note), frames, 6, 2.0) * envelope(frames, 0.005, 0.2)
            place(track, 0.08 * pluck, start + step * beat_s / 2, pan=0.6 * np.sin(step))
        for beat in range(4):  # kick: a falling sine; hat: short bright noise
            frames = round(0.25 * SAMPLE_RATE)
            t = np.arange(frames) / SAMPLE_RATE
            kick = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 14)
            place(track, 0.35 * kick, start + beat * beat_s, pan=0.0)
            hat_frames = round(0.05 * SAMPLE_RATE)
            hat = np.diff(rng.standard_normal(hat_frames + 1)) * np.exp(-np.arange(hat_frames) / 300)
            place(track, 0.03 * hat, start + (beat + 0.5) * beat_s, pan=0.3)
    return (0.9 * track / np.abs(track).max()).astype(np.float32)


def main(out_path: str = str(Path(__file__).with_name("example.flac"))) -> None:
    audio = audiokit.Audio(synthesize(), SAMPLE_RATE)
    tags = {"title": "audiokit example", "artist": "audiokit", "album": "audiokit examples",
            "date": "2026", "genre": "Pop", "license": "MIT",
            "comment": "Synthesized by examples/make_example.py"}
    audiokit.write(out_path, audio, bit_depth=16, tags=tags)
    print(f"wrote {out_path}: {audio.num_frames} frames, {audio.duration_s:.2f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
