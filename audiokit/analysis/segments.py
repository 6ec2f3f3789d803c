"""Speech / music / silence segmentation: Silero VAD for speech, energy for silence, the tagger for music.

Method (``method="silero-vad+MTT_musicnn"``, needs the ``ml`` extra). Every
decision lands on the shared analysis frames (23.2 ms hop, see :mod:`._frames`):

1. **silence**: frame RMS below ``threshold_dbfs`` (:func:`.spectral.silent_frames`),
   in runs of at least :data:`MIN_SILENCE_S`; shorter dips belong to what surrounds them.
2. **speech**: Silero VAD (``audiokit.models.whisper.vad.SpeechDetector``) scores
   every 32 ms frame of the 16 kHz mono signal; Silero's hysteresis turns the
   scores into regions: speech starts at a probability >= :data:`VAD_THRESHOLD`,
   ends after :data:`VAD_MIN_SILENCE_S` below :data:`VAD_NEG_THRESHOLD` (the end
   is where that stretch began), and regions under :data:`VAD_MIN_SPEECH_S` are
   dropped.
3. **music**: the MTT_musicnn tagger's per-3 s timeline; a patch is music when
   its highest instrument or genre tag (:data:`MUSIC_TAGS`) reaches
   :data:`MUSIC_THRESHOLD`. The vocal tags ("vocal", "male", "female", "voice",
   ...) are left out: they fire on plain speech (0.36 "female" on an ALSA test
   voice), and MagnaTagATune has no "speech" tag; speech is the VAD's call. The
   mood/tempo tags ("slow", "loud", ...) and "techno", "electronic", "ambient"
   are left out too: white noise scores 0.22 "techno".
4. Anything else that is not silent is **other** (noise, effects, a click
   track): sound that is neither speech nor, by the tagger, music.

Priority is silence > speech > music > other, so speech over music is speech.
Runs shorter than :data:`MIN_SEGMENT_S` join the segment before them.

Fallback (``method="energy"``): when torch or onnxruntime is missing
(:class:`~audiokit.errors.MissingDependencyError`), or when asked for, each 1 s
window is silence when most of its frames are silent, otherwise speech when
more than :data:`LOW_ENERGY_SPEECH` of its frames have an RMS below half the
window's mean (Scheirer & Slaney 1997's low-energy feature), otherwise music.
The result's ``method`` says which ran and ``fallback_reason`` why the energy
method stood in; a :class:`RuntimeWarning` says it too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import MissingDependencyError, ParameterError
from ._frames import ANALYSIS_RATE, HOP_LENGTH, Frames, frames_of
from .spectral import silent_frames

__all__ = ["LABELS", "METHODS", "Segment", "SegmentationResult", "segments", "segments_from_frames"]

#: every label a segment can carry
LABELS = ("speech", "music", "silence", "other")
#: "auto" runs the learned method and falls back to "energy" when the ml extra is missing
METHODS = ("auto", "learned", "energy")
#: what ``SegmentationResult.method`` says for the learned method
LEARNED_METHOD = "silero-vad+MTT_musicnn"
#: Silero VAD's input rate, Hz
VAD_SAMPLE_RATE = 16000
#: Silero VAD frame, seconds (512 samples at 16 kHz)
VAD_FRAME_S = 512 / VAD_SAMPLE_RATE
#: a VAD probability at or above this starts or continues speech (Silero's default)
VAD_THRESHOLD = 0.5
#: a VAD probability below this counts as a pause inside speech (Silero's threshold - 0.15)
VAD_NEG_THRESHOLD = 0.35
#: a pause at least this long ends a speech region, seconds
VAD_MIN_SILENCE_S = 0.3
#: speech regions shorter than this are dropped, seconds
VAD_MIN_SPEECH_S = 0.25
#: tagger model whose timeline decides music
MUSIC_MODEL = "MTT_musicnn"
#: MagnaTagATune instrument and genre tags that count as evidence of music
MUSIC_TAGS = (
    "guitar", "strings", "drums", "piano", "violin", "synth", "harpsichord", "flute", "sitar", "harp", "cello",
    "beat", "beats", "classical", "classic", "rock", "pop", "metal", "country", "dance", "indian", "opera",
    "new age", "choral",
)
#: a patch whose highest MUSIC_TAGS score reaches this is music (measured: speech <= 0.03,
#: white noise 0.09, click track 0.14; piano track >= 0.57, synthetic triads 0.20-0.41)
MUSIC_THRESHOLD = 0.2
#: silent runs shorter than this are not silence segments, seconds
MIN_SILENCE_S = 0.5
#: runs shorter than this join the segment before them, seconds
MIN_SEGMENT_S = 0.25
#: energy method: window length, seconds
WINDOW_S = 1.0
#: energy method: a window whose low-energy frame ratio exceeds this is speech
LOW_ENERGY_SPEECH = 0.3


@dataclass(frozen=True)
class Segment:
    """One labelled stretch of a signal."""

    #: start, seconds
    start_s: float
    #: end, seconds
    end_s: float
    #: "speech", "music", "silence" or "other" (see :data:`LABELS`)
    label: str

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"start_s": self.start_s, "end_s": self.end_s, "label": self.label}


@dataclass(frozen=True)
class SegmentationResult:
    """Speech/music/silence segments, the share of each, and the method that found them."""

    #: contiguous segments covering the whole signal, in time order
    segments: tuple[Segment, ...]
    #: speech time over total time, in [0, 1]
    speech_ratio: float
    #: music time over total time, in [0, 1]
    music_ratio: float
    #: silence time over total time, in [0, 1]
    silence_ratio: float
    #: time that is neither speech, music nor silence, over total time (always 0 for "energy")
    other_ratio: float = 0.0
    #: "silero-vad+MTT_musicnn" (learned) or "energy" (the low-energy-frame fallback)
    method: str = "energy"
    #: why the energy method ran instead of the learned one; None when it was not a fallback
    fallback_reason: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"segments": [segment.to_dict() for segment in self.segments], "speech_ratio": self.speech_ratio,
                "music_ratio": self.music_ratio, "silence_ratio": self.silence_ratio,
                "other_ratio": self.other_ratio, "method": self.method, "fallback_reason": self.fallback_reason}


def _result(merged: list[Segment], duration_s: float, method: str, fallback_reason: str | None) -> SegmentationResult:
    share = {name: round(min(1.0, sum(s.end_s - s.start_s for s in merged if s.label == name) / duration_s), 4)
             for name in LABELS}
    return SegmentationResult(segments=tuple(merged), speech_ratio=share["speech"], music_ratio=share["music"],
                              silence_ratio=share["silence"], other_ratio=share["other"], method=method,
                              fallback_reason=fallback_reason)


def _merge(labels, edges_s) -> list[Segment]:
    """Segments from one label per interval [edges_s[i], edges_s[i + 1])."""
    merged: list[Segment] = []
    for index, label in enumerate(labels):
        start_s, end_s = round(float(edges_s[index]), 3), round(float(edges_s[index + 1]), 3)
        if merged and merged[-1].label == label:
            merged[-1] = Segment(merged[-1].start_s, end_s, label)
        elif end_s > start_s:
            merged.append(Segment(start_s, end_s, label))
    return merged


def _energy(frames: Frames, silent: np.ndarray, fallback_reason: str | None) -> SegmentationResult:
    """The low-energy-frame method on 1 s windows (see the module docstring)."""
    per_window = max(1, int(round(WINDOW_S * frames.frame_rate)))
    labels = []
    for start in range(0, frames.rms.size, per_window):
        rms, quiet = frames.rms[start : start + per_window], silent[start : start + per_window]
        if quiet.mean() > 0.5:
            labels.append("silence")
        else:
            low_energy = float(np.mean(rms < 0.5 * rms.mean()))
            labels.append("speech" if low_energy > LOW_ENERGY_SPEECH else "music")
    edges = np.minimum(np.arange(len(labels) + 1) * WINDOW_S, frames.duration_s)
    return _result(_merge(labels, edges), frames.duration_s, "energy", fallback_reason)


def _runs(mask: np.ndarray):
    """(start, stop) index pairs of the True runs of a boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    changes = np.flatnonzero(np.diff(padded))
    return zip(changes[::2], changes[1::2])


