"""One track's HTML report: a single self-contained page beside the track's renditions.

The page holds everything inline (CSS, one script, SVG charts, the
spectrogram as a PNG ``data:`` URI) and loads nothing over the network; its
Content-Security-Policy (W3C CSP Level 3) allows only that inline script, by
its SHA-256 hash, and media from the track's own folder. Every string taken
from a file (tags, file names, transcript text, flag evidence) is HTML-escaped.

Sections: summary, player (an ``<audio>`` element playing a shipped
rendition by relative path), loudness (momentary and short-term), waveform,
spectrogram, the ladder with its QA verdicts, tags, analysis, and the
transcript with the moderation flags highlighted. Clicking a flag, a
transcript line's time or a point of a chart plays the track from there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np

from .._files import write_atomically
from ..waveform import WaveformPeaks
from .charts import CHART_WIDTH, MARGIN, WIDTH, loudness_svg, png_data_uri, spectrogram_png, waveform_svg
from .measure import TrackMeasurements, measure_track

if TYPE_CHECKING:
    from ..io.source import AudioSource

__all__ = ["REPORT_NAME", "render_track_report", "write_track_report"]

#: A track's report page, in the track's folder.
REPORT_NAME = "report.html"

#: ``<source type>`` per rendition codec (RFC 6381 codecs parameters), in the order the player prefers them.
_MEDIA_TYPES = {
    "aac": 'audio/mp4; codecs="mp4a.40.2"',
    "opus": 'audio/ogg; codecs="opus"',
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "alac": 'audio/mp4; codecs="alac"',
}

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 6px;border-bottom:1px solid #ddd}
.muted{color:#666}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}td.num{text-align:right}
svg{width:100%;height:auto;display:block}svg text{font:11px system-ui,sans-serif;fill:#555}
.grid{stroke:#e3e3e3;stroke-width:1}.momentary{fill:none;stroke:#7aa6d8;stroke-width:1}
.short-term{fill:none;stroke:#c0392b;stroke-width:2}.integrated{stroke:#333;stroke-dasharray:6 4}
.wave{stroke:#2c6fbb;stroke-width:1.2}#spectrogram{height:220px;image-rendering:pixelated}
.pass{color:#1e7b34}.fail{color:#b3261e;font-weight:600}.off{color:#777}
.legend span{margin-right:14px}.legend .m{color:#7aa6d8}.legend .s{color:#c0392b}
mark.flag,button.flag{cursor:pointer;background:#ffd5d0;border:1px solid #e8a29a;border-radius:3px;padding:0 3px}
.timeline,#spectrogram{cursor:pointer}.segment{margin:2px 0}.segment.flagged{background:#fff4f2}.time{color:#888;cursor:pointer;margin-right:6px}
ul.flags{padding-left:18px}audio{width:100%}
"""

_SCRIPT = """
function playFrom(seconds) {
  var player = document.getElementById("player");
  if (!player) { return; }
  player.currentTime = seconds;
  var playing = player.play();
  if (playing) { playing.catch(function () {}); }
}
document.querySelectorAll("[data-seek]").forEach(function (element) {
  element.addEventListener("click", function () { playFrom(parseFloat(element.getAttribute("data-seek"))); });
});
document.querySelectorAll("[data-duration]").forEach(function (element) {
  element.addEventListener("click", function (event) {
    var box = element.getBoundingClientRect();
    var fraction = ((event.clientX - box.left) / box.width - parseFloat(element.getAttribute("data-left")))
      / parseFloat(element.getAttribute("data-width"));
    if (fraction >= 0 && fraction <= 1) { playFrom(fraction * parseFloat(element.getAttribute("data-duration"))); }
  });
});
"""


