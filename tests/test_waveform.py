"""Waveform peaks: exact min/max per pixel, streamed, in the JSON peaks.js reads.

The reference for the format is ``waveform-data``, the parser peaks.js uses,
pinned in tests/players/package.json and run with Node; the reference for the
values is a plain numpy min/max over the decoded file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import audiokit
from audiokit.cli.peaks import peaks as peaks_command
from audiokit.errors import FormatError, ParameterError
from audiokit.waveform import PeaksBuilder, WaveformPeaks, waveform_peaks, write_peaks

PLAYERS = Path(__file__).parent / "players"
WAVEFORM_DATA = PLAYERS / "node_modules" / "waveform-data"


def _reference(samples: np.ndarray, per_pixel: int, bits: int) -> np.ndarray:
    """(pixels, channels, 2) min/max by a direct loop over pixels, as audiowaveform scales them."""
    scale = 2 ** (bits - 1)
    out = []
    for start in range(0, samples.shape[1], per_pixel):
        chunk = samples[:, start:start + per_pixel].astype(np.float64)
        out.append(np.stack([chunk.min(axis=1), chunk.max(axis=1)], axis=-1))
    return np.clip(np.floor(np.array(out) * scale), -scale, scale - 1).astype(np.int64)


@pytest.fixture(scope="module")
def track(tmp_path_factory):
    from _signals import noise

    rate = 44100
    quiet = 0.01 * noise(rate, duration_s=3.0, channels=2, seed=3)
    loud = 0.9 * noise(rate, duration_s=2.345678, channels=2, seed=4)
    samples = np.concatenate([quiet, loud, np.zeros((2, 1000), np.float32)], axis=1)
    path = tmp_path_factory.mktemp("peaks") / "track.flac"
    audiokit.write(path, audiokit.Audio(samples, rate), bit_depth=24)
    return path


@pytest.mark.parametrize("bits", [8, 16])
def test_every_zoom_level_equals_a_direct_min_max(track, bits):
    decoded = audiokit.read(track).samples
    levels = waveform_peaks(track, samples_per_pixel=(100, 256, 4410), bits=bits)
    for level in levels:
        expected = _reference(decoded, level.samples_per_pixel, bits)
        np.testing.assert_array_equal(level.data, expected)
        assert level.length == -(-decoded.shape[1] // level.samples_per_pixel)
    # quiet (noise peaking near 0.0025) then loud (near 0.23): the envelope shows it
    envelope = np.abs(levels[2].data.astype(np.int64)) / 2 ** (bits - 1)
    assert envelope[:25].max() < 0.02 and envelope[35:60].max() > 0.15


def test_chunking_does_not_change_the_peaks(rng):
    samples = rng.uniform(-1, 1, (2, 10_007)).astype(np.float32)
    whole = PeaksBuilder(8000, 2, samples_per_pixel=(7, 64))
    whole.process(samples)
    pieces = PeaksBuilder(8000, 2, samples_per_pixel=(7, 64))
    for start in range(0, samples.shape[1], 333):
        pieces.process(samples[:, start:start + 333])
    for a, b in zip(whole.flush(), pieces.flush(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_mono_uses_the_downmix_and_bad_options_raise(track):
    (mono,) = waveform_peaks(track, samples_per_pixel=(512,), mono=True)
    assert mono.channels == 1
    np.testing.assert_array_equal(mono.data, _reference(audiokit.read(track, mono=True).samples, 512, 8))
    with pytest.raises(ParameterError, match="bits"):
        PeaksBuilder(44100, 2, bits=12)
    with pytest.raises(ParameterError, match="samples_per_pixel"):
        PeaksBuilder(44100, 2, samples_per_pixel=(0,))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (Debian package nodejs)")
@pytest.mark.parametrize("bits", ["8", "16"])
def test_peaks_js_parser_reads_what_the_cli_writes(track, tmp_path, bits):
    if not WAVEFORM_DATA.is_dir():
        pytest.skip("waveform-data is not installed: run `make player-deps` (npm ci in tests/players)")
    out = tmp_path / "track.json"
    result = CliRunner().invoke(peaks_command, [str(track), "-o", str(out), "--pixels-per-second", "20",
                                                "--bits", bits])
    assert result.exit_code == 0, result.output
    script = (
        "const WaveformData = require('waveform-data');"
        "const doc = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));"
        "const w = WaveformData.create(doc);"
        "const channels = [];"
        "for (let c = 0; c < w.channels; c++) channels.push({min: w.channel(c).min_array(), max: w.channel(c).max_array()});"
        "console.log(JSON.stringify({length: w.length, channels: w.channels, sample_rate: w.sample_rate,"
        " scale: w.scale, bits: w.bits, duration: w.duration, data: channels}));"
    )
    parsed = json.loads(subprocess.run(["node", "-e", script, str(out)], cwd=PLAYERS, capture_output=True,
                                       text=True, timeout=60, check=True).stdout)
    ours = waveform_peaks(track, samples_per_pixel=(2205,), bits=int(bits))[0]
    assert (parsed["length"], parsed["channels"], parsed["sample_rate"], parsed["scale"], parsed["bits"]) == (
        ours.length, 2, 44100, 2205, int(bits))
    assert parsed["duration"] == pytest.approx(audiokit.probe(track).duration_s, abs=2205 / 44100)
    for channel in range(2):
        assert parsed["data"][channel]["min"] == ours.data[:, channel, 0].tolist()
        assert parsed["data"][channel]["max"] == ours.data[:, channel, 1].tolist()


@pytest.mark.parametrize("bits", [8, 16])
def test_written_peaks_read_back_exactly(track, tmp_path, bits):
    (level,) = waveform_peaks(track, samples_per_pixel=(512,), bits=bits)
    write_peaks(tmp_path / "peaks.json", level)
    again = WaveformPeaks.from_dict(json.loads((tmp_path / "peaks.json").read_text()))
    np.testing.assert_array_equal(again.data, level.data)
    assert (again.sample_rate, again.samples_per_pixel, again.bits, again.data.dtype) == \
        (level.sample_rate, 512, bits, level.data.dtype)
    with pytest.raises(FormatError, match="not audiowaveform JSON"):
        WaveformPeaks.from_dict({**level.to_dict(), "bits": 12})
