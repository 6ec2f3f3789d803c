"""normalize_file on the streaming engine: exact output, the encoder in its own thread, failures, progress.

The programme is a podcast episode read by espeak-ng (tests/_episodes.py), as
a 44.1 kHz stereo master. Headroom mode is a plain gain, so its lossless
output is checked sample for sample against the decoded input times that
gain, quantized here to the output's bit depth; the gain itself against
pyloudnorm's integrated loudness of the input.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import resource
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

import audiokit
from audiokit.errors import FormatError
from audiokit.loudness import normalize_file

_episodes = pytest.importorskip("_episodes")

#: A loudness target the episode reaches by gain alone: its true peak stays under -1 dBTP.
HEADROOM_TARGET_LUFS = -24.0
#: pyloudnorm and audiokit agree within this on speech (test_loudness_crosscheck.PYLOUDNORM_TOL_LU, on music and noise).
PYLOUDNORM_TOL_LU = 0.01
#: Largest file (bytes) the process may write while an encode must fail part-way (RLIMIT_FSIZE).
FILE_SIZE_LIMIT_BYTES = 1 << 20


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """1.5 minutes of the espeak episode as a 44.1 kHz stereo float WAV, and its samples."""
    if not _episodes.available():
        pytest.skip("espeak-ng (Debian package espeak-ng / libespeak-ng1) is not installed")
    stereo = _episodes.quiet_stereo_master(1.5)
    path = tmp_path_factory.mktemp("streaming") / "episode.wav"
    audiokit.write(path, audiokit.Audio(stereo, 44100), codec="pcm_f32le")
    return path, stereo


def _quantized(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """What a ``bit_depth``-bit integer file holds for float ``samples``, read back as float (round half to even)."""
    full_scale = 2.0 ** (bit_depth - 1)
    return (np.clip(np.round(samples.astype(np.float64) * full_scale), -full_scale, full_scale - 1)
            / full_scale).astype(np.float32)


@pytest.mark.parametrize(("suffix", "options", "bit_depth"), [
    (".wav", {"codec": "pcm_f32le"}, None),
    (".wav", {"bit_depth": 16}, 16),
    (".flac", {"bit_depth": 24}, 24),
])
def test_headroom_output_is_the_source_times_the_gain(master, tmp_path, suffix, options, bit_depth):
    import pyloudnorm

    path, _ = master
    source, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)  # libsndfile, not audiokit's reader
    source = source.T
    out = tmp_path / f"out{suffix}"
    report = normalize_file(path, out, target_lufs=HEADROOM_TARGET_LUFS, mode="headroom", **options)
    reference_lufs = pyloudnorm.Meter(sample_rate, filter_class="DeMan").integrated_loudness(source.T.astype(np.float64))
    assert report.gain_db == pytest.approx(HEADROOM_TARGET_LUFS - reference_lufs, abs=PYLOUDNORM_TOL_LU)
    expected = source * np.float32(10.0 ** (report.gain_db / 20.0))
    if bit_depth is not None:
        expected = _quantized(expected, bit_depth)
    decoded, decoded_rate = soundfile.read(out, dtype="float32", always_2d=True)
    assert decoded_rate == sample_rate
    np.testing.assert_array_equal(decoded.T, expected)
    assert report.limiter_max_reduction_db == 0.0


def test_the_encoder_runs_in_its_own_thread_beside_the_decode(master, tmp_path, monkeypatch):
    """Every block reaches the writer in a thread of its own while the pass is still decoding."""
    from audiokit.io.writer import AudioWriter

    path, _ = master
    writes: list[tuple[str, int]] = []  # (thread, blocks the pass had counted when the writer got a block)
    write = AudioWriter.write

    def recording_write(self, block):
        writes.append((threading.current_thread().name, len(seconds)))
        write(self, block)

    monkeypatch.setattr(AudioWriter, "write", recording_write)
    seconds: list[float] = []

    report = normalize_file(path, tmp_path / "out.flac", preset="podcast", progress=seconds.append)
    assert {name for name, _ in writes} == {"encode out.flac"}  # never the caller's thread
    duration_s = audiokit.probe(path).duration_s
    # Limit mode: the input's measurement, 1+ limiter passes, the encode, the written file decoded back.
    assert report.mode == "limit" and report.level_match.encodes == 1
    passes = round(sum(seconds) / duration_s)
    assert sum(seconds) == pytest.approx(passes * duration_s, rel=1e-6) and passes >= 4
    # Every pass decodes as many blocks (the last one decodes the FLAC written, as long as the input).
    blocks_per_pass = len(seconds) // passes
    assert len(seconds) == passes * blocks_per_pass
    # The encoder starts on the first blocks of the encoding pass, not after it has decoded the input.
    encoding_pass_starts = (passes - 2) * blocks_per_pass
    assert encoding_pass_starts <= min(at for _, at in writes) < encoding_pass_starts + blocks_per_pass // 2
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("encode ")]


def test_an_encoder_failing_part_way_raises_its_format_error_and_leaves_nothing(master, tmp_path):
    """The file system refuses the output once it passes 1 MB (RLIMIT_FSIZE): the encoder thread's FormatError
    names the output, and neither the output nor a temporary file is left."""
    path, _ = master
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    normalize_file(path, out_dir / "warm-up.flac", preset="podcast")  # every kernel loaded before the limit
    (out_dir / "warm-up.flac").unlink()
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write(2) then fails with EFBIG
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT_BYTES, hard))
    try:
        with pytest.raises(FormatError, match=r"out\.flac: encoding failed \(File too large\)"):
            normalize_file(path, out_dir / "out.flac", preset="podcast")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert os.listdir(out_dir) == []
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("encode ")]


class _Interrupted(Exception):
    """Stands for Ctrl-C arriving in the main thread during the encoding pass."""


def test_a_failure_beside_the_encoder_stops_it_and_removes_its_temporary_file(master, tmp_path):
    path, _ = master
    duration_s = audiokit.probe(path).duration_s
    heard = [0.0]

    def progress(seconds: float) -> None:
        heard[0] += seconds
        if heard[0] > 1.5 * duration_s:  # headroom mode: half-way through the encoding pass, after the measurement
            raise _Interrupted

    out = tmp_path / "out.flac"
    with pytest.raises(_Interrupted):
        normalize_file(path, out, target_lufs=HEADROOM_TARGET_LUFS, mode="headroom", progress=progress)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("encode ")]


def test_the_cli_shows_progress_on_a_terminal(master, tmp_path):
    """``audiokit normalize`` on a terminal redraws a bar on stderr counting the seconds of audio processed."""
    path, _ = master
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    command = [sys.executable, "-m", "audiokit.cli.main", "normalize", str(path), str(tmp_path / "out.flac"),
               "--preset", "podcast"]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary) as process:
        os.close(secondary)
        shown = b""
        while True:
            ready, _, _ = select.select([primary], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                shown += chunk
            elif process.poll() is not None:
                break
        stdout = process.stdout.read().decode()
    os.close(primary)
    assert process.returncode == 0, shown.decode(errors="replace")
    counts = [int(n) for n in re.findall(rb"episode\.wav: (\d+) s of audio processed", shown)]
    assert len(set(counts)) >= 3 and max(counts) > 2 * audiokit.probe(path).duration_s, shown[-500:]
    assert "out.flac" in stdout and Path(tmp_path / "out.flac").exists()
