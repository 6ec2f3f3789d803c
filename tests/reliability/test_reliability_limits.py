"""probe(max_duration_s=...): longer files are refused from their header, or once decoding passes the limit."""

from __future__ import annotations

import importlib
import re

import _corpus
import pytest

import audiokit
from audiokit.errors import DurationLimitError, FormatError, ParameterError


def test_a_declared_length_is_refused_before_decoding(tmp_path):
    """The FLAC claiming 2^36 - 1 samples: with no limit the decode finds it truncated; with one, its header is enough."""
    path = _corpus.flac_claiming_2_36_samples(tmp_path)
    with pytest.raises(FormatError, match="truncated FLAC"):
        audiokit.probe(path)
    with pytest.raises(DurationLimitError, match=rf"^{re.escape(str(path))}: its header declares 1558264\.8 s, longer than the limit "
                                          r"of 3600 s \(max_duration_s"):
        audiokit.probe(path, max_duration_s=3600)


@pytest.mark.parametrize("make, seconds, how", [
    (lambda folder: _corpus.flac(folder, duration_s=3.0), 3.0, "its header declares"),  # STREAMINFO
    (_corpus.vorbis_multipage, 6.0, "its header declares"),  # the last page's granule position
    (_corpus.mp4_aac_without_edit_list, 3.4, "its header declares"),  # the media header
    (lambda folder: _corpus.mp3(folder, xing=True), 3.0, "its header declares"),  # Xing/Info
    (lambda folder: _corpus.mp3(folder, xing=False), 3.0, "decoding stopped there"),  # a bitrate estimate only
    (_corpus.gsm_wav, 1.4, "decoding stopped there"),  # WAV through ffmpeg
    (_corpus.wav_streaming_header, 2.0, "lasts 2.0 s"),  # PCM WAV: libsndfile counts the frames
])
def test_longer_files_are_refused_and_shorter_ones_pass(tmp_path, make, seconds, how):
    path = make(tmp_path)
    info = audiokit.probe(path, max_duration_s=seconds + 1.0)
    assert info.duration_s == pytest.approx(seconds, abs=0.1)
    importlib.import_module("audiokit.io.probe")._CACHE.clear()  # from the file itself, not the remembered probe
    with pytest.raises(DurationLimitError, match=rf"^{re.escape(str(path))}: .*{how}.*longer than the limit of 1 s"):
        audiokit.probe(path, max_duration_s=1.0)
    # Remembered from the first probe: the limit applies to the remembered length too.
    audiokit.probe(path)
    with pytest.raises(DurationLimitError, match=rf"^{re.escape(str(path))}: lasts {seconds:.0f}\.\d s, longer than the limit of 1 s"):
        audiokit.probe(path, max_duration_s=1.0)


@pytest.mark.parametrize("limit", [0, -5.0, True, "60", float("nan")])
def test_a_bad_limit_is_a_parameter_error(tmp_path, limit):
    path = _corpus.flac(tmp_path)
    with pytest.raises(ParameterError, match="max_duration_s is"):
        audiokit.probe(path, max_duration_s=limit)
