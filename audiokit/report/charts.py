"""The pictures of a track report, drawn without any plotting library: inline SVG and a PNG data: URI.

Every chart shares one time axis (:data:`WIDTH` pixels for the whole track)
so the loudness curves, the waveform and the spectrogram line up.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

from ..loudness import LoudnessSeries
from ..waveform import WaveformPeaks

__all__ = ["CHART_WIDTH", "MARGIN", "WIDTH", "loudness_svg", "png_data_uri", "spectrogram_png", "waveform_svg"]

#: Width of every chart's plot area, pixels (the SVGs scale with the page).
WIDTH = 1000
#: Left margin for the y-axis labels, pixels.
MARGIN = 48
#: Width of a whole chart: the margin, the plot and room for the last time label on the right.
CHART_WIDTH = MARGIN + WIDTH + 24
LOUDNESS_HEIGHT = 220
WAVEFORM_HEIGHT = 120
#: Lowest and highest loudness drawn, LUFS.
LOUDNESS_FLOOR_LUFS, LOUDNESS_TOP_LUFS = -60.0, 0.0
#: Dynamic range of the spectrogram image below its loudest cell, dB.
SPECTROGRAM_RANGE_DB = 90.0
#: Colour map of the spectrogram, quiet to loud (anchors interpolated linearly): black, purple, orange, pale yellow.
_COLOURS = np.array([[0, 0, 4], [80, 18, 123], [182, 54, 121], [251, 136, 97], [252, 253, 191]], np.float64)


def _time_ticks(duration_s: float) -> list[float]:
    """About six round tick times across the track."""
    if duration_s <= 0:
        return [0.0]
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
    step = next((s for s in steps if duration_s / s <= 8), 7200)
    return [float(t) for t in np.arange(0, duration_s + 1e-9, step)]


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def _time_axis(duration_s: float, height: int) -> str:
    parts = []
    for tick in _time_ticks(duration_s):
        x = MARGIN + tick / max(duration_s, 1e-9) * WIDTH
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{height + 14}" text-anchor="middle">{_clock(tick)}</text>')
    return "".join(parts)


def _polyline(series: LoudnessSeries, duration_s: float, css_class: str) -> str:
    """The series as SVG polylines, broken where it is silent (-inf) or below the floor."""
    scale = LOUDNESS_HEIGHT / (LOUDNESS_TOP_LUFS - LOUDNESS_FLOOR_LUFS)
    lines: list[list[str]] = []
    points: list[str] = []
    for time_s, lufs in zip(series.times_s, series.lufs, strict=True):
        if not np.isfinite(lufs):
            if points:
                lines.append(points)
            points = []
            continue
        y = (LOUDNESS_TOP_LUFS - min(max(float(lufs), LOUDNESS_FLOOR_LUFS), LOUDNESS_TOP_LUFS)) * scale
        points.append(f"{MARGIN + float(time_s) / max(duration_s, 1e-9) * WIDTH:.1f},{y:.1f}")
    if points:
        lines.append(points)
    return "".join(f'<polyline class="{css_class}" points="{" ".join(p)}"/>' for p in lines)


def loudness_svg(momentary: LoudnessSeries, short_term: LoudnessSeries, duration_s: float, *,
                 integrated_lufs: float | None = None) -> str:
    """Momentary and short-term loudness (EBU Tech 3341) against time, with the integrated level dashed.

    Parameters
    ----------
    momentary, short_term : LoudnessSeries
    duration_s : float
    integrated_lufs : float, optional

    Returns
    -------
    str
        An ``<svg id="loudness-chart">`` element.
    """
    scale = LOUDNESS_HEIGHT / (LOUDNESS_TOP_LUFS - LOUDNESS_FLOOR_LUFS)
    grid = []
    for lufs in range(int(LOUDNESS_TOP_LUFS), int(LOUDNESS_FLOOR_LUFS) - 1, -10):
        y = (LOUDNESS_TOP_LUFS - lufs) * scale
        grid.append(f'<line x1="{MARGIN}" y1="{y:.1f}" x2="{MARGIN + WIDTH}" y2="{y:.1f}" class="grid"/>'
                    f'<text x="{MARGIN - 6}" y="{y + 4:.1f}" text-anchor="end">{lufs}</text>')
    integrated = ""
    if integrated_lufs is not None and np.isfinite(integrated_lufs):
        y = (LOUDNESS_TOP_LUFS - min(max(integrated_lufs, LOUDNESS_FLOOR_LUFS), LOUDNESS_TOP_LUFS)) * scale
        integrated = (f'<line class="integrated" x1="{MARGIN}" y1="{y:.1f}" x2="{MARGIN + WIDTH}" y2="{y:.1f}"/>')
    height = LOUDNESS_HEIGHT
    return (f'<svg id="loudness-chart" viewBox="0 0 {CHART_WIDTH} {height + 20}" role="img" '
            f'aria-label="momentary and short-term loudness, LUFS">'
            f'{"".join(grid)}{_time_axis(duration_s, height)}{integrated}'
            f'{_polyline(momentary, duration_s, "momentary")}{_polyline(short_term, duration_s, "short-term")}'
            f'</svg>')


def waveform_svg(peaks: WaveformPeaks, duration_s: float) -> str:
    """The waveform's envelope: per column, a bar from the smallest to the largest sample of every channel.

    Parameters
    ----------
    peaks : WaveformPeaks
        Any zoom level; columns are merged to at most :data:`WIDTH`.
    duration_s : float

    Returns
    -------
    str
        An ``<svg id="waveform">`` element.
    """
    data = peaks.data.astype(np.float64) / float(1 << (peaks.bits - 1))  # (pixels, channels, 2) in [-1, 1)
    low, high = data[:, :, 0].min(axis=1), data[:, :, 1].max(axis=1)
    group = max(1, -(-low.size // WIDTH))
    columns = -(-low.size // group) if low.size else 0
    padded = columns * group - low.size
    low = np.pad(low, (0, padded), constant_values=np.inf).reshape(columns, group).min(axis=1)
    high = np.pad(high, (0, padded), constant_values=-np.inf).reshape(columns, group).max(axis=1)
    # pixel i covers frames [i * spp, (i + 1) * spp): its x follows time, so the waveform lines up with the charts
    seconds_per_column = group * peaks.samples_per_pixel / peaks.sample_rate
    middle = WAVEFORM_HEIGHT / 2
    path = "".join(
        f"M{MARGIN + (i + 0.5) * seconds_per_column / max(duration_s, 1e-9) * WIDTH:.1f} "
        f"{middle - hi * middle:.1f}V{middle - lo * middle + 0.5:.1f}"
        for i, (lo, hi) in enumerate(zip(low, high, strict=True)))
    return (f'<svg id="waveform" viewBox="0 0 {CHART_WIDTH} {WAVEFORM_HEIGHT + 20}" role="img" '
            f'aria-label="waveform">{_time_axis(duration_s, WAVEFORM_HEIGHT)}'
            f'<line x1="{MARGIN}" y1="{middle}" x2="{MARGIN + WIDTH}" y2="{middle}" class="grid"/>'
            f'<path class="wave" d="{path}"/></svg>')


def spectrogram_png(spectrogram_db: np.ndarray) -> bytes:
    """The spectrogram as a PNG image: one pixel per (row, column), low frequencies at the bottom.

    Parameters
    ----------
    spectrogram_db : np.ndarray [shape=(rows, columns)]
        Power in dB; the loudest cell is the brightest, :data:`SPECTROGRAM_RANGE_DB` below it black.

    Returns
    -------
    bytes
        An 8-bit RGB PNG (ISO/IEC 15948).
    """
    values = np.asarray(spectrogram_db, np.float64)
    if values.size == 0:
        values = np.full((1, 1), -np.inf)
    top = float(np.max(values)) if np.isfinite(np.max(values)) else 0.0
    level = np.clip((values - (top - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0.0, 1.0)[::-1]
    position = level * (len(_COLOURS) - 1)
    lower = np.minimum(position.astype(int), len(_COLOURS) - 2)
    fraction = (position - lower)[..., None]
    rgb = np.round(_COLOURS[lower] * (1 - fraction) + _COLOURS[lower + 1] * fraction).astype(np.uint8)
    return _png(rgb)


def _png(rgb: np.ndarray) -> bytes:
    """Encode an (height, width, 3) uint8 image as PNG: signature, IHDR, one IDAT (filter 0 rows), IEND."""
    height, width, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, width * 3)], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` (RFC 2397) of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
