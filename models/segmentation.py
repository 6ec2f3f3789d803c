"""The learned speech / music / silence segmenter: Silero VAD for speech, energy for silence, MTT_musicnn for music.

:class:`LearnedSegmenter` is the segmenter ``audiokit.analysis`` runs for
``method="learned"`` (and ``"auto"``): the package metadata registers it in
the entry-point group ``audiokit.segmenters`` under the name ``"learned"``, so
the core finds it without importing this module by name. It needs the ``ml``
extra (torch, onnxruntime, silero-vad).

Every decision lands on the shared analysis frames (23.2 ms hop, see
:class:`audiokit.analysis.segments.SegmentationInput`):

1. **silence**: frame RMS below the threshold in runs of at least 0.5 s
   (:meth:`~audiokit.analysis.segments.SegmentationInput.silence_mask`).
2. **speech**: Silero VAD (:class:`audiokit.models.whisper.vad.SpeechDetector`)
   scores every 32 ms frame of the 16 kHz mono signal; Silero's hysteresis
   turns the scores into regions: speech starts at a probability >=
   :data:`~audiokit.models.whisper.vad.SPEECH_THRESHOLD`, ends after
   :data:`VAD_MIN_SILENCE_S` below :data:`~audiokit.models.whisper.vad.PAUSE_THRESHOLD`
   (the end is where that stretch began), and regions under
   :data:`VAD_MIN_SPEECH_S` are dropped. The caller may hand in the 16 kHz
   signal and its scores, computed once per track (the ingest pipeline does,
   for its speech and transcript stages too; its signal is a
   :class:`~audiokit.models.whisper.vad.Mono16kFile` on disk, of which only
   the tagged windows are read); otherwise they are computed here from the
   analysis signal.
3. **music**: the MTT_musicnn tagger's per-3 s timeline, computed only for the
   patches that hold a stretch of at least 0.25 s that is neither silent nor
   speech (a shorter stretch joins its neighbour whatever its label); a patch is music when
   its highest instrument or genre tag (:data:`MUSIC_TAGS`) reaches
   :data:`MUSIC_THRESHOLD`. The vocal tags ("vocal", "male", "female", "voice",
   ...) are left out: they fire on plain speech (0.36 "female" on an ALSA test
   voice), and MagnaTagATune has no "speech" tag; speech is the VAD's call. The
   mood/tempo tags ("slow", "loud", ...) and "techno", "electronic", "ambient"
   are left out too: white noise scores 0.22 "techno".
4. Anything else that is not silent is **other** (noise, effects, a click
   track): sound that is neither speech nor, by the tagger, music.

Priority is silence > speech > music > other, so speech over music is speech.
Runs shorter than 0.25 s join the segment before them
(:func:`audiokit.analysis.segments.segments_from_labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from audiokit.analysis.segments import (
    MIN_SEGMENT_S,
    SegmentationInput,
    SegmentationResult,
    runs_of,
    segments_from_labels,
)
from audiokit.errors import ParameterError

from ._registry import require
from .whisper.vad import FRAME_SAMPLES, PAUSE_THRESHOLD, SPEECH_THRESHOLD, VAD_SAMPLE_RATE, Mono16kFile

if TYPE_CHECKING:
    from .tagging import TagResult

__all__ = ["LEARNED_METHOD", "MUSIC_MODEL", "MUSIC_TAGS", "MUSIC_THRESHOLD", "LearnedSegmenter"]

#: what ``SegmentationResult.method`` says for this segmenter
LEARNED_METHOD = "silero-vad+MTT_musicnn"
#: Silero VAD frame, seconds (512 samples at 16 kHz)
VAD_FRAME_S = FRAME_SAMPLES / VAD_SAMPLE_RATE
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
#: a tail the tagger's patches leave uncovered gets its own patch when it is longer than this, seconds
#: (the shortest segment the analysis reports)
MIN_TAIL_S = 0.25


def _speech_regions(probabilities: np.ndarray) -> np.ndarray:
    """Silero's hysteresis on VAD frame probabilities; a boolean mask per VAD frame."""
    min_silence = int(round(VAD_MIN_SILENCE_S / VAD_FRAME_S))
    min_speech = int(round(VAD_MIN_SPEECH_S / VAD_FRAME_S))
    mask = np.zeros(probabilities.size, bool)
    start = pause = None
    for index, probability in enumerate(probabilities.tolist()):
        if probability >= SPEECH_THRESHOLD:
            start = index if start is None else start
            pause = None
        elif probability < PAUSE_THRESHOLD and start is not None:
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


