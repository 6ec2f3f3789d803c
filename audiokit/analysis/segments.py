"""Speech / music / silence segmentation: the seam for model-backed segmenters, and the energy method.

The core holds no model. A *segmenter* is any callable that takes a
:class:`SegmentationInput` (the mono signal at 16 kHz, the analysis frame times, frame
RMS and silent frames) and returns a :class:`SegmentationResult`;
:func:`segments_from_labels` turns one label per analysis frame into that
result the same way for every segmenter.

Which segmenter runs (``method``):

- ``"energy"``: :func:`energy_segmentation`, below; no model.
- ``"learned"``: the segmenter registered under the name ``"learned"`` in the
  entry-point group :data:`SEGMENTER_GROUP` (Python packaging metadata, the
  mechanism pytest uses for its plugins). audiokit registers
  ``audiokit.models.segmentation:LearnedSegmenter`` there (Silero VAD for speech,
  the MTT_musicnn tagger for music); the core never imports it by name. A missing
  registration or a missing ``ml`` extra raises
  :class:`~audiokit.errors.MissingDependencyError`.
- ``"auto"`` (default): ``"learned"``, and the energy method with a
  :class:`RuntimeWarning` and ``fallback_reason`` set when it cannot run.

A ``segmenter=`` callable overrides ``method``.

Energy method: each 1 s window is silence when most of its frames are silent,
otherwise speech when more than :data:`LOW_ENERGY_SPEECH` of its frames have an
RMS below half the window's mean (the low-energy feature of Scheirer & Slaney,
"Construction and evaluation of a robust multifeature speech/music
discriminator", ICASSP 1997), otherwise music.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

import numpy as np

from ..errors import MissingDependencyError, ParameterError
from ._frames import Frames, frames_of
from .spectral import silent_frames

__all__ = [
    "LABELS",
    "METHODS",
    "SEGMENTER_GROUP",
    "SEGMENTER_RATE",
    "Segment",
    "SegmentationInput",
    "SegmentationResult",
    "Segmenter",
    "choose_segmenter",
    "energy_segmentation",
    "load_segmenter",
    "registered_segmenters",
    "runs_of",
    "needs_signal",
    "segment_frames",
    "segments",
    "segments_from_labels",
]

#: every label a segment can carry
LABELS = ("speech", "music", "silence", "other")
#: "auto" runs the learned segmenter and falls back to "energy" when it cannot run
METHODS = ("auto", "learned", "energy")
#: entry-point group where packages register segmenters by name (``name = "module:factory"``)
SEGMENTER_GROUP = "audiokit.segmenters"
#: rate of :attr:`SegmentationInput.mono`, Hz: the rate speech models take (Silero VAD, Whisper), so a
#: learned segmenter gets the signal it runs on and the analysis keeps the fewest samples it needs
SEGMENTER_RATE = 16000
#: the registered name ``method="learned"`` loads
LEARNED = "learned"
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
    #: the segmenter that ran: "energy", or the learned one's name (e.g. "silero-vad+MTT_musicnn")
    method: str = "energy"
    #: why the energy method ran instead of the learned one; None when it was not a fallback
    fallback_reason: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"segments": [segment.to_dict() for segment in self.segments], "speech_ratio": self.speech_ratio,
                "music_ratio": self.music_ratio, "silence_ratio": self.silence_ratio,
                "other_ratio": self.other_ratio, "method": self.method, "fallback_reason": self.fallback_reason}


@dataclass(frozen=True, eq=False)
class SegmentationInput:
    """What a segmenter gets: the mono signal and the shared analysis frames."""

    #: mono samples at ``sample_rate``, shape (n,), float32: the analysis-rate (22050 Hz) mono resampled
    #: to :data:`SEGMENTER_RATE`; empty for the energy method, which reads the frames only
    mono: np.ndarray
    #: rate of ``mono``, Hz (:data:`SEGMENTER_RATE`)
    sample_rate: int
    #: analysis frames per second
    frame_rate: float
    #: centre of each analysis frame, seconds, shape (frames,)
    frame_times_s: np.ndarray
    #: frame RMS, shape (frames,), float32
    rms: np.ndarray
    #: frames whose RMS is below the silence threshold, shape (frames,), bool
    silent: np.ndarray
    #: duration of the input, seconds
    duration_s: float

    def silence_mask(self) -> np.ndarray:
        """Silent frames in runs of at least :data:`MIN_SILENCE_S`: the "silence" label, shape (frames,), bool."""
        mask = np.zeros(self.silent.size, bool)
        shortest = int(np.ceil(MIN_SILENCE_S * self.frame_rate))
        for start, stop in runs_of(self.silent):
            if stop - start >= shortest:
                mask[start:stop] = True
        return mask


#: a segmenter: the signal and its analysis frames in, segments out
Segmenter = Callable[[SegmentationInput], SegmentationResult]


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of a boolean array, shape (n,).

    Examples
    --------
    >>> runs_of(np.array([True, True, False, True]))
    [(0, 2), (3, 4)]
    """
    changes = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(changes[::2].tolist(), changes[1::2].tolist()))