def _speech_regions(probabilities: np.ndarray) -> np.ndarray:
    """Silero's hysteresis on VAD frame probabilities; a boolean mask per VAD frame."""
    min_silence = int(round(VAD_MIN_SILENCE_S / VAD_FRAME_S))
    min_speech = int(round(VAD_MIN_SPEECH_S / VAD_FRAME_S))
    mask = np.zeros(probabilities.size, bool)
    start = pause = None
    for index, probability in enumerate(probabilities):
        if probability >= VAD_THRESHOLD:
            start = index if start is None else start
            pause = None
        elif probability < VAD_NEG_THRESHOLD and start is not None:
            pause = index if pause is None else pause
            if index + 1 - pause >= min_silence:
                if pause - start >= min_speech:
                    mask[start:pause] = True
                start = pause = None
    if start is not None:
        end = pause if pause is not None else probabilities.size
        if end - start >= min_speech:
            mask[start:end] = True
    return mask


def _vad_probabilities(mono_16k: np.ndarray) -> np.ndarray:
    from audiokit.models.whisper.vad import SpeechDetector

    detector = SpeechDetector()
    return np.concatenate([detector.process(mono_16k), detector.flush()])


def _music_patches(mono_16k: np.ndarray, tags=None) -> tuple[np.ndarray, np.ndarray]:
    """(patch start times in s, music score per patch): the max over MUSIC_TAGS of each timeline row.

    The tagger drops a trailing part shorter than a patch; that tail gets one
    more patch, the signal's last 3 s. A given ``tags`` (MTT_musicnn's result
    on the same signal) is used as it is: its last patch covers the tail.
    """
    if tags is not None:
        if tags.model != MUSIC_MODEL:
            raise ParameterError(f"tags come from {tags.model!r}; expected a {MUSIC_MODEL!r} TagResult")
        columns = [tags.labels.index(name) for name in MUSIC_TAGS]
        return tags.patch_starts_s, tags.timeline[:, columns].max(axis=1)
    from audiokit.audio import Audio
    from audiokit.models.tagging import tag
    from audiokit.models.tagging.frontend import HOP_LENGTH as TAG_HOP
    from audiokit.models.tagging.frontend import N_FFT as TAG_FFT
    from audiokit.models.tagging.frontend import PATCH_FRAMES

    result = tag(Audio(mono_16k, VAD_SAMPLE_RATE), model=MUSIC_MODEL, top_k=1)
    columns = [result.labels.index(name) for name in MUSIC_TAGS]
    starts, scores = result.patch_starts_s, result.timeline[:, columns].max(axis=1)
    patch_samples = TAG_FFT + (PATCH_FRAMES - 1) * TAG_HOP
    covered_s = starts[-1] + result.patch_duration_s
    if mono_16k.size > patch_samples and mono_16k.size / VAD_SAMPLE_RATE - covered_s > MIN_SEGMENT_S:
        tail = tag(Audio(mono_16k[-patch_samples:], VAD_SAMPLE_RATE), model=MUSIC_MODEL, top_k=1)
        starts = np.append(starts, (mono_16k.size - patch_samples) / VAD_SAMPLE_RATE)
        scores = np.append(scores, tail.timeline[0, columns].max())
    return starts, scores


