"""Scenes and the spatial CLI commands (through click's CliRunner)."""

from __future__ import annotations

import json
import re
from pathlib import Path

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


SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "spatial-scene.schema.json").read_text())


def _signal_source(**fields):
    return {"signal": {"type": "noise"}, "position": [0, 0, 1], **fields}


#: (patch of SCENE, JSON path the error must name); the schema rejects each too
BAD_SCENES = [
    ({"sample_rate": 100}, r"sample_rate: 100; expected an integer 8000\.\.384000 Hz"),
    ({"sources": [{"signal": {"type": "pink"}, "position": [0, 0, 1]}]}, r"sources\[0\]\.signal\.type"),
    ({"sources": [_signal_source(), _signal_source(), _signal_source(position=[0, 95, 1])]},
     r"sources\[2\]\.position\[1\] \(elevation_deg\): 95 is out of range"),
    ({"sources": [_signal_source(position=["left", 0, 1])]}, r"sources\[0\]\.position\[0\] \(azimuth_deg\)"),
    ({"sources": [_signal_source(position=[0, 0, 0])]}, r"sources\[0\]\.position\[2\] \(distance_m\)"),
    ({"sources": [_signal_source(position=[0, 0, 25])]}, r"sources\[0\]\.position\[2\] \(distance_m\)"),
    ({"sources": [{"signal": {"type": "noise"}, "trajectory": [[0, 0, 0, 1], [1, 0, -91, 1]]}]},
     r"sources\[0\]\.trajectory\[1\]\[2\] \(elevation_deg\)"),
    ({"sources": [_signal_source(gain_db=100)]}, r"sources\[0\]\.gain_db"),
    ({"sources": [_signal_source(colour=1)]}, r"sources\[0\]\.colour: unknown field"),
    ({"sources": [{"signal": {"type": "sine", "seed": 3}, "position": [0, 0, 1]}]}, r"sources\[0\]\.signal\.seed: unknown"),
    ({"sources": [{"signal": {"type": "noise", "seed": -1}, "position": [0, 0, 1]}]}, r"sources\[0\]\.signal\.seed"),
    ({"sources": [{"signal": {"type": "noise"}}]}, r"sources\[0\]: give exactly one of 'position'"),
    ({"sources": [{"position": [0, 0, 1]}]}, r"sources\[0\]: give exactly one of 'audio'"),
    ({"sources": []}, r"sources: \[\]; expected a non-empty list"),
    ({"listener": {"orientation": [[0, 1]]}}, r"listener\.orientation\[0\]: \[0, 1\]; expected \[t_s, yaw_deg, pitch_deg\]"),
    ({"listener": {"orientation": [[0, 0, 0]], "yaw_deg": 3}}, r"listener\.yaw_deg: give either"),
    ({"block_size": 0}, r"block_size"),
    ({"colour": 1}, r"^scene: colour: unknown field"),
]


@pytest.mark.parametrize(("patch", "match"), BAD_SCENES)
def test_scene_errors_name_the_json_path_and_the_schema_agrees(patch, match):
    import jsonschema

    scene = {**SCENE, **patch}
    with pytest.raises(ParameterError, match=match):
        load_scene(scene)
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(scene)


def test_schema_accepts_the_example_scenes_and_the_loader_checks_what_it_cannot(tmp_path):
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.check_schema(SCHEMA)
    audio_scene = {"hrtf": "hrtf.sofa", "sample_rate": 48000, "listener": {"yaw_deg": 10.0},
                   "sources": [{"audio": "voice.wav", "position": [30.0, 0.0, 2.0], "gain_db": -3}]}
    for scene in (SCENE, audio_scene):
        validator.validate(scene)
    # keyframe order and duration_s with built-in signals: the loader's own checks
    backwards = {**SCENE, "sources": [{"signal": {"type": "noise"}, "trajectory": [[0, 0, 0, 1], [0, 1, 0, 1]]}]}
    validator.validate(backwards)
    with pytest.raises(ParameterError, match=r"sources\[0\]\.trajectory\[1\]\[0\] \(t_s\): 0\.0 is not after"):
        load_scene(backwards)
    no_duration = {k: v for k, v in SCENE.items() if k != "duration_s"}
    with pytest.raises(ParameterError, match=r"duration_s: missing"):
        load_scene(no_duration)
    path = tmp_path / "scene.json"
    path.write_text(json.dumps({**SCENE, "block_size": -1}))
    with pytest.raises(ParameterError, match=rf"^{re.escape(str(path))}: block_size"):
        load_scene(path)


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
    assert audiokit.probe(out).codec == "pcm_f32le"                  # the renderer's float
    # the command writes exactly what the API renders (float32 stored losslessly)
    np.testing.assert_array_equal(audiokit.read(out).samples, render_scene(load_scene(SCENE)).samples)
    cut = tmp_path / "cut.wav"
    result = CliRunner().invoke(spatial, ["render", str(scene), "-o", str(cut), "--no-tail", "--subtype", "pcm24"])
    assert result.exit_code == 0, result.output
    info = audiokit.probe(cut)
    assert (info.num_frames, info.bit_depth) == (8000, 24)     # 0.5 s at 16 kHz, no tail
    out2 = tmp_path / "b.wav"
    result = CliRunner().invoke(spatial, ["binaural", str(out), "-o", str(out2), "--azimuth", "30"])
    assert result.exit_code == 0, result.output
    assert audiokit.read(out2).num_channels == 2


