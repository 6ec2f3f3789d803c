"""The stages of ``audiokit ingest``, one function each, run in order per track.

Every stage takes the :class:`TrackContext` and returns the JSON-ready value
it adds to the manifest under its own key (or None). A stage whose optional
module or extra is missing raises :class:`StageSkipped`; the manifest then
records it as skipped with the reason, never silently drops it.

The core stages decode the track once, in blocks, and never hold it whole:
``decode`` is the one streaming pass (:func:`audiokit.transcode.build_ladder`:
each block goes to the source's loudness meter and every rendition's encoder),
and ``loudness`` and ``ladder`` write what that pass measured and made. The
model stages that need the whole signal get it from
:meth:`TrackContext.require_audio`, which decodes it on first use.
"""

from __future__ import annotations

import numpy as np

from ..audio import Audio
from ..channels import to_mono
from ..errors import AudiokitError, ParameterError
from .context import Stage, StageSkipped, TrackContext
from .extra_stages import CATALOG_STAGES

__all__ = ["CORE_STAGES", "STAGES", "Stage", "StageSkipped", "TrackContext", "resolve_stages"]


#: Tagging models whose top tags and embedding go into the manifest.
TAG_MODELS = ("MTT_musicnn", "MSD_musicnn")
TAG_TOP_K = 10
#: Silero VAD's input rate and the probability above which a frame is speech.
VAD_SAMPLE_RATE = 16000
VAD_SPEECH_PROBABILITY = 0.5
#: A track is transcribed when at least this share of it is speech.
SPEECH_DOMINANT_RATIO = 0.5
TRANSCRIPT_FORMATS = ("srt", "vtt", "json")
TRANSCRIPT_BACKEND = "faster"


def _probe(context: TrackContext) -> dict:
    from ..io.probe import probe

    context.info = probe(context.path)
    return context.info.to_dict()


def _decode(context: TrackContext) -> dict:
    """The one streaming pass: the file decoded in blocks, fanned out to the loudness meter and the encoders."""
    from .. import transcode

    context.require_info()
    context.ladder = transcode.build_ladder(
        context.path, context.work_dir / "renditions", preset=context.settings["preset"],
        hls=context.settings["hls"], dash=context.settings["dash"], qa=context.settings.get("qa", "fast"),
    )
    return {"num_frames": context.ladder.source_num_frames, "sample_rate": context.ladder.source_sample_rate}


def _loudness(context: TrackContext) -> dict:
    """The source's BS.1770 report (probed channel layout), measured in the decode stage's pass."""
    from .. import loudness

    report = context.require_ladder().source_loudness
    if report is None:
        raise AudiokitError(f"{context.path}: the streaming pass measured no loudness")
    document = report.to_dict()
    document["normalization"] = loudness.preset_gains(report)
    return document


def _ladder(context: TrackContext) -> dict:
    """The renditions the decode stage's pass encoded, checked and packaged."""
    document = context.require_ladder().to_dict()
    # The ladder was built inside the track's partial folder; record where it lives in the final one.
    document["out_dir"] = "renditions"
    return document


def _tags(context: TrackContext) -> dict:
    from ..models import tag

    sections = {}
    # One call: both models run on one front end (one resample, one mel spectrogram).
    for model, result in zip(TAG_MODELS, tag(context.require_audio(), model=list(TAG_MODELS), top_k=TAG_TOP_K), strict=True):
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

    # The music/speech segmentation reuses the tags stage's MTT_musicnn result when it ran.
    return analyze(context.require_audio(), tags=context.tag_results.get("MTT_musicnn")).to_dict()


def _load_analysis() -> None:  # its speech/music segmentation runs Silero VAD and the MTT tagger
    _load_tags()
    _load_speech()


def _speech(context: TrackContext) -> dict:
    """Share of the track Silero VAD calls speech (16 kHz mono, 32 ms frames)."""
    from ..io.resample import resample
    from ..models.whisper.vad import SpeechDetector

    audio = context.require_audio()
    mono_16k = resample(to_mono(audio.samples), audio.sample_rate, VAD_SAMPLE_RATE)[0]
    detector = SpeechDetector()
    probabilities = np.concatenate([detector.process(mono_16k), detector.flush()])
    ratio = float(np.mean(probabilities > VAD_SPEECH_PROBABILITY)) if probabilities.size else 0.0
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

    segments, info = transcribe(context.require_audio(), backend=TRANSCRIPT_BACKEND)
    segments = list(segments)
    folder = context.work_dir / "transcript"
    paths = write_transcript(segments, info, context.path, folder, formats=TRANSCRIPT_FORMATS)
    return {"language": info.language, "num_segments": len(segments),
            "text": " ".join(segment.text.strip() for segment in segments),
            "paths": {path.suffix.lstrip("."): str(path.relative_to(context.work_dir)) for path in paths}}


def _load_transcript() -> None:
    from ..models import transcribe

    # Silence loads the backend exactly as _transcript's call does (same cache key) and finds no speech.
    transcribe(Audio(np.zeros((1, VAD_SAMPLE_RATE), np.float32), VAD_SAMPLE_RATE), backend=TRANSCRIPT_BACKEND)


def _moderation(context: TrackContext) -> dict:
    """Flags (transcript and audio) and the explicit label; sets the manifest's top-level ``flags``/``explicit``."""
    from ..models import moderate

    transcript = context.results.get("transcript")
    speech = context.results.get("speech") or {}
    # the policy also picks the delivery spec the audio is checked against (music: spotify, speech: podcast)
    if transcript is not None:  # speech: podcast policy on the transcript just written
        result = moderate(context.require_audio(), transcript=context.work_dir / transcript["paths"]["json"], policy="podcast")
    elif speech.get("speech_dominant"):  # speech nobody transcribed: audio checks against the podcast spec
        result = moderate(context.require_audio(), transcribe=False, policy="podcast")
    else:  # music: audio checks against the music spec, the music policy
        result = moderate(context.require_audio(), transcribe=False, policy="music")
    document = result.to_dict()
    context.results["flags"] = document["flags"]
    context.results["explicit"] = document["explicit"] if transcript is not None else None
    return {key: value for key, value in document.items() if key not in ("flags", "explicit")}


#: Every stage, in the order ingest runs them.
STAGES = (
    Stage("probe", _probe, core=True),
    Stage("decode", _decode, core=True),
    Stage("loudness", _loudness, core=True),
    Stage("ladder", _ladder, core=True),
    *(stage for stage in CATALOG_STAGES if stage.name != "report"),
    Stage("tags", _tags, core=False, load=_load_tags),
    Stage("analysis", _analysis, core=False, load=_load_analysis),
    Stage("speech", _speech, core=False, load=_load_speech),
    Stage("transcript", _transcript, core=False, load=_load_transcript),
    Stage("moderation", _moderation, core=False),
    *(stage for stage in CATALOG_STAGES if stage.name == "report"),  # last: it shows every other stage's results
)
CORE_STAGES = tuple(stage.name for stage in STAGES if stage.core)


def resolve_stages(selection: str) -> tuple[Stage, ...]:
    """Stages for ``--stages``: ``core``, ``all`` or a comma-separated list of names.

    The core stages always run: every other stage builds on them.
    """
    by_name = {stage.name: stage for stage in STAGES}
    if selection == "all":
        return STAGES
    wanted = set(CORE_STAGES)
    if selection != "core":
        names = [name.strip() for name in selection.split(",") if name.strip()]
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ParameterError(
                f"unknown stage(s) {', '.join(unknown)}; choose from core, all, {', '.join(by_name)}")
        wanted.update(names)
    return tuple(stage for stage in STAGES if stage.name in wanted)
