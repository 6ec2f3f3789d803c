""":func:`moderate`: transcript flags, explicit label, audio checks and bleeping of one input."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from audiokit._files import write_atomically
from audiokit.audio import Audio
from audiokit.errors import ParameterError
from audiokit.io.source import AudioSource, open_source

from ..whisper.registry import DEFAULT_MODEL
from ..whisper.result import Segment
from ..whisper.transcribe import DEFAULT_BACKEND
from .bleep import BLEEP_MODES, PAD_MS, bleep_source, refine_source_spans
from .checks import CheckOptions, check_audio
from .lexicon import load_lexicon
from .policy import explicit_label, get_policy
from .result import BleepReport, Flag, ModerationResult
from .transcript import (
    check_categories,
    flag_transcript,
    masked_transcript,
    read_transcript,
    word_times,
)

__all__ = ["MAX_CHUNK_S", "moderate", "masked_transcript_path"]

#: Longest VAD chunk moderate() hands Whisper, s; transcribe()'s default is 30 s. Of the limits
#: measured (10, 15, 20, 30 s: benchmarks/bench_moderation_chunks.py, docs/moderation.md), longer
#: chunks let tiny.en hear more planted words on a long episode, but from 20 s it split the tuning
#: set's "assassin" into "ass in", and at 15 s one held-out word's bleep missed its second syllable.
MAX_CHUNK_S = 10.0


def masked_transcript_path(output: str | os.PathLike) -> Path:
    """Where the masked transcript of a bleeped file goes: ``clean.mp3`` -> ``clean.json`` beside it.

    The masked subtitles go beside it too: ``clean.srt`` and ``clean.vtt``.
    """
    return Path(output).with_suffix(".json")


def moderate(
    source: AudioSource | None = None,
    *,
    transcript: str | os.PathLike | None = None,
    transcribe: bool = True,
    lexicon: str | os.PathLike | None = None,
    categories: Iterable[str] | None = None,
    policy: str = "podcast",
    audio_checks: bool = True,
    check_options: CheckOptions | None = None,
    bleep: str | os.PathLike | None = None,
    bleep_mode: str = "tone",
    pad_ms: float = PAD_MS,
    model: str = DEFAULT_MODEL,
    backend: str = DEFAULT_BACKEND,
    transcribe_options: dict[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
) -> ModerationResult:
    """Flag, label and optionally bleep one track or episode.

    Parameters
    ----------
    source : str, os.PathLike or audiokit.Audio, optional
        The audio. None moderates ``transcript`` alone (no audio checks, no bleeping).
    transcript : str or os.PathLike, optional
        A JSON transcript (``audiokit transcribe -f json``) to use instead of
        transcribing ``source``.
    transcribe : bool
        Transcribe ``source`` when no ``transcript`` is given (False: audio checks only).
    lexicon : str or os.PathLike, optional
        Language code of a shipped lexicon or a lexicon file; default: the
        transcript's language.
    categories : iterable of str, optional
        Transcript categories to flag and bleep (default: all).
    policy : {"music", "podcast", "kids"}
        Explicit-label policy (:mod:`.policy`).
    audio_checks : bool
        Run the audio checks (:func:`.checks.check_audio`).
    check_options : CheckOptions, optional
        Their thresholds and delivery spec; default: the defaults with the
        policy's spec (music: ``spotify``, -14 LUFS; podcast and kids:
        ``podcast``, -16 LUFS +-1; both -1 dBTP).
    bleep : str or os.PathLike, optional
        Write a bleeped copy here (same format as ``source`` for the same
        extension) and the masked transcript beside it (:func:`masked_transcript_path`).
    bleep_mode : {"tone", "mute", "reverse"}
    pad_ms : float
        Quiet added to each end of a bleeped word (never into a neighbouring word's sound), ms.
    model, backend : str
        Whisper model and backend when transcribing (see :func:`audiokit.models.transcribe`).
    transcribe_options : dict, optional
        More keyword arguments for :func:`audiokit.models.transcribe` (``num_threads``, ``vad_options``...);
        by default VAD chunks are at most :data:`MAX_CHUNK_S` long.
    progress : callable(seconds), optional
        Called as transcription advances with the seconds of ``source``
        transcribed since the last call (``tqdm.update`` fits); they add up to
        its duration.

    Returns
    -------
    ModerationResult
        Frozen; ``to_dict()`` is the ``--json`` flags document.

    Raises
    ------
    ParameterError
        For a bad option, or bleeping without audio.

    Examples
    --------
    >>> result = moderate("episode.wav", policy="podcast", bleep="clean.wav")  # doctest: +SKIP
    >>> result.label.explicit                                                  # doctest: +SKIP
    True
    """
    chosen_policy = get_policy(policy)
    if check_options is None:
        check_options = CheckOptions(spec=chosen_policy.spec)
    elif not isinstance(check_options, CheckOptions):
        raise ParameterError(f"check_options is a {type(check_options).__name__}; expected a CheckOptions")
    wanted = check_categories(categories)
    if bleep_mode not in BLEEP_MODES:
        raise ParameterError(f"bleep_mode is {bleep_mode!r}; expected one of {', '.join(BLEEP_MODES)}")
    if not (isinstance(pad_ms, (int, float)) and 0 <= pad_ms <= 1000):
        raise ParameterError(f"pad_ms is {pad_ms!r}; expected 0 to 1000 ms")
    if source is None and transcript is None:
        raise ParameterError("nothing to moderate: pass an audio source, a transcript, or both")
    if bleep is not None and source is None:
        raise ParameterError("bleeping needs the audio: pass source as well as the transcript")
    name, duration_s = _source_name_and_duration(source)
    segments: list[Segment] = []
    language, origin = "en", ""
    if transcript is not None:
        segments, language = read_transcript(transcript)
        origin = os.fspath(transcript)
    elif transcribe and source is not None:
        from ..whisper import VadOptions
        from ..whisper import transcribe as run_transcribe

        options = {"vad_options": VadOptions(max_chunk_s=MAX_CHUNK_S), **(transcribe_options or {})}
        found, info = run_transcribe(source, model=model, backend=backend, word_timestamps=True, **options)
        segments, language = _collected(found, info.duration_s, progress), info.language
        origin = f"whisper:{info.model}/{info.backend}"
    words = load_lexicon(lexicon if lexicon is not None else language)
    flags = flag_transcript(segments, lexicon=words, categories=wanted) if segments else []
    report = None
    if audio_checks and source is not None:
        audio_flags, report = check_audio(source, options=check_options)
        flags += audio_flags
    flags.sort(key=lambda f: (f.start_s, f.end_s, f.source))
    bleeped = None
    if bleep is not None and source is not None:
        bleeped = _bleep(source, segments, flags, language, Path(bleep), bleep_mode, pad_ms)
    return ModerationResult(
        source=name, duration_s=duration_s if source is not None else _end(segments),
        flags=tuple(flags), label=explicit_label(flags, policy=policy),
        spec=check_options.spec if report is not None else "", loudness=report,
        lexicon=f"{words.language}@{words.version}", transcript=origin, bleep=bleeped,
    )


def _source_name_and_duration(source: AudioSource | None) -> tuple[str, float]:
    """The source's path ("" for audio in memory or none) and its duration, s; a file is only probed here."""
    if source is None:
        return "", 0.0
    with open_source(source) as reader:
        duration_s = round(reader.num_frames / reader.sample_rate, 3)
    return ("" if isinstance(source, Audio) else os.fspath(source)), duration_s


def _collected(segments: Iterable[Segment], duration_s: float,
               progress: Callable[[float], None] | None) -> list[Segment]:
    """The segments as a list, reporting the seconds transcribed to ``progress`` as each arrives."""
    collected: list[Segment] = []
    done_s = 0.0
    for segment in segments:
        collected.append(segment)
        if progress is not None and segment.end_s > done_s:
            progress(segment.end_s - done_s)
            done_s = segment.end_s
    if progress is not None and duration_s > done_s:
        progress(duration_s - done_s)
    return collected


def _end(segments: Sequence[Segment]) -> float:
    return round(max((s.end_s for s in segments), default=0.0), 3)


def _bleep(source: AudioSource, segments: list[Segment], flags: list[Flag], language: str, output: Path, mode: str,
           pad_ms: float) -> BleepReport:
    """Write the bleeped copy and the masked transcript.

    The source is read in blocks twice: once for the windows around the flagged words that refine their
    edges, once to write the bleeped copy block by block; memory does not grow with its duration.
    """
    chosen = [f for f in flags if f.source == "transcript"]
    spans = refine_source_spans(source, [(f.start_s, f.end_s) for f in chosen], words=word_times(segments),
                                pad_ms=pad_ms, texts=[f.text for f in chosen])
    _, replaced = bleep_source(source, output, spans, mode=mode)
    from ..whisper.writers import segments_from_json, write_subtitles

    masked = masked_transcript_path(output)
    document = masked_transcript(segments, chosen, language=language)
    _write_json(masked, document)
    # Publishable subtitles of the bleeped file, with the same masking (and the same cue rules as transcribe's).
    subtitles = tuple(str(write_subtitles(segments_from_json(document), masked.with_suffix(suffix), language=language))
                      for suffix in (".srt", ".vtt"))
    return BleepReport(output=str(output), transcript=str(masked), mode=mode, spans=tuple(replaced),
                       subtitles=subtitles)


def _write_json(path: Path, document: dict) -> None:
    write_atomically(path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
