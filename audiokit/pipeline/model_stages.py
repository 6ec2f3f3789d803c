"""The model stages of ``audiokit ingest``: tags, analysis, speech, transcript, moderation.

Each takes the :class:`TrackContext` and returns the JSON-ready value it adds
to the manifest under its own key, like the core stages in :mod:`.stages`.
Each has a ``load`` step that loads its model once per worker before the
first track.

No model stage holds the track, or any signal as long as the track, in memory:
memory is set by block and batch sizes, never by duration. The analysis and
moderation's audio checks stream the file itself (the checks read the
programme as delivered). The model front end is shared, per track: the 16 kHz
mono signal is decoded once, block by block, into a temporary file
(:func:`audiokit.models.whisper.vad.spill_mono_16k`: 64 kB a second of input,
on ``$TMPDIR``'s file system under no name, freed with the track's context or
the process) that the taggers and the transcriber stream as an ordinary audio
file and the learned segmenter reads in windows (the tagger's patches it
still has to score). Silero VAD scores it
once, window by window (:func:`audiokit.models.whisper.vad.speech_probabilities`),
for the speech stage, the segmenter and the transcriber's chunking, whose
chunker keeps only the speech window it is assembling. Both are cached in
:attr:`TrackContext.shared` by whichever stage needs them first. Each result
equals what the tool says run alone on the track.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..audio import Audio
from ..errors import MissingDependencyError
from .context import Stage, StageSkipped, TrackContext

if TYPE_CHECKING:
    from ..models.whisper.vad import Mono16kFile

__all__ = ["MODEL_STAGES", "SPEECH_DOMINANT_RATIO", "TAG_MODELS"]


#: Tagging models whose top tags and embedding go into the manifest.
TAG_MODELS = ("MTT_musicnn", "MSD_musicnn")
TAG_TOP_K = 10
#: A track is transcribed when at least this share of it is speech.
SPEECH_DOMINANT_RATIO = 0.5
TRANSCRIPT_FORMATS = ("srt", "vtt", "json")
#: keys of the values cached in TrackContext.shared
_MONO_16K = "mono_16k"
_SPEECH_PROBABILITIES = "speech_probabilities"


def _mono_16k(context: TrackContext) -> Mono16kFile:
    """The track at 16 kHz mono in a temporary file: made on first use, then shared; freed with the context."""
    if _MONO_16K not in context.shared:
        from ..models.whisper.vad import spill_mono_16k

        context.shared[_MONO_16K] = spill_mono_16k(context.path)  # streamed from the file to disk
    return context.shared[_MONO_16K]


def _speech_probabilities(context: TrackContext) -> np.ndarray:
    """Silero VAD's speech probability per 32 ms frame of :func:`_mono_16k`: one windowed pass per track."""
    if _SPEECH_PROBABILITIES not in context.shared:
        from ..models.whisper.vad import speech_probabilities

        context.shared[_SPEECH_PROBABILITIES] = speech_probabilities(_mono_16k(context))
    return context.shared[_SPEECH_PROBABILITIES]


def _tags(context: TrackContext) -> dict:
    from ..models import tag

    sections = {}
    # One call: both models run on one front end (one mel spectrogram) of the shared 16 kHz signal,
    # which is what tag() would resample the track to; it streams the file like any input.
    results = tag(_mono_16k(context).path, model=list(TAG_MODELS), top_k=TAG_TOP_K)
    for model, result in zip(TAG_MODELS, results, strict=True):
        context.tag_results[model] = result
        document = result.to_dict()
        sections[model] = {"tags": document["tags"], "embedding": document["embedding"]}
    return sections


def _load_tags() -> None:
    from ..models._registry import torch_device
    from ..models.tagging.registry import load_network

    for model in TAG_MODELS:
        load_network(model, torch_device("auto"))


