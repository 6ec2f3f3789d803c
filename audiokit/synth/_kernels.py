"""Numba kernels of the synth. Private: the wrappers in additive.py and reverb.py validate.

Nothing here compiles at import: each kernel compiles (or loads from Numba's
on-disk cache) on its first call.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Weight of the in-tune oscillator; the detuned one gets the rest.
CHORUS_MAIN = 0.7


@njit(cache=True)
def add_notes(out: np.ndarray, table: np.ndarray, voices: np.ndarray, starts: np.ndarray,
              lengths: np.ndarray, increments: np.ndarray, gains: np.ndarray, attack: float, decay: float,
              sustain: float, release: float, vibrato_rate: float, vibrato_depth: float,
              detune: float) -> None:  # pragma: no cover - compiled
    """Add wavetable notes with ADSR envelopes into ``out`` (one row per voice).

    For each note: two oscillators read the single-cycle ``table`` with linear
    interpolation, one at the pitch (weight ``CHORUS_MAIN``) and one ``detune``
    higher (a ratio, e.g. 3 cents = 2**(3/1200) - 1; unequal weights so the
    beating never cancels a harmonic);
    the phase increment is ``increments[i] * (1 + vibrato_depth * sin(2 pi vibrato_rate n))``
    (rates and times in samples). The envelope is a linear attack, an exponential
    decay to ``sustain`` with time constant ``decay``, and after the note's
    length a linear release of ``release`` samples from wherever it was.

    Shapes: out : float32 (voices, frames); table : float32 (size + 1,), table[size] == table[0]
    voices, starts, lengths are int64 (notes,); increments, gains float64 (notes,)
    """
    size = table.shape[0] - 1
    frames = out.shape[1]
    for i in range(starts.shape[0]):
        voice = voices[i]
        start = starts[i]
        held = lengths[i]
        total = held + int(release)
        phase_a = 0.0
        phase_b = 0.0
        # Vibrato phasor (cos, sin) rotated by a fixed angle per sample; decay
        # factor applied recursively: excess[n] = (1 - sustain) * exp(-n / decay).
        rot_c = math.cos(2.0 * math.pi * vibrato_rate)
        rot_s = math.sin(2.0 * math.pi * vibrato_rate)
        vib_c = 1.0
        vib_s = 0.0
        fall = math.exp(-1.0 / decay)
        excess = 1.0 - sustain
        level = 0.0
        base = increments[i] * size
        for n in range(total):
            t = start + n
            if t >= frames:
                break
            if n < held:
                if n < attack:
                    level = (n + 1.0) / attack
                else:
                    level = sustain + excess
                    excess *= fall
                env = level
            else:
                env = level * (1.0 - (n - held) / release)
            step = base * (1.0 + vibrato_depth * vib_s)
            vib_c, vib_s = vib_c * rot_c - vib_s * rot_s, vib_s * rot_c + vib_c * rot_s
            ia = int(phase_a)
            fa = phase_a - ia
            ib = int(phase_b)
            fb = phase_b - ib
            sample = (CHORUS_MAIN * (table[ia] + fa * (table[ia + 1] - table[ia]))
                      + (1.0 - CHORUS_MAIN) * (table[ib] + fb * (table[ib + 1] - table[ib])))
            out[voice, t] += gains[i] * env * sample
            phase_a += step
            phase_b += step * (1.0 + detune)
            if phase_a >= size:
                phase_a -= size
            if phase_b >= size:
                phase_b -= size


@njit(cache=True)
def freeverb(x: np.ndarray, out: np.ndarray, comb_lengths: np.ndarray, allpass_lengths: np.ndarray,
             feedback: float, damping: float, allpass_feedback: float) -> None:  # pragma: no cover - compiled
    """Freeverb (Jezar, public domain): parallel lowpass-feedback combs, then series allpasses.

    Comb (per channel c, comb k): ``y[n] = x[n] + feedback * lp[n]`` with
    ``lp[n] = (1 - damping) * y[n - L] + damping * lp[n - 1]``; allpass (Schroeder):
    ``y[n] = -x[n] + b[n - L]``, ``b[n] = x[n] + allpass_feedback * b[n - L]``.

    x : float32 (frames,) mono input; out : float32 (2, frames) wet output.
    comb_lengths, allpass_lengths : int64 (2, K) per channel (stereo spread).
    """
    frames = x.shape[0]
    for c in range(2):
        acc = np.zeros(frames, np.float32)
        for k in range(comb_lengths.shape[1]):
            length = comb_lengths[c, k]
            buf = np.zeros(length, np.float32)
            lp = 0.0
            pos = 0
            for n in range(frames):
                delayed = buf[pos]
                lp = (1.0 - damping) * delayed + damping * lp
                buf[pos] = x[n] + feedback * lp
                acc[n] += delayed
                pos += 1
                if pos == length:
                    pos = 0
        for k in range(allpass_lengths.shape[1]):
            length = allpass_lengths[c, k]
            buf = np.zeros(length, np.float32)
            pos = 0
            for n in range(frames):
                delayed = buf[pos]
                value = acc[n]
                buf[pos] = value + allpass_feedback * delayed
                acc[n] = delayed - value
                pos += 1
                if pos == length:
                    pos = 0
        out[c, :] = acc