def _music_columns(labels: Sequence[str]) -> list[int]:
    return [list(labels).index(name) for name in MUSIC_TAGS]


def _music_scores(mono_16k: np.ndarray | Mono16kFile, times_s: np.ndarray) -> np.ndarray:
    """Music score (max over MUSIC_TAGS) of the tagger patch holding each of ``times_s``.

    Patches lie on the grid the tagger uses on the whole signal (3 s,
    non-overlapping, from 0); the tagger drops a trailing part shorter than a
    patch, so that tail gets one more patch, the signal's last 3 s, and the
    times in it read that patch. Only the patches some time falls in are
    tagged, one ``tag()`` call per run of consecutive patches, on that run's
    window of the signal alone: a speech episode tags its pauses, not its speech. A run's first log-mel frame sees
    reflect padding instead of the 16 ms of signal before it, the one
    difference from tagging the whole signal.
    """
    from audiokit.audio import Audio

    from .tagging import tag
    from .tagging.frontend import HOP_LENGTH as TAG_HOP
    from .tagging.frontend import N_FFT as TAG_FFT
    from .tagging.frontend import PATCH_DURATION_S, PATCH_FRAMES

    def scores_of(samples: np.ndarray) -> np.ndarray:
        result = tag(Audio(samples, VAD_SAMPLE_RATE), model=MUSIC_MODEL, top_k=1)
        return result.timeline[:, _music_columns(result.labels)].max(axis=1)

    size = len(mono_16k)
    whole = (1 + size // TAG_HOP) // PATCH_FRAMES  # patches of the tagger's grid
    if whole == 0:  # shorter than one patch: the tagger repeat-pads the signal into one
        return np.full(times_s.size, scores_of(mono_16k[:])[0])
    starts = np.arange(whole) * PATCH_DURATION_S
    tail_samples = TAG_FFT + (PATCH_FRAMES - 1) * TAG_HOP
    if size > tail_samples and size / VAD_SAMPLE_RATE - whole * PATCH_DURATION_S > MIN_TAIL_S:
        starts = np.append(starts, (size - tail_samples) / VAD_SAMPLE_RATE)
    patch = np.clip(np.searchsorted(starts, times_s, side="right") - 1, 0, starts.size - 1)
    scores = np.zeros(starts.size, np.float32)
    needed = np.unique(patch)
    if needed[-1] == whole:  # the tail patch
        scores[whole] = scores_of(mono_16k[-tail_samples:])[0]
        needed = needed[:-1]
    step = PATCH_FRAMES * TAG_HOP
    for run in np.split(needed, np.flatnonzero(np.diff(needed) > 1) + 1):
        if run.size:
            scores[run[0] : run[-1] + 1] = scores_of(mono_16k[run[0] * step : (run[-1] + 1) * step])
    return scores[patch]


@dataclass(frozen=True, eq=False)
class LearnedSegmenter:
    """Silero VAD + MTT_musicnn segmentation of a :class:`~audiokit.analysis.segments.SegmentationInput`.

    Parameters
    ----------
    tags : audiokit.models.tagging.TagResult, optional
        ``tag(..., model="MTT_musicnn")`` of the same signal, when the caller
        has it (the ingest pipeline's tags stage): the tagger is this method's
        main cost, so passing it saves running it twice. Its last patch covers
        the tail.
    mono_16k : np.ndarray [shape=(n,), dtype=float32] or Mono16kFile, optional
        The same signal at 16 kHz mono, decoded from the source
        (:func:`audiokit.models.whisper.vad.mono_16k`, or
        :func:`~audiokit.models.whisper.vad.spill_mono_16k`'s file, read in
        windows), when the caller has it; by default the analysis signal is
        resampled to 16 kHz.
    speech_probabilities : np.ndarray [shape=(frames,), dtype=float32], optional
        Silero VAD's probability of each 32 ms frame of that 16 kHz signal
        (:func:`audiokit.models.whisper.vad.speech_probabilities`), when the
        caller has them: the VAD then does not run here.

    Raises
    ------
    MissingDependencyError
        When torch or onnxruntime is missing (``pip install 'audiokit[ml]'``).
    ParameterError
        When ``tags`` come from another model than MTT_musicnn, or when
        ``mono_16k`` or ``speech_probabilities`` is not one-dimensional or
        they do not match frame for frame.

    Examples
    --------
    >>> from audiokit.analysis import analyze
    >>> from audiokit.models.segmentation import LearnedSegmenter
    >>> result = analyze("example.flac", segmenter=LearnedSegmenter())   # doctest: +SKIP
    >>> result.segments.method                                            # doctest: +SKIP
    'silero-vad+MTT_musicnn'
    """

    #: MTT_musicnn's TagResult on the same signal, or None to run the tagger where it is needed
    tags: TagResult | None = None
    #: the signal at 16 kHz mono (in memory or in a file), or None to resample the analysis signal
    mono_16k: np.ndarray | Mono16kFile | None = None
    #: Silero VAD's probability per 512-sample frame of the 16 kHz signal, or None to run the VAD
    speech_probabilities: np.ndarray | None = None

    def __post_init__(self) -> None:
        require("onnxruntime")  # fail before any work when the ml extra is missing
        require("torch")
        if self.tags is not None and self.tags.model != MUSIC_MODEL:
            raise ParameterError(f"tags come from {self.tags.model!r}; expected a {MUSIC_MODEL!r} TagResult")
        for name in ("mono_16k", "speech_probabilities"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Mono16kFile) and np.ndim(value) != 1:
                raise ParameterError(f"{name} has shape {np.shape(value)}; expected one dimension, (n,)")
        if self.mono_16k is not None and self.speech_probabilities is not None:
            frames = -(-len(self.mono_16k) // FRAME_SAMPLES)
            if len(self.speech_probabilities) != frames:
                raise ParameterError(
                    f"speech_probabilities has {len(self.speech_probabilities)} values for {len(self.mono_16k)} "
                    f"samples ({frames} frames of {FRAME_SAMPLES}); score mono_16k with "
                    "audiokit.models.whisper.vad.speech_probabilities()"
                )

    @property
    def reads_signal(self) -> bool:
        """Whether it reads the analysis pass's mono signal: only when it was not given ``mono_16k``."""
        return self.mono_16k is None

    def __call__(self, signal: SegmentationInput) -> SegmentationResult:
        """Segment ``signal``; see the module docstring for the method.

        Parameters
        ----------
        signal : SegmentationInput

        Returns
        -------
        SegmentationResult
            ``method="silero-vad+MTT_musicnn"``; edges on the analysis frames.
        """
        from audiokit.io.resample import resample

        from .whisper.vad import speech_probabilities

        times_s = signal.frame_times_s
        quiet = signal.silence_mask()
        mono_16k = self.mono_16k
        if mono_16k is None:
            mono_16k = resample(signal.mono, signal.sample_rate, VAD_SAMPLE_RATE)[0]
        probabilities = self.speech_probabilities
        if probabilities is None:
            probabilities = speech_probabilities(mono_16k)
        speech_vad = _speech_regions(np.asarray(probabilities))
        speech = np.zeros(times_s.size, bool)
        if speech_vad.size:
            speech = speech_vad[np.minimum((times_s / VAD_FRAME_S).astype(int), speech_vad.size - 1)]

        labels = np.where(quiet, "silence", np.where(speech, "speech", "other")).astype(object)
        # the tagger runs only where neither energy nor the VAD has decided, and only on stretches
        # long enough to stay a segment: a shorter one joins its neighbour whatever its label
        undecided = np.zeros(times_s.size, bool)
        for start, stop in runs_of(labels == "other"):
            if stop - start >= MIN_SEGMENT_S * signal.frame_rate:
                undecided[start:stop] = True
        if undecided.any():
            if self.tags is not None:
                starts = np.asarray(self.tags.patch_starts_s)
                scores = self.tags.timeline[:, _music_columns(self.tags.labels)].max(axis=1)
                patch = np.clip(np.searchsorted(starts, times_s[undecided], side="right") - 1, 0, starts.size - 1)
                music = scores[patch] >= MUSIC_THRESHOLD
            else:
                music = _music_scores(mono_16k, times_s[undecided]) >= MUSIC_THRESHOLD
            labels[np.flatnonzero(undecided)[music]] = "music"
        return segments_from_labels(labels, signal, method=LEARNED_METHOD)
