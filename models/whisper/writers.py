"""Transcript writers in a registry: txt, srt, vtt, tsv, json (and ``all``), and publishable subtitle cues.

Each writer turns segments and their :class:`TranscriptInfo` into the text of
one file; :func:`write_transcript` writes ``DIR/NAME.<format>`` for an input
``NAME.ext``, and :func:`write_subtitles` writes any segments (a masked
transcript, for instance) to one named file. Files are written under a
temporary name then ``os.replace`` d into place.

Formats
-------
txt   the text, one cue per line (wrapped the way the subtitles are)
srt   SubRip: index, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, one or two lines of text, blank line
vtt   WebVTT: ``WEBVTT`` header, ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues
tsv   ``start<TAB>end<TAB>text`` per segment, integer milliseconds (whisper's tsv)
json  ``{"text", "language", "segments": [{"start_s", "end_s", "text", "words": [...]}]}``

Subtitle cues
-------------
Whisper's segments are not subtitles: one can run to 130 characters and 10
seconds. SRT, VTT and txt are laid out from the words instead
(:func:`subtitle_cues`), following common broadcast subtitle guidelines (BBC
Subtitle Guidelines, Netflix Timed Text Style Guide: at most 42 characters a
line, two lines a cue, 5/6 s to 7 s a cue): a cue holds at most
``max_line_count`` lines of at most ``max_line_width`` characters, lasts
``min_cue_s`` to ``max_cue_s``, ends at a sentence end or a pause when it
can, and otherwise breaks after punctuation; lines are balanced, breaking
after punctuation where that costs little. ``highlight_words`` underlines
each word while it is spoken (whisper's ``--highlight_words``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from audiokit._files import write_atomically
from audiokit.errors import ParameterError

from .result import Segment, TranscriptInfo, Word

__all__ = [
    "WRITERS", "SubtitleOptions", "Cue", "subtitle_cues", "get_writer", "parse_formats", "transcript_paths",
    "write_transcript",
    "write_subtitles", "segments_from_json", "format_txt", "format_srt", "format_vtt", "format_tsv", "format_json",
]

#: Word endings after which a cue or a line breaks most naturally.
SENTENCE_END = (".", "?", "!", "…", '."', '?"', '!"')
CLAUSE_END = (",", ";", ":", "—", "-")


@dataclass(frozen=True)
class SubtitleOptions:
    """How words are laid out into subtitle cues (srt, vtt, txt)."""

    #: characters per line at most (a single longer word gets a line of its own)
    max_line_width: int = 42
    #: lines per cue at most
    max_line_count: int = 2
    #: a cue shorter than this is extended into the silence after it, seconds
    min_cue_s: float = 0.8
    #: a cue longer than this is split, seconds
    max_cue_s: float = 7.0
    #: a silence between two words at least this long ends a cue, seconds
    max_gap_s: float = 1.0
    #: underline each word while it is spoken (one cue per word, srt and vtt)
    highlight_words: bool = False

    def __post_init__(self) -> None:
        for name in ("max_line_width", "max_line_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} is {value!r}; expected a positive integer")
        if self.max_line_width < 10:
            raise ParameterError(f"max_line_width is {self.max_line_width}; expected at least 10 characters")
        if not 0.0 <= self.min_cue_s < self.max_cue_s:
            raise ParameterError(f"min_cue_s ({self.min_cue_s}) and max_cue_s ({self.max_cue_s}); "
                                 "expected 0 <= min_cue_s < max_cue_s, e.g. 0.8 and 7")
        if self.max_gap_s <= 0:
            raise ParameterError(f"max_gap_s is {self.max_gap_s}; expected > 0 seconds")

    def to_dict(self) -> dict:
        """The options as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: its span, its lines and the words it shows."""

    #: seconds from the start of the input
    start_s: float
    end_s: float
    #: the lines shown, each at most ``max_line_width`` characters unless one word is longer
    lines: tuple[str, ...]
    #: the words, with their own spans (for highlighting)
    words: tuple[Word, ...]

    def to_dict(self) -> dict:
        """Span, lines and words as a JSON-ready dict."""
        return {"start_s": self.start_s, "end_s": self.end_s, "lines": list(self.lines),
                "words": [w.to_dict() for w in self.words]}


def _words_of(segments: Sequence[Segment]) -> list[Word]:
    """Every word with its span; a segment without word timings is split at spaces, times spread by length."""
    words: list[Word] = []
    for segment in segments:
        if segment.words:
            words += [w for w in segment.words if w.text.strip()]
            continue
        tokens = segment.text.split()
        if not tokens:
            continue
        total = sum(len(t) + 1 for t in tokens)
        position, span = 0, segment.end_s - segment.start_s
        for token in tokens:
            start = segment.start_s + span * position / total
            position += len(token) + 1
            words.append(Word(round(start, 3), round(segment.start_s + span * position / total, 3), " " + token, 1.0))
    return words


def _clean(text: str) -> str:
    # "-->" inside a cue would read as a timing line
    return text.strip().replace("-->", "->")


def _wrap(words: Sequence[Word], options: SubtitleOptions) -> list[str] | None:
    """The cue's words as at most ``max_line_count`` balanced lines, or None when they do not fit."""
    tokens = [_clean(w.text) for w in words]
    width, count = options.max_line_width, options.max_line_count

    def length(part: Sequence[str]) -> int:
        return len(" ".join(part))

    if length(tokens) <= width or len(tokens) == 1:
        return [" ".join(tokens)]
    if count == 1:
        return None
    best, best_cost = None, None
    for cut in range(1, len(tokens)):  # two lines: the most even split, preferring one after punctuation
        first, rest = tokens[:cut], tokens[cut:]
        if length(first) > width:
            break
        tail = _wrap_greedy(rest, width, count - 1)
        if tail is None:
            continue
        cost = abs(length(first) - max(len(line) for line in tail))
        if first[-1].endswith(SENTENCE_END + CLAUSE_END):
            cost -= width // 4
        if best_cost is None or cost < best_cost:
            best, best_cost = [" ".join(first)] + tail, cost
    return best