def _analysis(context: TrackContext) -> dict:
    from ..analysis import analyze

    tags = context.tag_results.get("MTT_musicnn")
    try:
        from ..models.segmentation import LearnedSegmenter

        # The learned speech/music segmentation reuses the track's 16 kHz signal, its VAD scores and
        # the tags stage's MTT_musicnn result when it ran.
        segmenter = LearnedSegmenter(tags=tags, mono_16k=_mono_16k(context),
                                     speech_probabilities=_speech_probabilities(context))
    except MissingDependencyError:  # no ml extra: analyze falls back to the energy method and says so
        return analyze(context.path, tags=tags).to_dict()
    return analyze(context.path, segmenter=segmenter).to_dict()  # analyze streams the file


def _load_analysis() -> None:  # its speech/music segmentation runs Silero VAD and the MTT tagger
    _load_tags()
    _load_speech()


def _speech(context: TrackContext) -> dict:
    """Share of the track Silero VAD calls speech (16 kHz mono, 32 ms frames)."""
    from ..models.whisper.vad import SPEECH_THRESHOLD

    probabilities = _speech_probabilities(context)
    ratio = float(np.mean(probabilities >= SPEECH_THRESHOLD)) if probabilities.size else 0.0
    return {"method": "silero-vad", "speech_ratio": ratio, "speech_dominant": ratio >= SPEECH_DOMINANT_RATIO}


def _load_speech() -> None:
    from ..models.whisper.vad import SpeechDetector

    SpeechDetector()


def _transcript(context: TrackContext) -> dict:
    speech = context.results.get("speech")
    if speech is None:
        raise StageSkipped("needs the speech stage, which did not run")
    if not speech["speech_dominant"]:
        raise StageSkipped(f"not speech-dominant (speech ratio {speech['speech_ratio']:.2f} < {SPEECH_DOMINANT_RATIO})")
    from ..models import transcribe
    from ..models.whisper.writers import write_transcript

    # the shared 16 kHz signal is what transcribe() decodes the track to (it streams the file, keeping
    # only the chunk it assembles), and its VAD scores cut the same chunks the transcriber's own Silero
    # pass would
    segments, info = transcribe(_mono_16k(context).path, speech_probabilities=_speech_probabilities(context))
    segments = list(segments)
    folder = context.work_dir / "transcript"
    paths = write_transcript(segments, info, context.path, folder, formats=TRANSCRIPT_FORMATS)
    return {"language": info.language, "num_segments": len(segments),
            "text": " ".join(segment.text.strip() for segment in segments),
            "paths": {path.suffix.lstrip("."): str(path.relative_to(context.work_dir)) for path in paths}}


def _load_transcript() -> None:
    from ..models import transcribe
    from ..models.whisper.vad import VAD_SAMPLE_RATE

    # Silence loads the backend exactly as _transcript's call does (same cache key) and finds no speech.
    transcribe(Audio(np.zeros((1, VAD_SAMPLE_RATE), np.float32), VAD_SAMPLE_RATE))


def _moderation(context: TrackContext) -> dict:
    """Flags (transcript and audio) and the explicit label; sets the manifest's top-level ``flags``/``explicit``."""
    from ..models import moderate

    transcript = context.results.get("transcript")
    speech = context.results.get("speech") or {}
    # the policy also picks the delivery spec the audio is checked against (music: spotify, speech: podcast);
    # the checks stream the file as delivered
    if transcript is not None:  # speech: podcast policy on the transcript just written
        result = moderate(context.path, transcript=context.work_dir / transcript["paths"]["json"], policy="podcast")
    elif speech.get("speech_dominant"):  # speech nobody transcribed: audio checks against the podcast spec
        result = moderate(context.path, transcribe=False, policy="podcast")
    else:  # music: audio checks against the music spec, the music policy
        result = moderate(context.path, transcribe=False, policy="music")
    document = result.to_dict()
    context.results["flags"] = document["flags"]
    context.results["explicit"] = document["explicit"] if transcript is not None else None
    return {key: value for key, value in document.items() if key not in ("flags", "explicit")}


#: The model stages, in the order ingest runs them (after the core and catalog stages, before the report).
MODEL_STAGES = (
    Stage("tags", _tags, core=False, load=_load_tags),
    Stage("analysis", _analysis, core=False, load=_load_analysis),
    Stage("speech", _speech, core=False, load=_load_speech),
    Stage("transcript", _transcript, core=False, load=_load_transcript),
    Stage("moderation", _moderation, core=False),
)