def _number(value: float | np.integer | None, digits: int = 1, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}{unit}"
    return f"{value:.{digits}f}{unit}"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(float(seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def _read_peaks(document: dict, track_dir: Path) -> WaveformPeaks | None:
    """The finest waveform level the peaks stage wrote for this track, if any."""
    levels = (document.get("peaks") or {}).get("levels") or []
    for level in sorted(levels, key=lambda level: level["samples_per_pixel"]):
        path = track_dir / level["path"]
        if path.is_file():
            return WaveformPeaks.from_dict(json.loads(path.read_text(encoding="utf-8")))
    return None


def _player(document: dict, track_dir: Path, page_dir: Path) -> str:
    """``<audio id="player">`` with one ``<source>`` per shipped rendition, preferred codecs first."""
    ladder = document.get("ladder") or {}
    folder = track_dir / ladder.get("out_dir", "renditions")
    ranked = sorted(ladder.get("renditions") or [],
                    key=lambda r: (list(_MEDIA_TYPES).index(r["codec"]) if r.get("codec") in _MEDIA_TYPES
                                   else len(_MEDIA_TYPES), -(r.get("bitrate_bps") or 0)))
    sources = []
    for rendition in ranked:
        relative = Path(os.path.relpath(folder / rendition["path"], page_dir)).as_posix()
        media_type = _MEDIA_TYPES.get(rendition.get("codec", ""))
        type_attribute = f' type="{escape(media_type)}"' if media_type else ""
        sources.append(f'<source src="{escape(quote(relative))}"{type_attribute}>')
    if not sources:
        return '<p class="muted">No rendition shipped: nothing to play.</p>'
    return f'<audio id="player" controls preload="metadata">{"".join(sources)}</audio>'


def _qa_verdict(rendition: dict) -> str:
    qa = rendition.get("qa")
    if not qa:
        return '<span class="off">QA off</span>'
    if qa.get("failures"):
        return '<span class="fail">fail: ' + escape("; ".join(qa["failures"])) + "</span>"
    skipped = f' <span class="muted">({escape("; ".join(qa["skipped"]))})</span>' if qa.get("skipped") else ""
    return f'<span class="pass">pass</span>{skipped}'


def _ladder_table(document: dict) -> str:
    ladder = document.get("ladder")
    if not ladder:
        return '<p class="muted">The ladder stage did not run.</p>'
    header = ("<tr><th>rendition</th><th>codec</th><th>bitrate kbit/s</th><th>measured kbit/s</th>"
              "<th>rate Hz</th><th>ch</th><th>size KiB</th><th>LUFS</th><th>dBTP</th><th>bandwidth kHz</th>"
              "<th>mel distance dB</th><th>QA</th></tr>")
    rows = []
    for css_class, renditions in (("rendition", ladder.get("renditions") or []),
                                  ("excluded", ladder.get("excluded") or [])):
        for r in renditions:
            qa = r.get("qa") or {}
            bandwidth = r.get("bandwidth_hz")
            rows.append(
                f'<tr class="{css_class}"><td>{escape(str(r.get("path", "")))}</td>'
                f'<td>{escape(str(r.get("codec", "")))}/{escape(str(r.get("container", "")))}</td>'
                f'<td class="num">{_number(None if r.get("bitrate_bps") is None else r["bitrate_bps"] / 1000, 0)}</td>'
                f'<td class="num">{_number(None if not r.get("measured_bitrate_bps") else r["measured_bitrate_bps"] / 1000, 0)}</td>'
                f'<td class="num">{_number(r.get("sample_rate"))}</td><td class="num">{_number(r.get("num_channels"))}</td>'
                f'<td class="num">{_number(None if r.get("size_bytes") is None else r["size_bytes"] / 1024, 0)}</td>'
                f'<td class="num">{_number(r.get("integrated_lufs"))}</td><td class="num">{_number(r.get("true_peak_dbtp"))}</td>'
                f'<td class="num">{_number(None if bandwidth is None else bandwidth / 1000)}</td>'
                f'<td class="num">{_number(qa.get("mel_distance_db", r.get("mel_distance")), 2)}</td>'
                f"<td>{_qa_verdict(r)}</td></tr>")
    degraded = ""
    if ladder.get("degraded_reasons"):
        degraded = ('<p class="fail">Degraded: ' + escape("; ".join(map(str, ladder["degraded_reasons"]))) + "</p>")
    return f'<table id="ladder">{header}{"".join(rows)}</table>{degraded}'


def _tags_section(document: dict) -> str:
    tags = document.get("tags")
    if not isinstance(tags, dict) or not tags:
        return '<p class="muted">The tags stage did not run.</p>'
    parts = []
    for model, result in tags.items():
        if not isinstance(result, dict):
            continue
        items = ", ".join(f'{escape(str(tag["label"]))} <span class="muted">{float(tag["score"]):.2f}</span>'
                          for tag in result.get("tags", []))
        parts.append(f"<tr><th>{escape(str(model))}</th><td>{items}</td></tr>")
    return f'<table id="tags">{"".join(parts)}</table>'


def _analysis_section(document: dict) -> str:
    """The analysis' scalar values, one row each (``tempo.bpm``, ``key.key``, ...); lists are left out."""
    analysis = document.get("analysis")
    if not isinstance(analysis, dict):
        return '<p class="muted">The analysis stage did not run.</p>'
    rows = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, (str, int, float, bool)) or value is None:
            shown = escape(value) if isinstance(value, str) else _number(value, 3)
            rows.append(f"<tr><th>{escape(prefix)}</th><td>{shown}</td></tr>")

    walk("", analysis)
    return f'<table id="analysis">{"".join(rows)}</table>'


def _transcript_segments(document: dict, track_dir: Path) -> list[dict]:
    paths = (document.get("transcript") or {}).get("paths") or {}
    path = track_dir / paths["json"] if "json" in paths else None
    if path is None or not path.is_file():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("segments") or [])