def _binaural(source, output, *options):
    from audiokit.cli.spatial import spatial

    return CliRunner().invoke(spatial, ["binaural", str(source), "-o", str(output), *map(str, options)])


def test_binaural_cli_at_a_measured_direction_is_the_convolution_with_the_sofa_ir(tmp_path):
    """Float in, float out, full convolution length; the measured KEMAR IR read with h5py."""
    import soundfile
    from _signals import noise
    from _spatial_helpers import KEMAR_PATH, convolve_measured, kemar_file, relative_error_db

    irs, positions, rate = kemar_file()
    x = noise(rate, duration_s=0.2, seed=31)[0]
    source = tmp_path / "in.wav"
    soundfile.write(source, x, rate, subtype="FLOAT")
    for row in (300, 500):                       # 200°/0° (given as -160°) and 144°/30°
        azimuth = positions[row, 0] - 360.0 if positions[row, 0] > 180 else positions[row, 0]
        out = tmp_path / f"out{row}.wav"
        result = _binaural(source, out, "--hrtf", KEMAR_PATH, "--azimuth", azimuth,
                           "--elevation", positions[row, 1], "--block-size", 256)
        assert result.exit_code == 0, result.output
        samples, out_rate = soundfile.read(out, dtype="float64", always_2d=True)
        assert soundfile.info(str(out)).subtype == "FLOAT" and out_rate == rate
        reference = convolve_measured(x, irs[row])
        assert samples.shape == (len(x) + irs.shape[2] - 1, 2)
        assert relative_error_db(samples.T, reference) <= -100.0


def test_binaural_cli_subtype_and_tail(tmp_path):
    import soundfile
    from _signals import noise

    x = noise(16000, duration_s=0.1, seed=32)[0]
    pcm = tmp_path / "in16.wav"
    floating = tmp_path / "inf.wav"
    soundfile.write(pcm, x, 16000, subtype="PCM_24")
    soundfile.write(floating, x, 16000, subtype="FLOAT")
    cases = [((pcm, tmp_path / "a.wav"), "PCM_24"),                           # same as the input
             ((floating, tmp_path / "b.wav", "--subtype", "pcm16"), "PCM_16"),
             ((pcm, tmp_path / "c.wav", "--subtype", "float"), "FLOAT"),
             ((floating, tmp_path / "d.flac", "--subtype", "pcm24"), "PCM_24")]
    for args, subtype in cases:
        result = _binaural(*args)
        assert result.exit_code == 0, result.output
        assert soundfile.info(str(args[1])).subtype == subtype
    with_tail = soundfile.info(str(tmp_path / "a.wav")).frames
    assert with_tail > len(x)
    result = _binaural(pcm, tmp_path / "e.wav", "--no-tail")
    assert result.exit_code == 0, result.output
    assert soundfile.info(str(tmp_path / "e.wav")).frames == len(x)
    # a float input cannot keep its type in FLAC: a usage error naming the fix
    result = _binaural(floating, tmp_path / "f.flac")
    assert result.exit_code == 2 and "pass --subtype pcm24" in result.output
    assert not (tmp_path / "f.flac").exists()
    result = _binaural(floating, tmp_path / "g.mp3", "--subtype", "pcm16")
    assert result.exit_code == 2 and "lossy" in result.output
