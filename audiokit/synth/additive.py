"""Additive voices: harmonic wavetables with ADSR envelopes, vibrato and chorus.

Each timbre is a list of harmonic amplitudes summed into one single-cycle
wavetable (band-limited as long as ``pitch * len(harmonics)`` stays below
Nyquist: 10 harmonics of A5 reach 8.8 kHz), played by two oscillators, one a
few cents sharp of the other (chorus), under a linear attack, an exponential decay to a sustain
level, and a linear release after the note ends.

Examples
--------
>>> import numpy as np
>>> stems = render_notes(np.array([60.0, 64.0]), np.array([0.0, 0.5]), np.array([0.5, 0.5]),
...                      48000, voices=np.array([0, 1]), num_voices=2, timbre=ORGAN)
>>> stems.shape
(2, 53760)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .._arrays import as_samples, check_sample_rate
from ..errors import ParameterError

__all__ = ["Timbre", "ORGAN", "STRINGS", "TIMBRES", "render_notes", "pan_stereo", "midi_to_hz"]

#: Samples per wavetable cycle.
TABLE_SIZE = 4096


@dataclass(frozen=True)
class Timbre:
    """An additive voice."""

    #: relative amplitude of harmonics 1, 2, 3, ...
    harmonics: tuple
    #: linear attack time, seconds
    attack_s: float
    #: time constant of the decay from full level to the sustain level, seconds
    decay_s: float
    #: sustain level relative to the attack peak, 0..1
    sustain: float
    #: linear release time after the note ends, seconds
    release_s: float
    #: vibrato rate, Hz (0 for none)
    vibrato_hz: float
    #: vibrato depth, cents (peak)
    vibrato_cents: float
    #: the second (weaker) oscillator sits this many cents above the pitch (chorus)
    detune_cents: float

    def __post_init__(self) -> None:
        if not self.harmonics or any(not np.isfinite(h) for h in self.harmonics):
            raise ParameterError(f"harmonics is {self.harmonics!r}; expected finite amplitudes")
        if min(self.attack_s, self.decay_s, self.release_s) <= 0:
            raise ParameterError("attack_s, decay_s and release_s must be > 0")
        if not 0 <= self.sustain <= 1:
            raise ParameterError(f"sustain is {self.sustain}; expected 0..1")

    def wavetable(self) -> np.ndarray:
        """One cycle of the harmonic sum, peak 1, with a wrap-around sample.

        Returns
        -------
        np.ndarray [shape=(TABLE_SIZE + 1,), dtype=float32]
        """
        phase = 2 * np.pi * np.arange(TABLE_SIZE + 1) / TABLE_SIZE
        wave = sum(a * np.sin(k * phase) for k, a in enumerate(self.harmonics, start=1))
        wave[-1] = wave[0]
        return (wave / np.abs(wave).max()).astype(np.float32)

    def to_dict(self) -> dict:
        """The timbre as a JSON-able dict."""
        return {**asdict(self), "harmonics": list(self.harmonics)}


#: Flue organ: strong low harmonics, quick attack, steady sustain, no vibrato.
ORGAN = Timbre(harmonics=(1.0, 0.55, 0.35, 0.22, 0.12, 0.09, 0.05, 0.04), attack_s=0.025,
               decay_s=0.25, sustain=0.85, release_s=0.12, vibrato_hz=0.0, vibrato_cents=0.0,
               detune_cents=1.5)
#: String section: a sawtooth-like spectrum, slower attack, vibrato, wider chorus.
STRINGS = Timbre(harmonics=tuple(1.0 / k for k in range(1, 11)), attack_s=0.09, decay_s=0.6,
                 sustain=0.8, release_s=0.25, vibrato_hz=5.2, vibrato_cents=7.0, detune_cents=4.0)
#: Timbres by name (the CLI's --timbre choices).
TIMBRES = {"organ": ORGAN, "strings": STRINGS}


def midi_to_hz(pitch: float | np.ndarray) -> np.ndarray:
    """Equal-tempered frequency of MIDI pitch(es), A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, np.float64) - 69.0) / 12.0)