def _learned(frames: Frames, silent: np.ndarray, tags) -> SegmentationResult:
    from audiokit.io.resample import resample
    from audiokit.models import require

    require("onnxruntime")  # fail before any work when the ml extra is missing
    require("torch")
    # frame i of the shared STFT is centred on i * HOP_LENGTH (librosa's center=True)
    count = frames.rms.size
    times_s = np.arange(count) * HOP_LENGTH / ANALYSIS_RATE
    edges_s = np.concatenate([[0.0], np.minimum((times_s[1:] + times_s[:-1]) / 2, frames.duration_s),
                              [frames.duration_s]])

    quiet = np.zeros(count, bool)
    min_silence = int(np.ceil(MIN_SILENCE_S * frames.frame_rate))
    for start, stop in _runs(silent):
        if stop - start >= min_silence:
            quiet[start:stop] = True

    mono_16k = resample(frames.mono, ANALYSIS_RATE, VAD_SAMPLE_RATE)[0]
    speech_vad = _speech_regions(_vad_probabilities(mono_16k))
    speech = np.zeros(count, bool)
    if speech_vad.size:
        speech = speech_vad[np.minimum((times_s / VAD_FRAME_S).astype(int), speech_vad.size - 1)]

    labels = np.where(quiet, "silence", np.where(speech, "speech", "other")).astype(object)
    undecided = labels == "other"
    if undecided.any():  # the tagger runs only where neither energy nor the VAD has decided
        starts, scores = _music_patches(mono_16k, tags)
        patch = np.clip(np.searchsorted(starts, times_s, side="right") - 1, 0, starts.size - 1)
        labels[undecided & (scores[patch] >= MUSIC_THRESHOLD)] = "music"

    # absorb runs shorter than MIN_SEGMENT_S into the run before them (the first into the one after)
    shortest = MIN_SEGMENT_S * frames.frame_rate
    changed = True
    while changed:
        changed = False
        bounds = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        starts_i, stops_i = np.concatenate([[0], bounds]), np.concatenate([bounds, [count]])
        if starts_i.size < 2:
            break
        for start, stop in zip(starts_i, stops_i):
            if stop - start < shortest:
                labels[start:stop] = labels[start - 1] if start > 0 else labels[stop]
                changed = True
                break
    return _result(_merge(labels, edges_s), frames.duration_s, LEARNED_METHOD, None)


