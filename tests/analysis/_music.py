"""A synthetic band with a known tempo and key: chords, bass, melody and drums (audiokit.synth + numpy)."""

from __future__ import annotations

import numpy as np

from audiokit.synth.additive import ORGAN, STRINGS, pan_stereo, render_notes

#: scale degrees in semitones above the tonic
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)


def band(bpm: float, tonic: int, mode: str, *, duration_s: float = 30.0, sample_rate: int = 44100,
         seed: int = 0) -> np.ndarray:
    """A stereo track at ``bpm`` in ``tonic`` (C = 0) ``mode``; float32 ``(2, frames)``, peak 0.5.

    One chord per 4/4 bar (I-vi-IV-V in major, i-VI-iv-V in harmonic minor),
    the bass on every beat, an eighth-note melody drawn from the scale, a kick
    on beats 1 and 3, a snare-like noise burst on 2 and 4 and a hi-hat on
    every eighth note.
    """
    rng = np.random.default_rng(seed)
    scale = MAJOR_SCALE if mode == "major" else HARMONIC_MINOR_SCALE
    beat_s = 60.0 / bpm
    bars = int(duration_s / (4 * beat_s))
    degrees = (0, 5, 3, 4)  # I vi IV V / i VI iv V
    pitches, starts, lengths, voices = [], [], [], []
    for bar in range(bars):
        root = degrees[bar % 4]
        chord = [scale[(root + step) % 7] + 12 * ((root + step) // 7) for step in (0, 2, 4)]
        if root == 4 and mode == "minor":  # V is major in harmonic minor: its third is the raised seventh
            chord[1] = 11
        bar_s = bar * 4 * beat_s
        for note in chord:
            pitches.append(60 + tonic + note)
            starts.append(bar_s)
            lengths.append(4 * beat_s * 0.95)
            voices.append(0)
        for beat in range(4):
            pitches.append(36 + tonic + chord[0])
            starts.append(bar_s + beat * beat_s)
            lengths.append(beat_s * 0.6)
            voices.append(1)
        for eighth in range(8):
            pitches.append(72 + tonic + scale[int(rng.integers(0, 7))])
            starts.append(bar_s + eighth * beat_s / 2)
            lengths.append(beat_s * 0.4)
            voices.append(2)
    frames = int(bars * 4 * beat_s * sample_rate)
    stems = render_notes(np.array(pitches), np.array(starts), np.array(lengths), sample_rate,
                         voices=np.array(voices), num_voices=3, timbre=ORGAN, gain=0.15)[:, :frames]
    melody = render_notes(np.array(pitches)[np.array(voices) == 2], np.array(starts)[np.array(voices) == 2],
                          np.array(lengths)[np.array(voices) == 2], sample_rate, timbre=STRINGS, gain=0.12)
    stems[2] = melody[0, :frames]
    mix = pan_stereo(stems, pans=[0.0, 0.0, 0.3])
    drums = np.zeros(frames, np.float32)
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    kick = (np.sin(2 * np.pi * (50 + 60 * np.exp(-t * 30)) * t) * np.exp(-t * 12)).astype(np.float32)
    snare = (rng.standard_normal(t.size) * np.exp(-t * 25) * 0.5).astype(np.float32)
    hat = (rng.standard_normal(t.size) * np.exp(-t * 120) * 0.15).astype(np.float32)
    for eighth in range(bars * 8):
        start = int(eighth * beat_s / 2 * sample_rate)
        sound = hat + (kick if eighth % 4 == 0 else snare if eighth % 4 == 2 else 0.0)
        stop = min(frames, start + sound.size)
        drums[start:stop] += sound[: stop - start]
    mix = mix + 0.4 * drums
    return (0.5 * mix / np.abs(mix).max()).astype(np.float32)
