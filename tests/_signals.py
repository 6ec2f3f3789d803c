"""Synthetic test signals, (channels, frames) float32, reproducible.

Import them in tests with ``from _signals import sine, noise`` (tests/ is on
sys.path because conftest.py lives there).
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATES = (8000, 11025, 22050, 44100, 48000, 96000, 192000)


@functools.lru_cache(maxsize=64)
def _sine(frequency_hz: float, sample_rate: int, duration_s: float, channels: int,
          amplitude: float, fade_s: float) -> np.ndarray:
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    signal = amplitude * np.sin(2 * np.pi * frequency_hz * t)
    fade = min(round(fade_s * sample_rate), len(t) // 2)
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
        signal[:fade] *= ramp
        signal[-fade:] *= ramp[::-1]
    # Each channel a little different so channel mix-ups show.
    rows = [signal * (1.0 - 0.1 * c) for c in range(channels)]
    out = np.asarray(rows, dtype=np.float32)
    out.setflags(write=False)
    return out


def sine(frequency_hz: float, sample_rate: int, *, duration_s: float = 1.0, channels: int = 1,
         amplitude: float = 0.5, fade_s: float = 0.01) -> np.ndarray:
    """A (channels, frames) float32 sine with raised-cosine fades (read-only, cached)."""
    return _sine(frequency_hz, sample_rate, duration_s, channels, amplitude, fade_s)


def noise(sample_rate: int, *, duration_s: float = 1.0, channels: int = 1,
          amplitude: float = 0.25, seed: int = 0) -> np.ndarray:
    """Uniform white noise, (channels, frames) float32, reproducible from ``seed``."""
    generator = np.random.default_rng(seed)
    frames = round(duration_s * sample_rate)
    return generator.uniform(-amplitude, amplitude, (channels, frames)).astype(np.float32)


def sweep(sample_rate: int, *, duration_s: float = 1.0, f0_hz: float = 20.0,
          f1_hz: float | None = None, amplitude: float = 0.5) -> np.ndarray:
    """A (1, frames) exponential sine sweep from f0_hz to f1_hz (default 0.45 fs)."""
    f1_hz = f1_hz or 0.45 * sample_rate
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    rate = np.log(f1_hz / f0_hz) / duration_s
    phase = 2 * np.pi * f0_hz * (np.exp(rate * t) - 1) / rate
    return (amplitude * np.sin(phase))[np.newaxis].astype(np.float32)


def clicks(sample_rate: int, *, duration_s: float = 1.0, every_s: float = 0.1) -> np.ndarray:
    """A (1, frames) float32 train of unit impulses every ``every_s`` seconds."""
    out = np.zeros((1, round(duration_s * sample_rate)), np.float32)
    out[0, :: max(1, round(every_s * sample_rate))] = 1.0
    return out


def notes(sample_rate: int, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Stereo harmonic notes, four a second, each decaying over 0.5 s; float64 ``(2, frames)``, drawn from ``rng``."""
    frames = round(duration_s * sample_rate)
    t = np.arange(frames) / sample_rate
    out = np.zeros((2, frames))
    for note in range(int(duration_s * 4)):
        start = note * sample_rate // 4
        length = min(frames - start, sample_rate // 2)
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        envelope = np.exp(-3.0 * np.arange(length) / sample_rate) * rng.uniform(0.2, 1.0)
        for harmonic in range(1, 6):
            if f0 * harmonic < 0.45 * sample_rate:
                tone = np.sin(2 * np.pi * f0 * harmonic * t[start:start + length] + rng.uniform(0, 6.3))
                out[:, start:start + length] += envelope * tone / harmonic * rng.uniform(0.5, 1.0, (2, 1))
    return out
