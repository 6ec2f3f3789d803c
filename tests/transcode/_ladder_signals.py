"""A music-like test signal for ladder tests: tilted noise plus harmonic tones.

White noise is a poor stand-in for music in codec tests: lossy codecs cut its
strong top octave (a white-noise master loses 0.4 LU in a 16 kHz MP3), and
parametric low-bitrate coding blurs its waveform. This signal has a pink-like
-4.5 dB/octave spectrum rolled off above 16 kHz, an amplitude envelope and
harmonic tones, so waveform codecs stay aligned and loudness is meaningful.
"""

from __future__ import annotations

import numpy as np
from _signals import notes

#: Non-round on purpose.
DURATION_S = 3.345678


def music(sample_rate: int, *, channels: int = 2, duration_s: float = DURATION_S, seed: int = 0) -> np.ndarray:
    """A ``(channels, frames)`` float32 music-like signal, different in every channel."""
    generator = np.random.default_rng(seed)
    frames = round(duration_s * sample_rate)
    white = generator.standard_normal((channels, frames))
    freqs = np.fft.rfftfreq(frames, 1 / sample_rate)
    freqs[0] = freqs[1]
    shape = (freqs / 1000) ** -0.75 / np.sqrt(1 + (freqs / 16000) ** 8)
    tilted = np.fft.irfft(np.fft.rfft(white, axis=1) * shape, frames, axis=1)
    tilted /= tilted.std()
    t = np.arange(frames) / sample_rate
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t) ** 2
    tones = sum(0.3 / k * np.sin(2 * np.pi * 110 * k * t + k) for k in range(1, 12))
    gains = 1.0 - 0.1 * np.arange(channels)[:, None]
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    return ((0.08 * tilted * envelope + 0.25 * tones * gains) * fade).astype(np.float32)


def dense(sample_rate: int, *, duration_s: float = 6.0, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes over a pink noise bed, stereo: dense broadband content.

    Codecs fill noise bands by energy, not waveform, so frame-by-frame log-mel
    differences on this are large even where the encode is fine; the QA's
    0.25 s mel segments and its limits were set on material like it
    (benchmarks/qa_calibration.py).
    """
    generator = np.random.default_rng(seed)
    frames = round(duration_s * sample_rate)
    out = notes(sample_rate, duration_s, generator)
    spectrum = np.fft.rfft(generator.standard_normal((2, frames)), axis=1)
    pink = np.fft.irfft(spectrum / np.sqrt(np.maximum(np.fft.rfftfreq(frames, 1 / sample_rate), 20.0)), frames, axis=1)
    out += 0.3 * pink / pink.std()
    return (0.25 * out / np.abs(out).max()).astype(np.float32)
