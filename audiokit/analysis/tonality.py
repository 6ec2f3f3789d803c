"""Key and mode from a chroma profile.

Method: the chroma of the shared STFT (librosa's ``chroma_stft`` filter bank,
A440 tuning), summed over all frames and normalized, is correlated (Pearson) with the 24 rotations of a
major and a minor key profile; the best correlation names the key. Profiles:
Krumhansl-Kessler's probe-tone ratings (Krumhansl 1990) or Temperley's
(Kostka-Payne corpus, Temperley 2001).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ._frames import Frames, chroma_energy, frames_of

__all__ = ["PITCH_CLASSES", "PROFILES", "KeyResult", "key", "key_from_frames"]

#: pitch-class names, C = 0
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: (major, minor) profiles, tonic first
PROFILES = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
}


@dataclass(frozen=True)
class KeyResult:
    """The estimated key of a signal."""

    #: tonic pitch class name, e.g. "F#"
    tonic: str
    #: "major" or "minor"
    mode: str
    #: Pearson correlation of the chroma with the winning profile, in [-1, 1]
    correlation: float
    #: winner's correlation minus the runner-up's: how clear the key is
    margin: float
    #: normalized mean chroma, C first (12 values summing to 1)
    chroma: tuple[float, ...]

    @property
    def name(self) -> str:
        """E.g. "A minor"."""
        return f"{self.tonic} {self.mode}"

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {"key": self.name, "tonic": self.tonic, "mode": self.mode, "correlation": self.correlation,
                "margin": self.margin, "chroma": list(self.chroma)}


def key_from_frames(frames: Frames, *, profile: str = "krumhansl") -> KeyResult:
    """:func:`key` on frames already computed by :func:`._frames.frames_of`."""
    if profile not in PROFILES:
        raise ParameterError(f"profile is {profile!r}; expected one of {', '.join(PROFILES)}")
    chroma = chroma_energy(frames)
    total = chroma.sum()
    chroma = chroma / total if total > 0 else np.full(12, 1 / 12)
    scores = []  # (correlation, tonic, mode)
    for mode, template in zip(("major", "minor"), PROFILES[profile]):
        for tonic in range(12):
            rotated = np.roll(np.asarray(template), tonic)
            correlation = float(np.corrcoef(chroma, rotated)[0, 1]) if chroma.std() > 0 else 0.0
            scores.append((correlation, tonic, mode))
    scores.sort(key=lambda item: item[0], reverse=True)
    (best, tonic, mode), runner_up = scores[0], scores[1][0]
    return KeyResult(tonic=PITCH_CLASSES[tonic], mode=mode, correlation=round(best, 4),
                     margin=round(best - runner_up, 4), chroma=tuple(round(float(c), 5) for c in chroma))


def key(samples: np.ndarray, sample_rate: int, *, profile: str = "krumhansl") -> KeyResult:
    """Estimate the key and mode of a signal.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    profile : str
        "krumhansl" (Krumhansl-Kessler) or "temperley".

    Returns
    -------
    KeyResult

    Examples
    --------
    >>> import audiokit
    >>> audio = audiokit.read("examples/example.flac")
    >>> key(audio.samples, audio.sample_rate).name
    'C major'
    """
    return key_from_frames(frames_of(samples, sample_rate), profile=profile)
