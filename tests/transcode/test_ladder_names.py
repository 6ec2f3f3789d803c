"""``build_ladder(ladder=)``: a named set of rungs is a ladder; ``preset=`` is its deprecated spelling."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _ladder_signals import music

import audiokit
from audiokit.errors import ParameterError
from audiokit.transcode import DEFAULT_LADDER, LADDERS, build_ladder

RATE = 48000


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """1.7 s of music-like stereo as a 24-bit WAV file."""
    path = tmp_path_factory.mktemp("names") / "in.wav"
    audiokit.write(path, audiokit.Audio(music(RATE, duration_s=1.7), RATE), bit_depth=24)
    return path


def _files(result) -> dict[str, str]:
    return {rendition.path: rendition.sha256 for rendition in result.renditions}


def test_preset_keyword_warns_and_builds_the_same_ladder(source, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new keyword is silent
        new = build_ladder(source, tmp_path / "new", ladder="podcast", qa="off")
    with pytest.warns(FutureWarning, match="pass ladder=") as caught:
        old = build_ladder(source, tmp_path / "old", preset="podcast", qa="off")
    assert caught[0].filename == __file__  # the warning points at the caller
    assert old.ladder == new.ladder == "podcast"
    assert [r.name for r in old.renditions] == [rung.name for rung in LADDERS["podcast"]]
    assert _files(old) == _files(new)
    document = json.loads((tmp_path / "old" / "ladder.json").read_text())
    assert document["ladder"] == "podcast" and "preset" not in document


def test_default_and_custom_rungs(source, tmp_path):
    default = build_ladder(source, tmp_path / "default", qa="off")
    assert default.ladder == DEFAULT_LADDER == "spotify-like"
    assert [r.name for r in default.renditions] == [rung.name for rung in LADDERS[DEFAULT_LADDER]]
    custom = build_ladder(source, tmp_path / "custom", rungs=[{"name": "lossless", "codec": "flac"}], qa="off")
    assert custom.ladder is None and custom.to_dict()["ladder"] is None
    # the FLAC rung of the named ladder and the custom one hold the same samples, bit for bit
    np.testing.assert_array_equal(audiokit.read(tmp_path / "custom" / "lossless.flac").samples,
                                  audiokit.read(tmp_path / "default" / "flac.flac").samples)


@pytest.mark.parametrize("keywords, message", [
    ({"ladder": "podcast", "preset": "hls-aac"}, "pass ladder= only"),
    ({"ladder": "podcast", "rungs": [{"name": "x", "codec": "flac"}]}, "pass one of them"),
    ({"ladder": "spotify"}, "expected one of spotify-like, hls-aac, podcast"),
])
def test_conflicting_or_unknown_ladders_are_refused_before_any_work(source, tmp_path, keywords, message):
    with pytest.raises(ParameterError, match=message):
        build_ladder(source, tmp_path / "out", **keywords)
    assert list(tmp_path.iterdir()) == []


def test_source_name_names_the_source_in_ladder_json(source, tmp_path):
    result = build_ladder(source, tmp_path / "out", ladder="hls-aac", qa="off", source_name="<stdin>")
    assert result.source == "<stdin>"
    assert json.loads((tmp_path / "out" / "ladder.json").read_text())["source"] == "<stdin>"
    assert build_ladder(source, tmp_path / "named", ladder="hls-aac", qa="off").source == str(source)