def segments_from_frames(frames: Frames, *, threshold_dbfs: float = -60.0, method: str = "auto",
                         tags=None) -> SegmentationResult:
    """:func:`segments` on frames already computed by :func:`._frames.frames_of`."""
    if method not in METHODS:
        raise ParameterError(f"method is {method!r}; expected one of {', '.join(METHODS)}")
    silent = silent_frames(frames, threshold_dbfs=threshold_dbfs)
    if method == "energy":
        return _energy(frames, silent, None)
    try:
        return _learned(frames, silent, tags)
    except MissingDependencyError as error:
        if method == "learned":
            raise
        reason = f"{error} (speech/music fell back to the energy method)"
        warnings.warn(reason, RuntimeWarning, stacklevel=3)
        return _energy(frames, silent, reason)


def segments(samples, sample_rate: int, *, threshold_dbfs: float = -60.0, method: str = "auto",
             tags=None) -> SegmentationResult:
    """Label a signal speech, music, silence or other.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    threshold_dbfs : float
        Frame RMS below this is silent.
    method : str
        "auto" (Silero VAD + MTT_musicnn, or the energy method with a
        RuntimeWarning and ``fallback_reason`` set when the ml extra is
        missing), "learned" (raise instead of falling back) or "energy".
    tags : audiokit.models.tagging.TagResult, optional
        ``tag(..., model="MTT_musicnn")`` of the same signal, when the caller
        has it: the tagger is the learned method's main cost (about 8x
        realtime on 2 CPU cores), so passing it saves running it twice.

    Returns
    -------
    SegmentationResult
        Learned: edges on the 23.2 ms analysis frames. Energy: on whole seconds.

    Raises
    ------
    ParameterError
        On a bad array, rate or method.
    MissingDependencyError
        With ``method="learned"`` when torch or onnxruntime is missing.

    Examples
    --------
    >>> from audiokit.analysis import segments
    >>> result = segments(samples, 44100)                          # doctest: +SKIP
    >>> result.method, result.speech_ratio, result.music_ratio     # doctest: +SKIP
    ('silero-vad+MTT_musicnn', 0.0, 1.0)
    """
    return segments_from_frames(frames_of(samples, sample_rate), threshold_dbfs=threshold_dbfs, method=method,
                                tags=tags)
