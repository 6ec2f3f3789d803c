"""The streaming ladder: blocks in, the same renditions out; failures anywhere stop it cleanly."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _ladder_signals import music

import audiokit
from audiokit._arrays import BLOCK_FRAMES
from audiokit.channels import downmix
from audiokit.errors import FormatError
from audiokit.io.resample import resample
from audiokit.io.source import ArrayReader
from audiokit.io.writer import AudioWriter
from audiokit.transcode import build_ladder
from audiokit.transcode.encode import encode_blocks
from audiokit.transcode.engine import QUEUE_DEPTH
from audiokit.transcode.qa import RenditionAnalysis
from audiokit.transcode.rungs import parse_rungs, resolve_rung

#: Long enough that a stalled encoder's queue fills and the pass waits on it: QUEUE_DEPTH + 5 blocks.
LONG_S = (QUEUE_DEPTH + 5) * BLOCK_FRAMES / 44100
RUNGS = [
    {"name": "opus-96", "codec": "opus", "bitrate_bps": 96_000},
    {"name": "aac-128", "codec": "aac", "bitrate_bps": 128_000},
    {"name": "mp3-128-mono", "codec": "mp3", "bitrate_bps": 128_000, "num_channels": 1},
    {"name": "flac", "codec": "flac"},
]


def _surround(seconds: float) -> audiokit.Audio:
    """5.1 music at 44.1 kHz: the rungs need a 48 kHz stereo, a 44.1 kHz stereo and a 44.1 kHz mono master."""
    return audiokit.Audio(0.5 * music(44100, channels=6, duration_s=seconds), 44100)


def test_streamed_renditions_equal_whole_master_encodes(tmp_path):
    """Chunked == whole: each rendition decodes to exactly what encoding its whole master at once gives."""
    audio = _surround(LONG_S)
    result = build_ladder(audio, tmp_path / "out", rungs=RUNGS, qa="off")
    for resolved in (resolve_rung(rung, source_rate=44100, source_channels=6, source_bit_depth=None)
                     for rung in parse_rungs(RUNGS)):
        master = downmix(audio.samples, resolved.num_channels)
        if resolved.sample_rate != audio.sample_rate:
            master = resample(master, audio.sample_rate, resolved.sample_rate)
        whole = encode_blocks([master], resolved, tmp_path / f"whole{resolved.spec.extension}", tags={})
        streamed = tmp_path / "out" / resolved.file_name
        assert np.array_equal(audiokit.read(streamed).samples, audiokit.read(whole).samples), resolved.rung.name
    assert len(result.renditions) == len(RUNGS)


def _failing_after(blocks: int, error: Exception, codec: str, monkeypatch) -> None:
    """Make ``AudioWriter.write`` of ``codec`` raise ``error`` on its ``blocks + 1``-th call."""
    original, calls = AudioWriter.write, {}

    def write(self, block):
        if self.codec == codec:
            calls[self] = calls.get(self, 0) + 1
            if calls[self] > blocks:
                raise error
        original(self, block)

    monkeypatch.setattr(AudioWriter, "write", write)


@pytest.mark.parametrize("qa", ["off", "fast"])
def test_an_encoder_failing_mid_pass_stops_everything_and_leaves_nothing(tmp_path, monkeypatch, qa):
    _failing_after(2, FormatError("aac encoder broke"), "aac", monkeypatch)
    before = threading.active_count()
    with pytest.raises(FormatError, match="aac encoder broke"):
        build_ladder(_surround(LONG_S), tmp_path / "out", rungs=RUNGS, qa=qa)
    assert list(tmp_path.iterdir()) == []  # neither out_dir nor the staging folder
    assert threading.active_count() == before  # every encoder thread ended


def test_a_source_failing_mid_pass_stops_every_encoder(tmp_path, monkeypatch):
    original = ArrayReader.blocks

    def blocks(self, num_frames=BLOCK_FRAMES):
        for index, block in enumerate(original(self, num_frames)):
            if index == QUEUE_DEPTH + 3:
                raise FormatError("source.flac: decoding failed (invalid data); the file is corrupt")
            yield block

    monkeypatch.setattr(ArrayReader, "blocks", blocks)
    before = threading.active_count()
    with pytest.raises(FormatError, match="decoding failed"):
        build_ladder(_surround(LONG_S), tmp_path / "out", rungs=RUNGS)
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == before


def test_normalize_measures_then_encodes_and_reports_the_source_before(tmp_path):
    audio = audiokit.Audio(music(48000, duration_s=4.0), 48000)
    result = build_ladder(audio, tmp_path / "out", rungs=[{"name": "f", "codec": "flac"}], normalize="spotify")
    original = audiokit.loudness.measure(audio.samples, 48000)
    assert result.source_loudness.integrated_lufs == original.integrated_lufs  # the source as given
    assert result.source_integrated_lufs == pytest.approx(-14.0, abs=0.05)  # as encoded
    decoded = audiokit.read(tmp_path / "out" / "f.flac").samples
    assert audiokit.loudness.measure(decoded, 48000).integrated_lufs == pytest.approx(-14.0, abs=0.05)


def test_an_error_after_the_pass_waits_for_every_thread_and_leaves_nothing(tmp_path, monkeypatch):
    """A rendition's QA raising while the others are still being checked: all finish, then the error, no files."""
    original = RenditionAnalysis.finish

    def finish(self, **kwargs):
        if self.resolved.rung.codec == "aac":
            raise FormatError("aac rendition could not be decoded back")
        if self.resolved.rung.codec in ("mp3", "flac"):
            time.sleep(1.0)  # still being checked when the aac error is collected
        return original(self, **kwargs)

    monkeypatch.setattr(RenditionAnalysis, "finish", finish)
    before = threading.active_count()
    with pytest.raises(FormatError, match="decoded back"):
        build_ladder(_surround(LONG_S / 3), tmp_path / "out", rungs=RUNGS, max_workers=len(RUNGS))
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == before


class _Collector:
    """A consumer that keeps every block it is given and counts its flushes."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.flushes = 0

    def process(self, block: np.ndarray) -> None:
        self.blocks.append(block.copy())

    def flush(self) -> None:
        self.flushes += 1


def test_consumers_ride_the_pass_and_see_the_source_once(tmp_path):
    """A hot 5.1 source (its groups encoded twice): a rider still sees every source frame once, unchanged."""
    source = audiokit.Audio(np.clip(3.0 * _surround(LONG_S).samples, -1.5, 1.5), 44100)
    rider = _Collector()
    build_ladder(source, tmp_path / "out", rungs=RUNGS[:2], qa="off", consumers=[rider])
    assert rider.flushes == 1
    np.testing.assert_array_equal(np.concatenate(rider.blocks, axis=1), source.samples)