def _overlaps(flag: dict, start_s: float, end_s: float) -> bool:
    return float(flag["start_s"]) < end_s and float(flag["end_s"]) > start_s


def _transcript_section(document: dict, track_dir: Path) -> str:
    """The flags, each a button that plays from its time, then the transcript with flagged words marked."""
    flags = [flag for flag in document.get("flags") or [] if isinstance(flag, dict)]
    flag_items = "".join(
        f'<li><button class="flag" data-seek="{float(flag["start_s"]):.3f}">{_clock(flag["start_s"])}</button> '
        f'{escape(str(flag.get("category", "")))} ({escape(str(flag.get("severity", "")))}, '
        f'{escape(str(flag.get("source", "")))}): {escape(str(flag.get("evidence") or flag.get("text") or ""))}</li>'
        for flag in flags)
    flag_list = f'<ul class="flags" id="flags">{flag_items}</ul>' if flags else '<p class="muted">No flags.</p>'
    segments = _transcript_segments(document, track_dir)
    if not segments:
        reason = ((document.get("stages") or {}).get("transcript") or {}).get("reason")
        note = f"No transcript ({escape(reason)})." if reason else "No transcript."
        return f'{flag_list}<p class="muted">{note}</p>'
    transcript_flags = [flag for flag in flags if flag.get("source") == "transcript"]
    lines = []
    for segment in segments:
        start_s, end_s = float(segment["start_s"]), float(segment["end_s"])
        hits = [flag for flag in transcript_flags if _overlaps(flag, start_s, end_s)]
        words = segment.get("words") or []
        if words:
            pieces = []
            for word in words:
                text = escape(str(word["text"]))
                hit = next((f for f in hits if _overlaps(f, float(word["start_s"]), float(word["end_s"]))), None)
                pieces.append(f'<mark class="flag" data-seek="{float(hit["start_s"]):.3f}">{text}</mark>' if hit
                              else text)
            body = "".join(pieces)
        else:
            body = escape(str(segment["text"]))
        flagged = " flagged" if hits else ""
        lines.append(f'<p class="segment{flagged}" data-start="{start_s:.3f}"><span class="time" '
                     f'data-seek="{start_s:.3f}">{_clock(start_s)}</span>{body}</p>')
    return f'{flag_list}<div id="transcript">{"".join(lines)}</div>'


