"""Scenes and the spatial CLI commands (through click's CliRunner)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _spatial_helpers import write_sofa
from click.testing import CliRunner

from audiokit.errors import ParameterError
from audiokit.spatial import load_scene, render_scene

SCENE = {
    "hrtf": "spherical-head",
    "sample_rate": 16000,
    "block_size": 256,
    "duration_s": 0.5,
    "listener": {"orientation": [[0.0, 0.0, 0.0], [0.5, 90.0, 0.0]]},
    "sources": [
        {"signal": {"type": "noise", "seed": 1}, "gain_db": -6.0,
         "trajectory": [[0.0, 0.0, 0.0, 1.0], [0.5, 180.0, 20.0, 2.0]]},
        {"signal": {"type": "sine", "frequency_hz": 300.0}, "position": [90.0, 0.0, 1.0]},
    ],
}


def test_scene_renders_two_channels_with_tail():
    audio = render_scene(load_scene(SCENE))
    assert audio.num_channels == 2 and audio.sample_rate == 16000
    assert audio.num_frames > 8000
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0.01


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"sample_rate": 100}, r"scene\.sample_rate"),
        ({"sources": [{"signal": {"type": "pink"}, "position": [0, 0, 1]}]}, r"scene\.sources\[0\]\.signal\.type"),
        ({"sources": [{"signal": {"type": "noise"}, "trajectory": [[0, 0, 0, 1], [0, 1, 0, 1]]}]},
         r"scene\.sources\[0\]\.trajectory\[1\]\[0\]"),
        ({"sources": [{"signal": {"type": "noise"}, "position": [0, 95, 1]}]}, r"scene\.sources\[0\]\.position\[0\]\[2\]"),
        ({"listener": {"orientation": [[0, 1]]}}, r"scene\.listener\.orientation\[0\]"),
        ({"colour": 1}, r"scene\.colour"),
    ],
)
def test_scene_errors_name_the_json_path(patch, match):
    with pytest.raises(ParameterError, match=match):
        load_scene({**SCENE, **patch})


def test_hrtf_info_json(tmp_path):
    from audiokit.cli.spatial import hrtf

    path = write_sofa(tmp_path / "s.sofa")
    result = CliRunner().invoke(hrtf, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["num_measurements"] == 14 and document["convention"] == "SimpleFreeFieldHRIR"


def test_spatial_render_and_binaural_commands(tmp_path):
    import audiokit
    from audiokit.cli.spatial import spatial

    scene = tmp_path / "scene.json"
    scene.write_text(json.dumps(SCENE))
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(spatial, ["render", str(scene), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert audiokit.read(out).num_channels == 2
    out2 = tmp_path / "b.wav"
    result = CliRunner().invoke(spatial, ["binaural", str(out), str(out2), "--azimuth", "30"])
    assert result.exit_code == 0, result.output
    assert audiokit.read(out2).num_channels == 2
