"""Transcript flags: lexicon matches on timed words, transcript files in and masked transcripts out.

A transcript is a sequence of :class:`~audiokit.models.whisper.Segment` with
word timestamps. :func:`read_transcript` reads the JSON transcript that
``audiokit transcribe -f json`` writes (openai-whisper's own JSON, with
``start``/``end``/``word`` keys, is read too). Segments without words get
word times spread over the segment by character count, and their flags say so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from audiokit.errors import ParameterError

from ..whisper.result import Segment, Word
from .lexicon import CATEGORIES, Lexicon
from .result import Flag

__all__ = ["read_transcript", "flag_transcript", "masked_transcript", "check_categories", "word_times"]

#: Confidence factor of a flag whose word times were spread over its segment.
ESTIMATED_TIMING_FACTOR = 0.8
#: Words of context on each side quoted in a flag's evidence.
CONTEXT_WORDS = 3


def check_categories(categories: Iterable[str] | None) -> tuple[str, ...]:
    """Validated transcript categories (None: all of :data:`~.lexicon.CATEGORIES`)."""
    if categories is None:
        return CATEGORIES
    names = tuple(dict.fromkeys(c.strip().lower() for c in categories if c.strip()))
    unknown = [c for c in names if c not in CATEGORIES]
    if unknown or not names:
        raise ParameterError(f"categories are {list(names)}; expected some of {', '.join(CATEGORIES)}")
    return names


def read_transcript(path: str | os.PathLike) -> tuple[list[Segment], str]:
    """Read a JSON transcript into segments with words, and its language.

    Parameters
    ----------
    path : str or os.PathLike
        ``audiokit transcribe -f json`` output: ``{"language", "segments":
        [{"start_s", "end_s", "text", "words": [{"start_s", "end_s", "text",
        "probability"}]}]}``. openai-whisper's keys (``start``, ``end``,
        ``word``) are accepted too.

    Returns
    -------
    segments : list of Segment
    language : str
        ``"en"`` when the file does not say.

    Raises
    ------
    ParameterError
        If the file is missing, not JSON, or not a transcript.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"transcript {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ParameterError(f"transcript {path} is not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("segments"), list):
        raise ParameterError(
            f"transcript {path} has no \"segments\" list; expected the JSON of `audiokit transcribe -f json`"
        )
    try:
        segments = [_segment(item) for item in document["segments"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ParameterError(f"transcript {path}: malformed segment ({error!r})") from None
    return segments, str(document.get("language") or "en")


def _time(item: dict, name: str) -> float:
    return float(item[f"{name}_s"] if f"{name}_s" in item else item[name])


def _segment(item: dict) -> Segment:
    words = tuple(
        Word(_time(w, "start"), _time(w, "end"), str(w["text"] if "text" in w else w["word"]),
             float(w.get("probability", 1.0)))
        for w in item.get("words") or ()
    )
    return Segment(_time(item, "start"), _time(item, "end"), str(item["text"]).strip(), words)


def _timed_words(segments: Sequence[Segment]) -> list[tuple[Word, bool]]:
    """Every word with its times, and whether those times were estimated."""
    timed = []
    for segment in segments:
        if segment.words:
            timed += [(word, False) for word in segment.words]
            continue
        texts = segment.text.split()
        total = sum(len(t) + 1 for t in texts) or 1
        position, span = 0, segment.end_s - segment.start_s
        for text in texts:
            start = segment.start_s + span * position / total
            position += len(text) + 1
            end = segment.start_s + span * position / total
            timed.append((Word(round(start, 3), round(end, 3), " " + text, 1.0), True))
    return timed


def word_times(segments: Sequence[Segment]) -> list[tuple[float, float]]:
    """(start_s, end_s) of every word, in order (spread over their segment where it has no word times)."""
    return [(word.start_s, word.end_s) for word, _ in _timed_words(segments)]


def flag_transcript(segments: Sequence[Segment], *, lexicon: Lexicon,
                    categories: Iterable[str] | None = None) -> list[Flag]:
    """Flags for every lexicon match in a timed transcript.

    Parameters
    ----------
    segments : sequence of Segment
        With word timestamps (``transcribe(..., word_timestamps=True)``);
        segments without words are timed by character count.
    lexicon : Lexicon
    categories : iterable of str, optional
        Keep flags of these categories only (default: all).

    Returns
    -------
    list of Flag
        ``source="transcript"``, in time order. ``confidence`` is the match
        confidence times ``0.5 + 0.5 * p``, ``p`` the recognizer's mean word
        probability over the match (so an unsure word halves it at most),
        times 0.8 when the times were estimated.
    """
    wanted = check_categories(categories)
    timed = _timed_words(segments)
    texts = [word.text for word, _ in timed]
    flags = []
    for match in lexicon.match(texts):
        rule = match.rule
        if rule.category not in wanted:
            continue
        words = [word for word, _ in timed[match.first:match.stop]]
        estimated = any(flag for _, flag in timed[match.first:match.stop])
        probability = sum(w.probability for w in words) / len(words)
        confidence = match.confidence * (0.5 + 0.5 * probability) * (ESTIMATED_TIMING_FACTOR if estimated else 1.0)
        text = " ".join(t.strip() for t in texts[match.first:match.stop])
        before = " ".join(t.strip() for t in texts[max(0, match.first - CONTEXT_WORDS):match.first])
        after = " ".join(t.strip() for t in texts[match.stop:match.stop + CONTEXT_WORDS])
        name = rule.forms[0] if hasattr(rule, "forms") else "phrase"
        context = " ".join(part for part in (before, f"[{text}]", after) if part)
        evidence = f"{match.kind} match of {name!r} in \"{context}\"" + (
            " (word times estimated from the segment)" if estimated else "")
        flags.append(Flag(
            category=rule.category, severity=rule.severity, start_s=words[0].start_s, end_s=words[-1].end_s,
            source="transcript", rule_id=rule.rule_id, confidence=round(confidence, 3), evidence=evidence, text=text,
        ))
    return flags


def _mask(text: str) -> str:
    """``" fucking,"`` -> ``" f******,"``: leading space, first letter and trailing punctuation kept."""
    core = text.strip()
    body = len(core.rstrip(".,;:?!\"')"))
    first = next((i for i, c in enumerate(core) if c.isalnum()), 0)
    return text[: len(text) - len(text.lstrip())] + core[: first + 1] + "*" * max(0, body - first - 1) + core[body:]


def masked_transcript(segments: Sequence[Segment], flags: Sequence[Flag], *, language: str) -> dict:
    """The JSON transcript document with the words under ``flags`` masked.

    A word is masked when its midpoint falls inside a transcript flag's span.

    Returns
    -------
    dict
        ``{"text", "language", "segments"}``: the format of
        :func:`audiokit.models.whisper.writers.format_json`.
    """
    spans = [(f.start_s, f.end_s) for f in flags if f.source == "transcript"]

    def hidden(word: Word) -> bool:
        middle = 0.5 * (word.start_s + word.end_s)
        return any(start <= middle <= end for start, end in spans)

    out: list[dict] = []
    for segment in segments:
        words = [Word(w.start_s, w.end_s, _mask(w.text) if hidden(w) else w.text, w.probability)
                 for w in segment.words]
        if words:
            text = "".join(w.text for w in words).strip()
        else:
            text = segment.text
            for flag in flags:
                if flag.text and segment.start_s <= flag.start_s < segment.end_s:
                    text = text.replace(flag.text, " ".join(_mask(t) for t in flag.text.split()))
        out.append({"start_s": segment.start_s, "end_s": segment.end_s, "text": text,
                    "words": [w.to_dict() for w in words]})
    return {"text": " ".join(s["text"] for s in out), "language": language, "segments": out}