def render_track_report(document: dict, track_dir: Path, *, source: AudioSource | TrackMeasurements,
                        page_dir: Path) -> str:
    """The report page of one track, as HTML text.

    Parameters
    ----------
    document : dict
        The track's manifest (or, during ingest, the sections written so far).
    track_dir : Path
        The track's folder (renditions, waveform peaks, transcript).
    source : str, os.PathLike, Audio or TrackMeasurements
        The track's audio, streamed once for the loudness curves and the spectrogram, or those
        measurements already made (by a :class:`~.measure.TrackMeasurer` an ingest pass fed).
    page_dir : Path
        Folder the page will be written to (the player's paths are relative to it).

    Returns
    -------
    str
    """
    track_source = document.get("source") or {}
    peaks = _read_peaks(document, track_dir)
    measured = (source if isinstance(source, TrackMeasurements) else
                measure_track(source, with_peaks=peaks is None, channel_layout=track_source.get("channel_layout")))
    peaks = peaks or measured.peaks
    loudness = document.get("loudness") or {}
    title = (track_source.get("tags") or {}).get("title") or track_source.get("file_name") or document["track_id"]
    summary_items = (
        ("file", escape(str(track_source.get("file_name", "")))),
        ("track id", escape(str(document["track_id"]))),
        ("duration", _clock(measured.duration_s)),
        ("format", escape(f'{track_source.get("codec", "")} {_number(track_source.get("sample_rate"))} Hz, '
                          f'{_number(track_source.get("num_channels"))} ch')),
        ("integrated", _number(loudness.get("integrated_lufs"), 1, " LUFS")),
        ("loudness range", _number(loudness.get("loudness_range_lu"), 1, " LU")),
        ("true peak", _number(loudness.get("true_peak_dbtp"), 1, " dBTP")),
        ("explicit", _number(document.get("explicit"))),
    )
    summary = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in summary_items)
    spectrogram = spectrogram_png(measured.spectrogram_db)
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    policy = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
              "media-src 'self' file:; base-uri 'none'; form-action 'none'")
    integrated = loudness.get("integrated_lufs")
    # a click on a chart plays from the time under the pointer: the plot's share of the chart's width
    timeline = (f'data-duration="{measured.duration_s:.3f}" data-left="{MARGIN / CHART_WIDTH:.6f}" '
                f'data-width="{WIDTH / CHART_WIDTH:.6f}"')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(str(title))}: audiokit report</title><style>{_STYLE}
#spectrogram{{margin-left:{100 * MARGIN / CHART_WIDTH:.4f}%;width:{100 * WIDTH / CHART_WIDTH:.4f}%}}</style></head>
<body>
<h1>{escape(str(title))}</h1>
<table id="summary">{summary}</table>
<h2>Player</h2>{_player(document, track_dir, page_dir)}
<h2>Loudness</h2>
<p class="legend"><span class="m">momentary (400 ms)</span><span class="s">short-term (3 s)</span>
<span>dashed: integrated</span> <span class="muted">LUFS, EBU Tech 3341</span></p>
<div class="timeline" {timeline}>
{loudness_svg(measured.momentary, measured.short_term, measured.duration_s, integrated_lufs=integrated)}</div>
<h2>Waveform</h2>
<div class="timeline" {timeline}>
{waveform_svg(peaks, measured.duration_s) if peaks is not None else '<p class="muted">No peaks.</p>'}</div>
<h2>Spectrogram</h2>
<img id="spectrogram" data-duration="{measured.duration_s:.3f}" data-left="0" data-width="1" alt="spectrogram, 40 Hz to {measured.spectrogram_hz[-1] / 1000:.1f} kHz on a log scale"
 src="{png_data_uri(spectrogram)}">
<p class="muted">Frequency rises upwards on a log scale, {measured.spectrogram_hz[0]:.0f} Hz to
{measured.spectrogram_hz[-1] / 1000:.1f} kHz; brightness is power, the loudest cell white, 90 dB below it black.</p>
<h2>Ladder</h2>{_ladder_table(document)}
<h2>Tags</h2>{_tags_section(document)}
<h2>Analysis</h2>{_analysis_section(document)}
<h2>Transcript and flags</h2>{_transcript_section(document, track_dir)}
<script>{_SCRIPT}</script>
</body></html>
"""


def write_track_report(document: dict, track_dir: str | os.PathLike[str], *, source: AudioSource | TrackMeasurements,
                       output: str | os.PathLike[str]) -> Path:
    """Write one track's report page, atomically.

    Parameters
    ----------
    document : dict
        The track's manifest (or the sections written so far, during ingest).
    track_dir : str or os.PathLike
        The track's folder.
    source : str, os.PathLike, Audio or TrackMeasurements
        The track's audio (the input, or a rendition when the input is gone), or its
        measurements already made (see :func:`render_track_report`).
    output : str or os.PathLike
        The HTML file to write.

    Returns
    -------
    Path
        ``output``.
    """
    output = Path(output)
    html = render_track_report(document, Path(track_dir), source=source, page_dir=output.parent.resolve())
    return write_atomically(output, html)