def _wrap_greedy(tokens: Sequence[str], width: int, count: int) -> list[str] | None:
    lines: list[str] = []
    for token in tokens:
        if lines and len(lines[-1]) + 1 + len(token) <= width:
            lines[-1] += " " + token
        else:
            lines.append(token)
    return lines if len(lines) <= count else None


def subtitle_cues(segments: Sequence[Segment], options: SubtitleOptions = SubtitleOptions()) -> list[Cue]:
    """Lay the words of ``segments`` out into subtitle cues.

    Parameters
    ----------
    segments : sequence of Segment
        In time order; word timings are used when present (else a segment's
        words get times spread over it by length).
    options : SubtitleOptions

    Returns
    -------
    list of Cue
        In time order, non-overlapping. Every cue has at most
        ``max_line_count`` lines of at most ``max_line_width`` characters (a
        single longer word excepted) and lasts at most ``max_cue_s``; it
        lasts at least ``min_cue_s`` unless the next cue starts sooner.

    Examples
    --------
    >>> cues = subtitle_cues(segments, SubtitleOptions(max_line_width=32))  # doctest: +SKIP
    >>> cues[0].lines                                                        # doctest: +SKIP
    ('Welcome back to the show about', 'sound and the people who make it.')
    """
    words = _words_of(segments)
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            candidate = current + [word]
            gap = word.start_s - current[-1].end_s
            too_long = word.end_s - current[0].start_s > options.max_cue_s
            if gap >= options.max_gap_s or too_long or _wrap(candidate, options) is None:
                groups.append(current)
                current = []
                if not (gap >= options.max_gap_s):
                    # an overfull cue gives back its words after its last punctuation mark,
                    # if what it keeps fills half a line at least
                    cut = _last_break(groups[-1], options.max_line_width // 2)
                    if cut is not None:
                        current = groups[-1][cut:]
                        groups[-1] = groups[-1][:cut]
                        if _wrap(current + [word], options) is None or \
                                word.end_s - current[0].start_s > options.max_cue_s:
                            groups.append(current)
                            current = []
        current.append(word)
        if _clean(word.text).endswith(SENTENCE_END) and current[-1].end_s - current[0].start_s >= options.min_cue_s:
            groups.append(current)  # a sentence ends: the next starts a cue of its own
            current = []
    if current:
        groups.append(current)
    cues: list[Cue] = []
    for index, group in enumerate(groups):
        start = group[0].start_s
        end = min(max(group[-1].end_s, start + options.min_cue_s), start + options.max_cue_s)
        if index + 1 < len(groups):
            end = min(end, groups[index + 1][0].start_s)
        if cues and start < cues[-1].end_s:
            start = cues[-1].end_s
        end = max(end, start)
        cues.append(Cue(round(start, 3), round(end, 3), tuple(_wrap(group, options) or [_clean(
            " ".join(w.text.strip() for w in group))]), tuple(group)))
    return cues


def _last_break(group: Sequence[Word], min_chars: int) -> int | None:
    """Where to split an overfull cue: after its last punctuated word, or None.

    The index after the last word of ``group`` (but the last) that ends with
    punctuation, if the text up to it has at least ``min_chars`` characters.
    """
    for index in range(len(group) - 1, 0, -1):
        if _clean(group[index - 1].text).endswith(SENTENCE_END + CLAUSE_END):
            if len(" ".join(_clean(w.text) for w in group[:index])) >= min_chars:
                return index
            return None
    return None


def _timestamp(seconds: float, separator: str) -> str:
    milliseconds = max(0, round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    seconds, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{milliseconds:03d}"


def _timed_texts(segments: Sequence[Segment], options: SubtitleOptions) -> list[tuple[float, float, str]]:
    """(start, end, text) of every cue, or of every word's moment when highlighting."""
    out = []
    for cue in subtitle_cues(segments, options):
        if not options.highlight_words or len(cue.words) < 2:
            out.append((cue.start_s, cue.end_s, "\n".join(cue.lines)))
            continue
        # whisper/utils.py SubtitlesWriter: the cue's text with the word being spoken underlined
        for index, word in enumerate(cue.words):
            start = cue.start_s if index == 0 else max(word.start_s, out[-1][0])
            end = cue.end_s if index + 1 == len(cue.words) else max(cue.words[index + 1].start_s, start)
            if end <= start:
                continue
            lines, seen = [], 0
            for line in cue.lines:
                tokens = line.split(" ")
                for position in range(len(tokens)):
                    if seen == index:
                        tokens[position] = f"<u>{tokens[position]}</u>"
                    seen += 1
                lines.append(" ".join(tokens))
            out.append((round(start, 3), round(end, 3), "\n".join(lines)))
    return out


def format_txt(segments: Sequence[Segment], info: TranscriptInfo | None = None, *,
               options: SubtitleOptions = SubtitleOptions()) -> str:
    """The text, one subtitle cue per line (words as decoded, nothing escaped)."""
    return "".join(" ".join(w.text.strip() for w in cue.words) + "\n" for cue in subtitle_cues(segments, options))


def format_srt(segments: Sequence[Segment], info: TranscriptInfo | None = None, *,
               options: SubtitleOptions = SubtitleOptions()) -> str:
    """SubRip subtitles, cues numbered from 1."""
    return "".join(
        f"{index}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n\n"
        for index, (start, end, text) in enumerate(_timed_texts(segments, options), start=1)
    )


def format_vtt(segments: Sequence[Segment], info: TranscriptInfo | None = None, *,
               options: SubtitleOptions = SubtitleOptions()) -> str:
    """WebVTT subtitles."""
    cues = "".join(f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{text}\n\n"
                   for start, end, text in _timed_texts(segments, options))
    return "WEBVTT\n\n" + cues


def format_tsv(segments: Sequence[Segment], info: TranscriptInfo | None = None, *,
               options: SubtitleOptions = SubtitleOptions()) -> str:
    """Tab-separated ``start``, ``end`` (integer milliseconds) and ``text`` per segment."""
    rows = "".join(
        f"{round(s.start_s * 1000)}\t{round(s.end_s * 1000)}\t{s.text.replace(chr(9), ' ')}\n" for s in segments
    )
    return "start\tend\ttext\n" + rows


def format_json(segments: Sequence[Segment], info: TranscriptInfo | None = None, *,
                options: SubtitleOptions = SubtitleOptions(), language: str | None = None) -> str:
    """The whole transcript with word timings as one JSON document."""
    document = {
        "text": " ".join(segment.text for segment in segments),
        "language": language or (info.language if info is not None else "en"),
        "segments": [
            {
                "start_s": s.start_s,
                "end_s": s.end_s,
                "text": s.text,
                "words": [word.to_dict() for word in s.words],
            }
            for s in segments
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


#: Format name -> function(segments, info, *, options) -> file text.
WRITERS: dict[str, Callable[..., str]] = {
    "txt": format_txt,
    "srt": format_srt,
    "vtt": format_vtt,
    "tsv": format_tsv,
    "json": format_json,
}


def get_writer(name: str) -> Callable[..., str]:
    """The writer of format ``name`` (one of :data:`WRITERS`)."""
    try:
        return WRITERS[name]
    except KeyError:
        raise ParameterError(f"transcript format is {name!r}; expected one of {', '.join(WRITERS)} or 'all'") from None


def parse_formats(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``"srt,vtt"``, ``["srt", "vtt"]`` or ``"all"`` -> validated format names, in order, once each."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    result: list[str] = []
    for name in (n.strip().lower() for n in names):
        for expanded in WRITERS if name == "all" else (name,):
            get_writer(expanded)
            if expanded not in result:
                result.append(expanded)
    if not result:
        raise ParameterError(f"no transcript format in {spec!r}; expected e.g. 'srt,vtt' or 'all'")
    return tuple(result)


def write_transcript(
    segments: Sequence[Segment],
    info: TranscriptInfo,
    source: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    formats: str | Sequence[str] = "all",
    options: SubtitleOptions = SubtitleOptions(),
) -> list[Path]:
    """Write ``output_dir/<source stem>.<format>`` for each format, atomically.

    Parameters
    ----------
    segments : sequence of Segment
    info : TranscriptInfo
    source : str or os.PathLike
        The input file; its name without extension names the outputs.
    output_dir : str or os.PathLike
        Created if missing.
    formats : str or sequence of str
        ``"srt,vtt"``, ``["json"]`` or ``"all"``.
    options : SubtitleOptions
        Cue layout of srt, vtt and txt.

    Returns
    -------
    list of Path
        The files written, in format order.

    Examples
    --------
    >>> write_transcript(segments, info, "ep1.mp3", "subs", formats="srt")  # doctest: +SKIP
    [PosixPath('subs/ep1.srt')]
    """
    paths = transcript_paths(source, output_dir, formats=formats)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    for name, path in zip(parse_formats(formats), paths, strict=True):
        write_atomically(path, WRITERS[name](segments, info, options=options))
    return paths


def transcript_paths(source: str | os.PathLike, output_dir: str | os.PathLike, *,
                     formats: str | Sequence[str] = "all") -> list[Path]:
    """The files :func:`write_transcript` writes for ``source``: ``output_dir/<source stem>.<format>``, in format order.

    Examples
    --------
    >>> transcript_paths("episodes/ep1.mp3", "subs", formats="srt,vtt")
    [PosixPath('subs/ep1.srt'), PosixPath('subs/ep1.vtt')]
    """
    stem = Path(source).stem
    return [Path(output_dir) / f"{stem}.{name}" for name in parse_formats(formats)]


def write_subtitles(
    segments: Sequence[Segment],
    path: str | os.PathLike,
    *,
    format: str | None = None,
    language: str = "en",
    options: SubtitleOptions = SubtitleOptions(),
) -> Path:
    """Write any segments (a masked transcript, an edited one) to one file, atomically.

    Parameters
    ----------
    segments : sequence of Segment
        With word timings for the best cues; masked words are written as given.
    path : str or os.PathLike
        The file to write; its folder must exist.
    format : {"txt", "srt", "vtt", "tsv", "json"}, optional
        Default: from the suffix of ``path``.
    language : str
        ISO 639-1 code recorded by the json format.
    options : SubtitleOptions

    Returns
    -------
    Path

    Examples
    --------
    >>> write_subtitles(masked_segments, "clean.srt")  # doctest: +SKIP
    PosixPath('clean.srt')
    """
    path = Path(path)
    name = (format or path.suffix.lstrip(".")).lower()
    writer = get_writer(name)
    text = writer(segments, None, options=options, language=language) if name == "json" else \
        writer(segments, None, options=options)
    return write_atomically(path, text)


def segments_from_json(document: dict) -> list[Segment]:
    """Segments of a JSON transcript document (the ``json`` format's dict), words included.

    Raises
    ------
    ParameterError
        If the document has no ``segments`` list or a segment lacks its keys.
    """
    try:
        return [
            Segment(float(s["start_s"]), float(s["end_s"]), str(s["text"]).strip(),
                    tuple(Word(float(w["start_s"]), float(w["end_s"]), str(w["text"]), float(w.get("probability", 1.0)))
                          for w in s.get("words") or ()))
            for s in document["segments"]
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise ParameterError(f"transcript document is malformed ({error!r}); expected the json format's "
                             '{"segments": [{"start_s", "end_s", "text", "words"}]}') from None
