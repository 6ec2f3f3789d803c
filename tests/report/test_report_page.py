"""The report's measurements and page, without ingest: spectrogram, loudness curves, PNG, escaping, memory."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from _signals import notes, sine

import audiokit
from audiokit import loudness
from audiokit.report.charts import spectrogram_png
from audiokit.report.measure import MAX_COLUMNS, MAX_CURVE_POINTS, ROWS, SpectrogramBuilder, measure_track
from audiokit.report.page import render_track_report

RATE = 44100


def _spectrogram(samples: np.ndarray, sample_rate: int, block: int) -> SpectrogramBuilder:
    builder = SpectrogramBuilder(sample_rate, samples.shape[1])
    for start in range(0, samples.shape[1], block):
        builder.process(samples[:, start:start + block])
    return builder


def test_a_tone_lands_in_its_row_and_nowhere_else():
    tone = sine(1000.0, RATE, duration_s=4.0).astype(np.float32)
    builder = _spectrogram(tone, RATE, 65536)
    image = builder.flush()
    row = int(np.argmin(np.abs(builder.row_hz - 1000.0)))
    steady = image[:, 2:-2]  # away from the fades
    assert np.all(np.argmax(steady, axis=0) == row)
    far = np.abs(np.log2(builder.row_hz / 1000.0)) > 1  # more than an octave away
    assert np.all(steady[row] - steady[far].max(axis=0) > 60)
    assert image.shape == (ROWS, image.shape[1]) and 0 < image.shape[1] <= MAX_COLUMNS


@pytest.mark.parametrize("block", [1, 1000, 44100])
def test_chunked_equals_whole(block):
    music = notes(RATE, 0.345678, np.random.default_rng(5)).astype(np.float32)
    whole = _spectrogram(music, RATE, music.shape[1]).flush()
    np.testing.assert_allclose(_spectrogram(music, RATE, block).flush(), whole, atol=1e-3)


def test_columns_stay_bounded_for_a_long_signal():
    rate, minutes = 8000, 90
    builder = SpectrogramBuilder(rate, rate * 60 * minutes)
    rng = np.random.default_rng(1)
    block = (0.1 * rng.standard_normal((1, rate * 60))).astype(np.float32)
    for _ in range(minutes):
        builder.process(block)
    rows, columns = builder.flush().shape
    assert rows == ROWS and 0.95 * MAX_COLUMNS <= columns <= MAX_COLUMNS


def test_the_loudness_curves_are_the_meters(tmp_path):
    music = (0.3 * notes(RATE, 12.0, np.random.default_rng(6))).astype(np.float32)
    path = audiokit.write(tmp_path / "music.flac", audiokit.Audio(music, RATE))
    measured = measure_track(path, with_peaks=True)
    decoded = audiokit.read(path)
    momentary = loudness.momentary(decoded.samples, RATE, hop_ms=10)
    short_term = loudness.short_term(decoded.samples, RATE, hop_ms=10)
    np.testing.assert_allclose(measured.momentary.lufs, momentary.lufs, atol=1e-6)
    np.testing.assert_allclose(measured.short_term.times_s, short_term.times_s)
    np.testing.assert_allclose(measured.short_term.lufs, short_term.lufs, atol=1e-6)
    assert measured.duration_s == pytest.approx(12.0)
    assert measured.peaks is not None and measured.peaks.length == -(-decoded.num_frames // 512)


def test_long_tracks_are_thinned_and_measured_in_bounded_memory(tmp_path):
    """10 minutes at 16 kHz (38 MB as float32, 20 as 16-bit): the pass holds blocks, not the track."""
    import soundfile

    rate, minutes = 16000, 10
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(2)
    with soundfile.SoundFile(path, "w", rate, 1, "PCM_16") as sink:
        for _ in range(minutes):
            sink.write((0.1 * rng.standard_normal(rate * 60)).astype(np.float32))
    script = (
        "import resource, sys\n"
        "from audiokit.report.measure import measure_track\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"measured = measure_track({str(path)!r}, with_peaks=True)\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(grown, measured.momentary.lufs.size, measured.spectrogram_db.shape[1])\n"
    )
    # a warm-up on a short file in the same process loads the decoder and compiles the kernels first,
    # so only the long pass is counted
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(4 * rate, np.float32), rate, "PCM_16")
    warm = f"from audiokit.report.measure import measure_track\nmeasure_track({str(short)!r}, with_peaks=True)\n"
    result = subprocess.run([sys.executable, "-c", warm + script], capture_output=True, text=True, timeout=600,
                            check=True)
    grown_kib, points, columns = map(int, result.stdout.split())
    assert points <= MAX_CURVE_POINTS and columns <= MAX_COLUMNS
    print(f"peak RSS grew by {grown_kib / 1024:.1f} MiB")
    assert grown_kib < 20 * 1024, f"peak RSS grew by {grown_kib / 1024:.0f} MiB"


def test_the_png_is_a_picture_of_the_spectrogram():
    from PIL import Image

    values = np.full((ROWS, 30), -200.0)
    values[5, :] = 0.0  # a loud low row
    image = Image.open(io.BytesIO(spectrogram_png(values))).convert("RGB")
    assert image.size == (30, ROWS)
    pixels = np.asarray(image)
    assert pixels[ROWS - 1 - 5].min() > 180 and pixels[0].max() < 10  # bright at row 5 (from the bottom), dark above


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def test_strings_from_files_are_escaped(tmp_path):
    """Every string a file brings (names, tags, transcript, flags, paths) reaches the page as text, never markup."""
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">"\'&'
    track_dir = tmp_path / "track"
    (track_dir / "transcript").mkdir(parents=True)
    (track_dir / "transcript" / "t.json").write_text(json.dumps({"segments": [
        {"start_s": 0.5, "end_s": 2.0, "text": evil,
         "words": [{"start_s": 0.5, "end_s": 1.0, "text": evil}, {"start_s": 1.0, "end_s": 2.0, "text": " ok"}]}]}))
    document = {
        "track_id": "0123456789abcdef",
        "source": {"file_name": evil, "codec": evil, "sample_rate": RATE, "num_channels": 1, "tags": {"title": evil}},
        "loudness": {"integrated_lufs": -20.0},
        "ladder": {"out_dir": "renditions", "renditions": [
            {"path": evil + ".m4a", "codec": "aac", "container": evil, "bitrate_bps": 64000,
             "qa": {"failures": [], "skipped": [evil]}}]},
        "tags": {evil: {"tags": [{"label": evil, "score": 0.5}]}},
        "analysis": {evil: evil},
        "transcript": {"paths": {"json": "transcript/t.json"}},
        "flags": [{"category": evil, "severity": "high", "start_s": 0.6, "end_s": 0.9, "source": "transcript",
                   "evidence": evil, "text": evil}],
    }
    tone = audiokit.Audio(sine(440.0, 8000, duration_s=3.0).astype(np.float32), 8000)
    html = render_track_report(document, track_dir, source=tone, page_dir=track_dir)
    page = _Page()
    page.feed(html)
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in page.tags)
    text = "".join(page.text)
    assert text.count(evil) >= 8  # title, file, tags, analysis, transcript, flag, rendition, container...
    # the one script runs under the page's policy by its hash (CSP Level 3 hash-source)
    policy = next(attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy and "unsafe-inline" not in re.search(r"script-src[^;]*", policy).group(0)
    (source,) = [attrs for tag, attrs in page.tags if tag == "source"]
    assert source["src"].startswith("renditions/%3Cscript%3E")  # a URL path, percent-encoded


@pytest.mark.parametrize("frames", [0, 100, 4410])
def test_silent_and_very_short_tracks_still_get_a_page(tmp_path, frames):
    """No loudness value exists before 400 ms and silence has none at all: the page says so instead of failing."""
    silence = audiokit.Audio(np.zeros((2, frames), np.float32), RATE)
    page = _Page()
    page.feed(render_track_report({"track_id": "0123456789abcdef"}, tmp_path, source=silence, page_dir=tmp_path))
    ids = {attrs.get("id") for _, attrs in page.tags}
    assert {"summary", "loudness-chart", "waveform", "spectrogram"} <= ids
    assert not any(tag == "polyline" for tag, _ in page.tags)  # no finite loudness to draw
    assert "The ladder stage did not run." in "".join(page.text)