def render_notes(pitches: np.ndarray, starts_s: np.ndarray, durations_s: np.ndarray, sample_rate: int, *,
                 voices: np.ndarray | None = None,
                 num_voices: int = 1, timbre: Timbre = ORGAN, gain: float = 0.2) -> np.ndarray:
    """Render notes to one stem per voice.

    Parameters
    ----------
    pitches : np.ndarray [shape=(notes,)]
        MIDI pitches (fractional allowed).
    starts_s, durations_s : np.ndarray [shape=(notes,)]
        Onsets and held lengths in seconds.
    sample_rate : int
    voices : np.ndarray [shape=(notes,), dtype=int], optional
        Stem of each note, 0..num_voices-1 (default all 0).
    num_voices : int
    timbre : Timbre
    gain : float
        Peak amplitude of one sustained note.

    Returns
    -------
    np.ndarray [shape=(num_voices, frames), dtype=float32]
        ``frames`` covers the last note's release.
    """
    from ._kernels import add_notes

    sample_rate = check_sample_rate(sample_rate)
    pitches, starts_s, durations_s = (np.asarray(a, np.float64).reshape(-1)
                                      for a in (pitches, starts_s, durations_s))
    voices = np.zeros(pitches.shape, np.int64) if voices is None else np.asarray(voices, np.int64).reshape(-1)
    if not pitches.shape == starts_s.shape == durations_s.shape == voices.shape:
        raise ParameterError(
            f"pitches, starts_s, durations_s and voices have shapes {pitches.shape}, "
            f"{starts_s.shape}, {durations_s.shape}, {voices.shape}; expected one value per note"
        )
    if pitches.size and (voices.min() < 0 or voices.max() >= num_voices):
        raise ParameterError(f"voices must be in 0..{num_voices - 1}; got {voices.min()}..{voices.max()}")
    if not (np.isfinite(starts_s).all() and (starts_s >= 0).all() and (durations_s > 0).all()):
        raise ParameterError("starts_s must be finite and >= 0, durations_s > 0")
    frequencies = midi_to_hz(pitches)
    if pitches.size and frequencies.max() >= sample_rate / 2:
        raise ParameterError(f"pitch {pitches.max()} is at or above Nyquist at {sample_rate} Hz")
    release = timbre.release_s * sample_rate
    starts = np.round(starts_s * sample_rate).astype(np.int64)
    lengths = np.maximum(1, np.round(durations_s * sample_rate)).astype(np.int64)
    frames = int((starts + lengths).max() + np.ceil(release)) if pitches.size else 0
    out = np.zeros((num_voices, frames), np.float32)
    if pitches.size:
        # Harmonics above Nyquist would alias: attenuate notes whose table would fold.
        highest = frequencies * len(timbre.harmonics)
        gains = np.where(highest < 0.45 * sample_rate, gain, gain * 0.45 * sample_rate / highest)
        add_notes(out, timbre.wavetable(), voices, starts, lengths, frequencies / sample_rate,
                  gains.astype(np.float64), timbre.attack_s * sample_rate, timbre.decay_s * sample_rate,
                  float(timbre.sustain), float(release), timbre.vibrato_hz / sample_rate,
                  2.0 ** (timbre.vibrato_cents / 1200.0) - 1.0, 2.0 ** (timbre.detune_cents / 1200.0) - 1.0)
    return out


def pan_stereo(stems: np.ndarray, *, pans: Sequence[float] | np.ndarray) -> np.ndarray:
    """Mix stems to stereo with equal-power (sin/cos) panning.

    Parameters
    ----------
    stems : np.ndarray [shape=(voices, frames)]
    pans : sequence of float [shape=(voices,)]
        -1 = left, 0 = centre, +1 = right.

    Returns
    -------
    np.ndarray [shape=(2, frames), dtype=float32]
    """
    stems = as_samples(stems, name="stems")
    pans = np.asarray(pans, np.float64)
    if pans.shape != (stems.shape[0],) or np.abs(pans).max(initial=0) > 1:
        raise ParameterError(f"pans has shape {pans.shape}; expected one value in -1..1 per stem "
                             f"({stems.shape[0]})")
    angle = (pans + 1) * np.pi / 4
    gains = np.stack([np.cos(angle), np.sin(angle)]).astype(np.float32)  # (2, voices)
    return np.ascontiguousarray(gains @ stems)
