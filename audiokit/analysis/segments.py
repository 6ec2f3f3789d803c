"""Speech / music / silence segmentation by a simple, documented energy method.

Method (Scheirer & Slaney 1997, "low-energy frame" feature): the signal is
cut into 1 s windows of the shared 23 ms frames. A window is "silence" when
most of its frames are silent (see :func:`.spectral.silent_frames`); otherwise
it is "speech" when more than ``LOW_ENERGY_SPEECH`` of its frames have an RMS
below half the window's mean RMS (speech stops between syllables and words;
music rarely does), and "music" otherwise. Adjacent windows with the same
label merge. This is a placeholder for a learned detector (Silero VAD for
speech, the tagger for music): it tells a podcast from a song, not a
singer from a speaker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._frames import Frames, frames_of
from .spectral import silent_frames

__all__ = ["Segment", "SegmentationResult", "segments", "segments_from_frames"]

#: window length, seconds
WINDOW_S = 1.0
#: a window whose low-energy frame ratio exceeds this is speech
LOW_ENERGY_SPEECH = 0.3


@dataclass(frozen=True)
class Segment:
    """One labelled stretch of a signal."""

    #: start, seconds
    start_s: float
    #: end, seconds
    end_s: float
    #: "speech", "music" or "silence"
    label: str

    def to_dict(self) -> dict:
        return {"start_s": self.start_s, "end_s": self.end_s, "label": self.label}


@dataclass(frozen=True)
class SegmentationResult:
    """Speech/music/silence segments and the share of each."""

    #: contiguous segments covering the whole signal, in time order
    segments: tuple[Segment, ...]
    #: speech time over total time, in [0, 1]
    speech_ratio: float
    #: music time over total time, in [0, 1]
    music_ratio: float
    #: silence time over total time, in [0, 1]
    silence_ratio: float

    def to_dict(self) -> dict:
        return {"segments": [segment.to_dict() for segment in self.segments], "speech_ratio": self.speech_ratio,
                "music_ratio": self.music_ratio, "silence_ratio": self.silence_ratio}


def segments_from_frames(frames: Frames, *, threshold_dbfs: float = -60.0) -> SegmentationResult:
    """:func:`segments` on frames already computed by :func:`._frames.frames_of`."""
    per_window = max(1, int(round(WINDOW_S * frames.frame_rate)))
    silent = silent_frames(frames, threshold_dbfs=threshold_dbfs)
    labels = []
    for start in range(0, frames.rms.size, per_window):
        rms, quiet = frames.rms[start : start + per_window], silent[start : start + per_window]
        if quiet.mean() > 0.5:
            labels.append("silence")
        else:
            low_energy = float(np.mean(rms < 0.5 * rms.mean()))
            labels.append("speech" if low_energy > LOW_ENERGY_SPEECH else "music")
    merged: list[Segment] = []
    for index, label in enumerate(labels):
        start_s, end_s = index * WINDOW_S, min((index + 1) * WINDOW_S, frames.duration_s)
        if merged and merged[-1].label == label:
            merged[-1] = Segment(merged[-1].start_s, round(end_s, 3), label)
        else:
            merged.append(Segment(round(start_s, 3), round(end_s, 3), label))
    share = {name: sum(s.end_s - s.start_s for s in merged if s.label == name) / frames.duration_s
             for name in ("speech", "music", "silence")}
    return SegmentationResult(segments=tuple(merged), speech_ratio=round(share["speech"], 4),
                              music_ratio=round(share["music"], 4), silence_ratio=round(share["silence"], 4))


def segments(samples, sample_rate: int, *, threshold_dbfs: float = -60.0) -> SegmentationResult:
    """Label each second of a signal speech, music or silence.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    threshold_dbfs : float
        Frame RMS below this is silent.

    Returns
    -------
    SegmentationResult
        Segment edges fall on whole seconds.
    """
    return segments_from_frames(frames_of(samples, sample_rate), threshold_dbfs=threshold_dbfs)
