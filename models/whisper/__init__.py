"""Offline Whisper transcription: two backends, one long-form path, word timestamps, subtitle writers.

``import audiokit.models.whisper`` is cheap: torch, openai-whisper and
faster-whisper load when a model is first used.

Examples
--------
>>> from audiokit.models.whisper import transcribe, write_transcript
>>> segments, info = transcribe("episode.mp3")                        # doctest: +SKIP
>>> write_transcript(list(segments), info, "episode.mp3", "out", formats=("srt", "vtt"))  # doctest: +SKIP
"""

from .backends import DecodingOptions
from .registry import DEFAULT_MODEL, REGISTRY, WhisperWeights, resolve_model
from .result import Segment, TranscriptInfo, Word
from .transcribe import TranscriptionWarning, transcribe
from .vad import VadOptions
from .writers import WRITERS, SubtitleOptions, get_writer, subtitle_cues, write_subtitles, write_transcript

__all__ = [
    "DEFAULT_MODEL",
    "DecodingOptions",
    "REGISTRY",
    "Segment",
    "SubtitleOptions",
    "TranscriptInfo",
    "TranscriptionWarning",
    "VadOptions",
    "WRITERS",
    "WhisperWeights",
    "Word",
    "get_writer",
    "resolve_model",
    "subtitle_cues",
    "transcribe",
    "write_subtitles",
    "write_transcript",
]
