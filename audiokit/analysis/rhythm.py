"""Tempo (BPM) and beat times.

Method: an onset-strength envelope (librosa's ``onset_strength``: spectral flux
of the log-mel spectrogram of the shared STFT, 43 frames/s, computed by the front end) is autocorrelated; every candidate tempo on a
0.05 BPM grid between ``min_bpm`` and ``max_bpm`` is scored by the mean
autocorrelation at its first four beat multiples (a comb), times a broad
log-normal preference around 120 BPM. When the tempo twice as fast has at
least 90% of the winner's comb score, it replaces it: a pulse whose every
half-beat is as strong as its beats is the faster pulse (a click track). The winner is refined to a fraction
of a frame by a least-squares fit to the centroids of the autocorrelation
peaks at its whole multiples, looking for each next peak at the multiple of
the estimate so far (see :func:`_refine`), which is what makes ±1 BPM possible
at 43 frames/s. Beats come from librosa's dynamic-programming beat
tracker held to that tempo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ._frames import ANALYSIS_RATE, HOP_LENGTH, Frames, frames_of

__all__ = ["TempoResult", "tempo", "tempo_from_frames"]

#: tempo grid step, BPM
BPM_STEP = 0.05
#: beat multiples in the comb score
COMB_MULTIPLES = 4
#: centre (BPM) and width (octaves) of the log-normal tempo preference
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 2.0
#: a tempo twice the winner's replaces it when its comb score reaches this fraction of the winner's
OCTAVE_RATIO = 0.9
#: the refinement looks at lags up to this long, seconds
REFINE_MAX_LAG_S = 12.0


@dataclass(frozen=True)
class TempoResult:
    """Tempo and beats of a signal."""

    #: estimated tempo, beats per minute
    bpm: float
    #: beat times in seconds, ascending
    beat_times_s: tuple[float, ...]
    #: comb score of the winner over the mean score of all candidates: how clear the pulse is
    confidence: float

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {"bpm": self.bpm, "beat_times_s": list(self.beat_times_s), "confidence": self.confidence}


def _interp(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.interp(positions, np.arange(values.size), values, right=0.0)


def _refine(acf: np.ndarray, period: float, *, max_lag: float) -> float:
    """Least-squares period from the centroids of the autocorrelation peaks at whole multiples.

    Quantizing onsets to frames spreads each peak over neighbouring lags, but
    the centroid of that spread stays at ``k * period``; fitting all multiples up
    to ``max_lag`` gives a fraction-of-a-frame period. The fit is updated after
    every multiple and the next peak is looked for at ``k + 1`` times the
    current estimate, so a candidate period that is a little off (the comb
    grid cannot tell periods within a frame apart) follows the peaks instead
    of drifting off them at long lags.
    """
    half = max(1, min(3, int(period // 4)))
    estimate = period
    weighted_sum = squares = 0.0
    for k in range(1, int(max_lag // period) + 1):
        centre = int(round(k * estimate))
        if centre + half >= acf.size or centre - half < 0:
            break
        lags = np.arange(centre - half, centre + half + 1)
        weights = np.maximum(acf[lags], 0.0)
        if weights.sum() > 0:
            weighted_sum += k * float((lags * weights).sum() / weights.sum())
            squares += k * k
            estimate = weighted_sum / squares
    return estimate


def tempo_from_frames(frames: Frames, *, min_bpm: float = 60.0, max_bpm: float = 200.0) -> TempoResult:
    """:func:`tempo` on frames already computed by :func:`._frames.frames_of`."""
    import librosa

    if not 0 < min_bpm < max_bpm:
        raise ParameterError(f"min_bpm={min_bpm}, max_bpm={max_bpm}; expected 0 < min_bpm < max_bpm")
    envelope = frames.onset
    centred = envelope - envelope.mean()
    spectrum = np.fft.rfft(centred, 2 * centred.size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: centred.size]
    fps = frames.frame_rate
    if acf[0] <= 0:
        return TempoResult(bpm=0.0, beat_times_s=(), confidence=1.0)
    acf = acf / acf[0]
    bpms = np.arange(min_bpm, max_bpm + BPM_STEP / 2, BPM_STEP)
    periods = 60.0 * fps / bpms
    # the largest value within one frame of each multiple: immune to where the beat falls in a frame
    local_max = np.maximum(np.maximum(acf, np.roll(acf, 1)), np.roll(acf, -1))
    comb = np.mean([_interp(local_max, k * periods) for k in range(1, COMB_MULTIPLES + 1)], axis=0)
    prior = np.exp(-0.5 * (np.log2(bpms / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    scores = np.maximum(comb, 0.0) * prior
    best = int(np.argmax(scores))
    # octave check: twice as fast with (nearly) the same support is the pulse itself
    double = int(np.argmin(np.abs(bpms - 2 * bpms[best])))
    if 2 * bpms[best] <= max_bpm and comb[double] >= OCTAVE_RATIO * comb[best]:
        best = double
    period = _refine(acf, periods[best], max_lag=min(REFINE_MAX_LAG_S * fps, 0.75 * acf.size))
    bpm = float(60.0 * fps / period)
    confidence = float(scores[best] / max(float(np.mean(scores)), 1e-12))
    _, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=ANALYSIS_RATE, hop_length=HOP_LENGTH,
                                       bpm=bpm, units="time", trim=False)
    return TempoResult(bpm=round(bpm, 2), beat_times_s=tuple(round(float(t), 4) for t in beats),
                       confidence=round(confidence, 3))


def tempo(samples: np.ndarray, sample_rate: int, *, min_bpm: float = 60.0, max_bpm: float = 200.0) -> TempoResult:
    """Estimate the tempo and the beat times of a signal.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    min_bpm, max_bpm : float
        The range searched.

    Returns
    -------
    TempoResult
        ``bpm`` 0.0 and no beats for a signal without any onset.

    Examples
    --------
    >>> import numpy as np
    >>> clicks = np.zeros(44100 * 20, np.float32); clicks[:: 44100 * 60 // 150] = 1.0
    >>> round(tempo(clicks, 44100).bpm)
    150
    """
    return tempo_from_frames(frames_of(samples, sample_rate), min_bpm=min_bpm, max_bpm=max_bpm)
