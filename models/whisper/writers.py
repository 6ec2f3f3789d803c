"""Transcript writers in a registry: txt, srt, vtt, tsv, json (and ``all``).

Each writer turns segments and their :class:`TranscriptInfo` into the text of
one file; :func:`write_transcript` writes ``DIR/NAME.<format>`` for an input
``NAME.ext``, each file under a temporary name then ``os.replace`` d into place.

Formats
-------
txt   one segment per line
srt   SubRip: index, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, text, blank line
vtt   WebVTT: ``WEBVTT`` header, ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues
tsv   ``start<TAB>end<TAB>text`` with integer milliseconds (whisper's tsv)
json  ``{"text", "language", "segments": [{"start_s", "end_s", "text", "words": [...]}]}``
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from audiokit._files import write_atomically
from audiokit.errors import ParameterError

from .result import Segment, TranscriptInfo

__all__ = ["WRITERS", "get_writer", "parse_formats", "write_transcript"]


def _timestamp(seconds: float, separator: str) -> str:
    milliseconds = max(0, round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    seconds, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{milliseconds:03d}"


def _cue_text(segment: Segment) -> str:
    # "-->" inside a cue would read as a timing line
    return segment.text.replace("-->", "->")


def format_txt(segments: Sequence[Segment], info: TranscriptInfo) -> str:
    """One segment's text per line."""
    return "".join(f"{segment.text}\n" for segment in segments)


def format_srt(segments: Sequence[Segment], info: TranscriptInfo) -> str:
    """SubRip subtitles, cues numbered from 1."""
    return "".join(
        f"{index}\n{_timestamp(s.start_s, ',')} --> {_timestamp(s.end_s, ',')}\n{_cue_text(s)}\n\n"
        for index, s in enumerate(segments, start=1)
    )


def format_vtt(segments: Sequence[Segment], info: TranscriptInfo) -> str:
    """WebVTT subtitles."""
    cues = "".join(
        f"{_timestamp(s.start_s, '.')} --> {_timestamp(s.end_s, '.')}\n{_cue_text(s)}\n\n" for s in segments
    )
    return "WEBVTT\n\n" + cues


def format_tsv(segments: Sequence[Segment], info: TranscriptInfo) -> str:
    """Tab-separated ``start``, ``end`` (integer milliseconds) and ``text``."""
    rows = "".join(
        f"{round(s.start_s * 1000)}\t{round(s.end_s * 1000)}\t{s.text.replace(chr(9), ' ')}\n" for s in segments
    )
    return "start\tend\ttext\n" + rows


def format_json(segments: Sequence[Segment], info: TranscriptInfo) -> str:
    """The whole transcript with word timings as one JSON document."""
    document = {
        "text": " ".join(segment.text for segment in segments),
        "language": info.language,
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


#: Format name -> function(segments, info) -> file text.
WRITERS: dict[str, Callable[[Sequence[Segment], TranscriptInfo], str]] = {
    "txt": format_txt,
    "srt": format_srt,
    "vtt": format_vtt,
    "tsv": format_tsv,
    "json": format_json,
}


def get_writer(name: str) -> Callable[[Sequence[Segment], TranscriptInfo], str]:
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

    Returns
    -------
    list of Path
        The files written, in format order.

    Examples
    --------
    >>> write_transcript(segments, info, "ep1.mp3", "subs", formats="srt")  # doctest: +SKIP
    [PosixPath('subs/ep1.srt')]
    """
    names = parse_formats(formats)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(source).stem
    written = []
    for name in names:
        path = output_dir / f"{stem}.{name}"
        write_atomically(path, WRITERS[name](segments, info))
        written.append(path)
    return written