def _result(merged: list[Segment], duration_s: float, method: str, fallback_reason: str | None) -> SegmentationResult:
    share = {name: round(min(1.0, sum(s.end_s - s.start_s for s in merged if s.label == name) / duration_s), 4)
             for name in LABELS}
    return SegmentationResult(segments=tuple(merged), speech_ratio=share["speech"], music_ratio=share["music"],
                              silence_ratio=share["silence"], other_ratio=share["other"], method=method,
                              fallback_reason=fallback_reason)


def _merge(labels: Sequence[str], edges_s: np.ndarray) -> list[Segment]:
    """Segments from one label per interval [edges_s[i], edges_s[i + 1])."""
    merged: list[Segment] = []
    for index, label in enumerate(labels):
        start_s, end_s = round(float(edges_s[index]), 3), round(float(edges_s[index + 1]), 3)
        if merged and merged[-1].label == label:
            merged[-1] = Segment(merged[-1].start_s, end_s, label)
        elif end_s > start_s:
            merged.append(Segment(start_s, end_s, label))
    return merged


def segments_from_labels(labels: np.ndarray, signal: SegmentationInput, *, method: str) -> SegmentationResult:
    """Segments from one label per analysis frame; runs under :data:`MIN_SEGMENT_S` join the run before them.

    The first run, when short, takes the label of the runs after it until it
    is long enough. Segment edges fall halfway between frame centres.

    Parameters
    ----------
    labels : np.ndarray [shape=(frames,)]
        One of :data:`LABELS` per frame of ``signal``.
    signal : SegmentationInput
    method : str
        What ``SegmentationResult.method`` says.

    Returns
    -------
    SegmentationResult

    Raises
    ------
    ParameterError
        When ``labels`` has not one entry per frame or holds an unknown label.
    """
    labels = np.asarray(labels)
    count = signal.frame_times_s.size
    if labels.shape != (count,):
        raise ParameterError(f"labels has shape {labels.shape}; expected ({count},), one label per analysis frame")
    unknown = set(np.unique(labels).tolist()) - set(LABELS)
    if unknown:
        raise ParameterError(f"labels holds {sorted(unknown)}; expected only {', '.join(LABELS)}")
    shortest = MIN_SEGMENT_S * signal.frame_rate
    bounds = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    run_starts, run_stops = np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [count]]).tolist()
    kept: list[list] = []  # [label, start frame, stop frame]; every run in it but the first is long
    for label, start, stop in zip(labels[run_starts].tolist(), run_starts, run_stops):
        if len(kept) == 1 and kept[0][2] < shortest:
            kept[0] = [label, 0, stop]  # a short first run takes the label of what follows
        elif kept and (kept[-1][0] == label or stop - start < shortest):
            kept[-1][2] = stop  # a short run joins the run before it; equal labels merge
        else:
            kept.append([label, start, stop])
    times_s = signal.frame_times_s
    edges_s = np.concatenate([[0.0], np.minimum((times_s[1:] + times_s[:-1]) / 2, signal.duration_s),
                              [signal.duration_s]])
    merged = [Segment(round(float(edges_s[start]), 3), round(float(edges_s[stop]), 3), label)
              for label, start, stop in kept]
    return _result([segment for segment in merged if segment.end_s > segment.start_s], signal.duration_s, method,
                   None)


