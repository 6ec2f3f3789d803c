"""MP4 packets wait on disk until the writer closes: same bytes as direct muxing, nothing left behind."""

from __future__ import annotations

import errno
import hashlib
import os
import threading

import numpy as np
import pytest

from audiokit.errors import FormatError
from audiokit.io import _packet_spill
from audiokit.io.writer import AudioWriter

RATE = 48000


def _signal(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    return (0.2 * rng.standard_normal((2, round(seconds * RATE)))).astype(np.float32)


def _write(path, samples, codec, *, spilled: bool) -> str:
    writer = AudioWriter(path, RATE, 2, codec=codec, tags={"title": "Episode", "artist": "Host"},
                         bitrate_bps=128_000 if codec == "aac" else None)
    if not spilled:  # what the writer would give muxing each packet as it is encoded
        writer._spill.discard()
        writer._spill = None
    for start in range(0, samples.shape[1], 10_000):
        writer.write(samples[:, start:start + 10_000])
    writer.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("codec", "suffix"), [("aac", ".m4a"), ("alac", ".m4a"), ("aac", ".mp4")])
def test_spilled_packets_mux_to_the_same_bytes(tmp_path, codec, suffix):
    samples = _signal(7.3)  # not a whole number of AAC frames: the edit list's end trim is in the bytes
    spilled = _write(tmp_path / f"spilled{suffix}", samples, codec, spilled=True)
    direct = _write(tmp_path / f"direct{suffix}", samples, codec, spilled=False)
    assert spilled == direct
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"direct{suffix}", f"spilled{suffix}"]


def test_packets_wait_on_disk_until_close(tmp_path):
    writer = AudioWriter(tmp_path / "out.m4a", RATE, 2, codec="aac", bitrate_bps=128_000)
    writer.write(_signal(20.0))
    assert writer._spill.count >= 20 * RATE // 1024 - 4  # every frame the encoder gave out (it holds a few)...
    assert not writer._temp_path.exists()  # ...and none reached the muxer, which creates the file with its header
    writer.close()
    assert (tmp_path / "out.m4a").stat().st_size > 20 * 128_000 // 8 * 0.8


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), AudioWriter(tmp_path / "out.m4a", RATE, 2, codec="aac") as writer:
        writer.write(_signal(3.0))
        raise RuntimeError("the source failed")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_a_clean_error_and_leaves_nothing(tmp_path, monkeypatch):
    def full(self, packet):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_packet_spill.PacketSpill, "add", full)
    with pytest.raises(FormatError, match="out.m4a: encoding failed.*No space left"), \
            AudioWriter(tmp_path / "out.m4a", RATE, 2, codec="aac") as writer:
        writer.write(_signal(3.0))
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_refuses_the_packets_file_is_a_clean_error(tmp_path, monkeypatch):
    def refused(**options):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_packet_spill.tempfile, "TemporaryFile", refused)
    with pytest.raises(FormatError, match="out.m4a: cannot start encoding.*Read-only file system"):
        AudioWriter(tmp_path / "out.m4a", RATE, 2, codec="aac")
    assert list(tmp_path.iterdir()) == []


def test_one_mp4_finishes_at_a_time(tmp_path, monkeypatch):
    """Two writers closing at once mux one after the other: one muxer index in memory at most."""
    muxing: set[int] = set()
    most = [0]
    original = _packet_spill.PacketSpill.mux

    class SpiedContainer:  # the real container, its muxing counted (under the spill's lock, as it runs)
        def __init__(self, spill, container):
            self.spill, self.container = spill, container

        def mux(self, packet):
            muxing.add(id(self.spill))
            most[0] = max(most[0], len(muxing))
            self.container.mux(packet)

        def close(self):
            self.container.close()
            muxing.discard(id(self.spill))

    def spied_mux(self, container, stream):
        original(self, SpiedContainer(self, container), stream)

    monkeypatch.setattr(_packet_spill.PacketSpill, "mux", spied_mux)
    samples = _signal(30.0)
    writers = [AudioWriter(tmp_path / f"{index}.m4a", RATE, 2, codec="aac") for index in range(2)]
    for writer in writers:
        writer.write(samples)
    threads = [threading.Thread(target=writer.close) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
    assert all((tmp_path / f"{index}.m4a").stat().st_size for index in range(2))
