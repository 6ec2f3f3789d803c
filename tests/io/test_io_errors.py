"""Bad input: every case is a FormatError or ParameterError naming the file; no hang, no partial output."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

import audiokit
from audiokit.errors import AudiokitError, FormatError, ParameterError


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 3 * 44100)).astype(np.float32)
    audio = audiokit.Audio(samples, 44100)
    return {ext: audiokit.write(folder / f"ok.{ext}", audio) for ext in ("flac", "mp3", "m4a", "wav")}


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


def _truncated(tmp_path, source, name):
    data = source.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    return path


def _video_only(path):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


BAD_INPUTS = {
    "missing": (lambda tmp, good: tmp / "nope.wav", "no such file"),
    "directory": (lambda tmp, good: tmp, "is a directory"),
    "empty": (lambda tmp, good: _file(tmp / "empty.flac", b""), "empty"),
    "random bytes": (lambda tmp, good: _file(tmp / "r.bin", np.random.default_rng(1).bytes(65536)),
                     "not a readable media file"),
    "random bytes named mp3": (lambda tmp, good: _file(tmp / "r.mp3", np.random.default_rng(2).bytes(65536)),
                               "r.mp3"),
    "truncated flac": (lambda tmp, good: _truncated(tmp, good["flac"], "t.flac"), "truncated"),
    "truncated mp3": (lambda tmp, good: _truncated(tmp, good["mp3"], "t.mp3"), "truncated MP3"),
    "truncated m4a": (lambda tmp, good: _truncated(tmp, good["m4a"], "t.m4a"), "t.m4a"),
    "zero-length stream": (lambda tmp, good: soundfile.write(tmp / "z.wav", np.zeros((0, 2)), 44100)
                           or tmp / "z.wav", "no samples"),
    "no audio stream": (lambda tmp, good: _video_only(tmp / "v.mkv"), "has no audio stream"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_format_error_naming_the_file(tmp_path, good_files, case):
    make, message = BAD_INPUTS[case]
    path = make(tmp_path, good_files)
    with pytest.raises(FormatError, match=message) as caught:
        audiokit.read(path)
    assert str(path) in str(caught.value)
    if case != "truncated flac":  # a FLAC header is intact when its frames are cut; decoding finds out
        with pytest.raises(FormatError, match=message):
            audiokit.probe(path)


def test_bad_output_path_leaves_nothing_behind(tmp_path):
    audio = audiokit.Audio(np.zeros((2, 100), np.float32), 44100)
    with pytest.raises(ParameterError, match="extension"):
        audiokit.write(tmp_path / "out.xyz", audio)
    with pytest.raises(ParameterError, match="does not exist"):
        audiokit.write(tmp_path / "missing" / "out.wav", audio)
    with pytest.raises(ParameterError, match="cannot be written"):
        audiokit.write(tmp_path / "out.mp3", audio, codec="flac")
    with pytest.raises(ParameterError, match="bit_depth"):
        audiokit.write(tmp_path / "out.mp3", audio, bit_depth=24)
    with pytest.raises(ParameterError, match="at least one frame"):
        audiokit.write(tmp_path / "out.wav", audiokit.Audio(np.zeros((2, 0), np.float32), 44100))
    with pytest.raises(ParameterError, match="MP3 supports"):
        audiokit.write(tmp_path / "out.mp3", audiokit.Audio(np.zeros((2, 100), np.float32), 96000))
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "track.flac"
    audiokit.write(path, audiokit.Audio(np.full((1, 1000), 0.25, np.float32), 44100))
    before = path.read_bytes()
    with pytest.raises(ValueError):
        with audiokit.io.writer.AudioWriter(path, 44100, 1) as writer:
            writer.write(np.zeros((1, 500), np.float32))
            raise ValueError("crash mid-write")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["track.flac"]


def test_writer_rejects_blocks_with_the_wrong_channel_count(tmp_path):
    with audiokit.io.writer.AudioWriter(tmp_path / "x.wav", 8000, 2) as writer:
        with pytest.raises(ParameterError, match="3 channels"):
            writer.write(np.zeros((3, 10), np.float32))
        writer.write(np.zeros((2, 10), np.float32))


def test_write_requires_audio(tmp_path):
    with pytest.raises(ParameterError, match="audiokit.Audio"):
        audiokit.write(tmp_path / "x.wav", np.zeros((2, 10), np.float32))


def test_non_path_argument_is_a_parameter_error():
    with pytest.raises(ParameterError, match="path"):
        audiokit.read(12345)


def test_errors_are_one_family():
    for error in (FormatError, ParameterError, audiokit.ModelError, audiokit.MissingDependencyError):
        assert issubclass(error, AudiokitError)
    assert issubclass(ParameterError, ValueError)
    assert issubclass(audiokit.MissingDependencyError, ImportError)