def energy_segmentation(signal: SegmentationInput) -> SegmentationResult:
    """The low-energy-frame method on 1 s windows (see the module docstring); needs no model.

    Parameters
    ----------
    signal : SegmentationInput

    Returns
    -------
    SegmentationResult
        ``method="energy"``; edges on whole seconds.
    """
    per_window = max(1, int(round(WINDOW_S * signal.frame_rate)))
    labels = []
    for start in range(0, signal.rms.size, per_window):
        rms, quiet = signal.rms[start : start + per_window], signal.silent[start : start + per_window]
        if np.count_nonzero(quiet) > 0.5 * quiet.size:
            labels.append("silence")
        else:
            low_energy = np.count_nonzero(rms < 0.5 * rms.mean()) / rms.size
            labels.append("speech" if low_energy > LOW_ENERGY_SPEECH else "music")
    edges = np.minimum(np.arange(len(labels) + 1) * WINDOW_S, signal.duration_s)
    return _result(_merge(labels, edges), signal.duration_s, "energy", None)


@lru_cache(maxsize=1)
def registered_segmenters() -> dict[str, EntryPoint]:
    """The segmenters registered in the entry-point group :data:`SEGMENTER_GROUP`, by name.

    Read from the installed package metadata once per process (the scan
    visits every installed distribution).

    Returns
    -------
    dict
        Name to :class:`importlib.metadata.EntryPoint`.
    """
    return {point.name: point for point in entry_points(group=SEGMENTER_GROUP)}


def load_segmenter(name: str = LEARNED, **options: object) -> Segmenter:
    """The segmenter registered as ``name`` in the entry-point group :data:`SEGMENTER_GROUP`.

    Parameters
    ----------
    name : str
        The registered name; audiokit registers ``"learned"``.
    **options
        Passed to the registered factory (the learned segmenter takes ``tags=``).

    Returns
    -------
    Segmenter

    Raises
    ------
    MissingDependencyError
        When nothing is registered under ``name``, or the factory's optional
        dependencies are missing.
    """
    point = registered_segmenters().get(name)
    if point is None:
        raise MissingDependencyError(
            f"no segmenter named {name!r} is registered in the entry-point group {SEGMENTER_GROUP!r}; "
            "reinstall audiokit (pip install 'audiokit[ml]') so its package metadata registers one"
        )
    return point.load()(**options)


def choose_segmenter(method: str = "auto", *, tags: object | None = None,
                     segmenter: Segmenter | None = None) -> tuple[Segmenter, str | None]:
    """The segmenter that ``method`` (or ``segmenter``) names, before any audio is read.

    Parameters
    ----------
    method : str
        One of :data:`METHODS` (see :func:`segments`).
    tags : object, optional
        Passed to the learned segmenter.
    segmenter : callable, optional
        Returned as it is.

    Returns
    -------
    segmenter : Segmenter
        :func:`energy_segmentation` for the energy method and the fallback.
    fallback_reason : str or None
        Why "auto" fell back to the energy method (a :class:`RuntimeWarning` says it too).

    Raises
    ------
    ParameterError
        On an unknown method.
    MissingDependencyError
        With ``method="learned"`` when no learned segmenter can run.
    """
    if method not in METHODS:
        raise ParameterError(f"method is {method!r}; expected one of {', '.join(METHODS)}")
    if segmenter is not None:
        return segmenter, None
    if method == "energy":
        return energy_segmentation, None
    try:
        return load_segmenter(LEARNED, tags=tags), None
    except MissingDependencyError as error:
        if method == "learned":
            raise
        reason = f"{error} (speech/music fell back to the energy method)"
        warnings.warn(reason, RuntimeWarning, stacklevel=3)
        return energy_segmentation, reason


