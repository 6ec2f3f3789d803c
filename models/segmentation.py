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
   :data:`VAD_THRESHOLD`, ends after :data:`VAD_MIN_SILENCE_S` below
   :data:`VAD_NEG_THRESHOLD` (the end is where that stretch began), and regions
   under :data:`VAD_MIN_SPEECH_S` are dropped.
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
Runs shorter than 0.25 s join the segment before them
(:func:`audiokit.analysis.segments.segments_from_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from audiokit.analysis.segments import SegmentationInput, SegmentationResult, segments_from_labels
from audiokit.errors import ParameterError

from ._registry import require

if TYPE_CHECKING:
    from .tagging import TagResult

__all__ = ["LEARNED_METHOD", "MUSIC_MODEL", "MUSIC_TAGS", "MUSIC_THRESHOLD", "LearnedSegmenter"]

#: what ``SegmentationResult.method`` says for this segmenter
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
    from .whisper.vad import SpeechDetector

    detector = SpeechDetector()
    return np.concatenate([detector.process(mono_16k), detector.flush()])


def _music_columns(labels) -> list[int]:
    return [list(labels).index(name) for name in MUSIC_TAGS]


def _music_patches(mono_16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(patch start times in s, music score per patch): the max over MUSIC_TAGS of each timeline row.

    The tagger drops a trailing part shorter than a patch; that tail gets one
    more patch, the signal's last 3 s.
    """
    from audiokit.audio import Audio

    from .tagging import tag
    from .tagging.frontend import HOP_LENGTH as TAG_HOP
    from .tagging.frontend import N_FFT as TAG_FFT
    from .tagging.frontend import PATCH_FRAMES

    result = tag(Audio(mono_16k, VAD_SAMPLE_RATE), model=MUSIC_MODEL, top_k=1)
    columns = _music_columns(result.labels)
    starts, scores = result.patch_starts_s, result.timeline[:, columns].max(axis=1)
    patch_samples = TAG_FFT + (PATCH_FRAMES - 1) * TAG_HOP
    covered_s = starts[-1] + result.patch_duration_s
    if mono_16k.size > patch_samples and mono_16k.size / VAD_SAMPLE_RATE - covered_s > MIN_TAIL_S:
        tail = tag(Audio(mono_16k[-patch_samples:], VAD_SAMPLE_RATE), model=MUSIC_MODEL, top_k=1)
        starts = np.append(starts, (mono_16k.size - patch_samples) / VAD_SAMPLE_RATE)
        scores = np.append(scores, tail.timeline[0, columns].max())
    return starts, scores


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

    Raises
    ------
    MissingDependencyError
        When torch or onnxruntime is missing (``pip install 'audiokit[ml]'``).
    ParameterError
        When ``tags`` come from another model than MTT_musicnn.

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

    def __post_init__(self) -> None:
        require("onnxruntime")  # fail before any work when the ml extra is missing
        require("torch")
        if self.tags is not None and self.tags.model != MUSIC_MODEL:
            raise ParameterError(f"tags come from {self.tags.model!r}; expected a {MUSIC_MODEL!r} TagResult")

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

        times_s = signal.frame_times_s
        quiet = signal.silence_mask()
        mono_16k = resample(signal.mono, signal.sample_rate, VAD_SAMPLE_RATE)[0]
        speech_vad = _speech_regions(_vad_probabilities(mono_16k))
        speech = np.zeros(times_s.size, bool)
        if speech_vad.size:
            speech = speech_vad[np.minimum((times_s / VAD_FRAME_S).astype(int), speech_vad.size - 1)]

        labels = np.where(quiet, "silence", np.where(speech, "speech", "other")).astype(object)
        undecided = labels == "other"
        if undecided.any():  # the tagger runs only where neither energy nor the VAD has decided
            if self.tags is not None:
                starts = np.asarray(self.tags.patch_starts_s)
                scores = self.tags.timeline[:, _music_columns(self.tags.labels)].max(axis=1)
            else:
                starts, scores = _music_patches(mono_16k)
            patch = np.clip(np.searchsorted(starts, times_s, side="right") - 1, 0, starts.size - 1)
            labels[undecided & (scores[patch] >= MUSIC_THRESHOLD)] = "music"
        return segments_from_labels(labels, signal, method=LEARNED_METHOD)