def needs_signal(segmenter: Segmenter) -> bool:
    """Whether ``segmenter`` reads :attr:`SegmentationInput.mono`.

    Every segmenter does but the energy method and one whose ``reads_signal``
    attribute is False (it brings its own signal, e.g. a learned segmenter
    given the track's 16 kHz mono by the pipeline), so the analysis pass need
    not collect one.
    """
    return segmenter is not energy_segmentation and bool(getattr(segmenter, "reads_signal", True))


def segment_frames(frames: Frames, segmenter: Segmenter, *, threshold_dbfs: float = -60.0,
                   fallback_reason: str | None = None) -> SegmentationResult:
    """Run ``segmenter`` (from :func:`choose_segmenter`) on frames computed by :class:`._frames.FrameAnalyzer`.

    Parameters
    ----------
    frames : Frames
        With the mono signal at :data:`SEGMENTER_RATE` when :func:`needs_signal` says so.
    segmenter : Segmenter
    threshold_dbfs : float
        Frame RMS below this is silent.
    fallback_reason : str, optional
        Set on the result (the energy method run because the learned one could not).

    Returns
    -------
    SegmentationResult
    """
    silent = silent_frames(frames, threshold_dbfs=threshold_dbfs)
    signal = SegmentationInput(mono=frames.mono, sample_rate=frames.mono_rate or SEGMENTER_RATE,
                               frame_rate=frames.frame_rate, frame_times_s=frames.times_s, rms=frames.rms,
                               silent=silent, duration_s=frames.duration_s)
    result = segmenter(signal)
    return replace(result, fallback_reason=fallback_reason) if fallback_reason is not None else result


def segments(samples: np.ndarray, sample_rate: int, *, threshold_dbfs: float = -60.0, method: str = "auto",
             tags: object | None = None,
             segmenter: Segmenter | None = None) -> SegmentationResult:
    """Label a signal speech, music, silence or other.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
    sample_rate : int
        Hz.
    threshold_dbfs : float
        Frame RMS below this is silent.
    method : str
        "auto" (the registered learned segmenter, Silero VAD + MTT_musicnn,
        or the energy method with a RuntimeWarning and ``fallback_reason``
        set when it cannot run), "learned" (raise instead of falling back) or
        "energy".
    tags : object, optional
        Passed to the learned segmenter: ``tag(..., model="MTT_musicnn")`` of
        the same signal, when the caller has it. The tagger is the learned
        method's main cost, so passing it saves running it twice.
    segmenter : callable, optional
        A :data:`Segmenter` to run instead of ``method``'s.

    Returns
    -------
    SegmentationResult
        Learned: edges on the 23.2 ms analysis frames. Energy: on whole seconds.

    Raises
    ------
    ParameterError
        On a bad array, rate or method.
    MissingDependencyError
        With ``method="learned"`` when no learned segmenter is registered or the ml extra is missing.

    Examples
    --------
    >>> import numpy as np
    >>> result = segments(np.zeros(44100, np.float32), 44100, method="energy")
    >>> result.method, result.silence_ratio
    ('energy', 1.0)
    """
    chosen, fallback_reason = choose_segmenter(method, tags=tags, segmenter=segmenter)
    frames = frames_of(samples, sample_rate, mono_rate=SEGMENTER_RATE if needs_signal(chosen) else None)
    return segment_frames(frames, chosen, threshold_dbfs=threshold_dbfs, fallback_reason=fallback_reason)
