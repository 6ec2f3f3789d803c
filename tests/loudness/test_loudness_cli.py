"""``audiokit loudness`` and ``audiokit normalize`` on real files of every written format."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_loudness_crosscheck import music_like

import audiokit
import audiokit.loudness
from audiokit.cli.loudness import loudness, normalize
from audiokit.loudness import measure

#: lossless files must meet the target as tightly as the API does (issue 3: +-0.1 LU)
LOSSLESS_TOL_LU = 0.1
#: lossy outputs are decoded, measured and re-encoded until this close (ffmpeg-normalize's
#: and rsgain's users expect the delivered file on target, not the encoder's input)
LOSSY_TOL_LU = 0.1
#: ...and can overshoot a true-peak ceiling (decoded peaks are not the encoder's input's)
LOSSY_PEAK_SLACK_DB = 0.5
TAGS = {"title": "Song", "artist": "Someone", "REPLAYGAIN_TRACK_GAIN": "-3.00 dB"}
#: name -> write options; the formats `audiokit.write` produces
FORMATS = {
    "pcm16.wav": {},
    "pcm24.wav": {"bit_depth": 24},
    "float.wav": {"codec": "pcm_f32le"},
    "lossless.flac": {"bit_depth": 24},
    "lossy.mp3": {},
    "aac.m4a": {},
    "alac.m4a": {"codec": "alac", "bit_depth": 24},
    "opus.ogg": {},
}
LOSSY = {"lossy.mp3", "aac.m4a", "opus.ogg"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("formats")
    audio = audiokit.Audio(music_like(44100, 6.0, seed=5), 44100)
    return {name: str(audiokit.write(folder / name, audio, tags=TAGS, **options))
            for name, options in FORMATS.items()}


def test_loudness_jsonl_one_object_per_file(files):
    result = CliRunner().invoke(loudness, [*files.values(), "--jsonl"])
    assert result.exit_code == 0, result.output
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [document["file"] for document in documents] == list(files.values())
    for document in documents:
        assert set(document) == {"file", "integrated_lufs", "loudness_range_lu", "true_peak_dbtp",
                                 "sample_peak_dbfs", "momentary_max_lufs", "short_term_max_lufs"}
    decoded = audiokit.read(files["pcm24.wav"])
    assert documents[1]["integrated_lufs"] == measure(decoded.samples, 44100).integrated_lufs


def test_loudness_human_and_json(files):
    human = CliRunner().invoke(loudness, [files["lossless.flac"]])
    assert human.exit_code == 0 and "integrated" in human.stdout and "dBTP" in human.stdout
    document = json.loads(CliRunner().invoke(loudness, [files["lossless.flac"], "--json"]).stdout)
    assert len(document) == 1 and document[0]["file"] == files["lossless.flac"]


def test_loudness_batch_exit_codes(files, tmp_path):
    missing = str(tmp_path / "missing.wav")
    partial = CliRunner().invoke(loudness, [files["pcm16.wav"], missing, "--json"])
    assert partial.exit_code == 3
    documents = json.loads(partial.stdout)
    assert documents[1]["file"] == missing and "error" in documents[1]
    assert CliRunner().invoke(loudness, [missing]).exit_code == 1


def test_loudness_of_silence_is_null_with_a_warning(tmp_path):
    path = audiokit.write(tmp_path / "silence.wav", audiokit.Audio(np.zeros((2, 4410), np.float32), 44100))
    result = CliRunner().invoke(loudness, [str(path), "--jsonl"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["integrated_lufs"] is None
    assert "undefined" in result.stderr


def test_loudness_uses_the_file_channel_layout(tmp_path):
    x = np.concatenate([music_like(48000, 4.0, seed=s) for s in (1, 2, 3)], axis=0)  # 6 channels
    path = audiokit.write(tmp_path / "surround.flac", audiokit.Audio(x, 48000), bit_depth=24)
    document = json.loads(CliRunner().invoke(loudness, [str(path), "--jsonl"]).stdout)
    decoded = audiokit.read(path).samples
    assert audiokit.probe(path).channel_layout.startswith("5.1")
    expected = measure(decoded, 48000, channel_layout=audiokit.probe(path).channel_layout)
    assert document["integrated_lufs"] == expected.integrated_lufs


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_normalize_preserves_format_and_meets_the_preset(files, tmp_path, name):
    source = audiokit.probe(files[name])
    out = str(tmp_path / f"out-{name}")
    result = CliRunner().invoke(normalize, [files[name], out, "--preset", "podcast", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document) == 1 and document[0]["output_file"] == out
    written = audiokit.probe(out)
    assert (written.codec, written.sample_rate, written.bit_depth, written.num_channels) == (
        source.codec, source.sample_rate, source.bit_depth, source.num_channels)
    assert written.tags["title"] == "Song" and written.tags["artist"] == "Someone"
    assert "replaygain_track_gain" not in written.tags
    assert document[0]["preset"] == "podcast" and document[0]["mode"] == "limit"
    assert document[0]["output"]["integrated_lufs"] == pytest.approx(-16.0, abs=LOSSLESS_TOL_LU)
    tolerance = LOSSY_TOL_LU if name in LOSSY else LOSSLESS_TOL_LU
    delivered = audiokit.loudness.measure_file(out)
    assert document[0]["delivered"]["integrated_lufs"] == pytest.approx(delivered.integrated_lufs, abs=1e-9)
    assert delivered.integrated_lufs == pytest.approx(-16.0, abs=tolerance)
    slack = LOSSY_PEAK_SLACK_DB if name in LOSSY else 0.001  # 16/24-bit rounding
    assert delivered.true_peak_dbtp <= -1.0 + slack


def test_normalize_target_and_human_output(files, tmp_path):
    out = str(tmp_path / "out.flac")
    result = CliRunner().invoke(normalize, [files["lossless.flac"], out, "--target-lufs", "-20",
                                            "--true-peak-dbtp", "-2", "--mode", "headroom"])
    assert result.exit_code == 0, result.output
    assert out in result.stdout and "LUFS" in result.stdout
    assert measure(audiokit.read(out).samples, 44100).integrated_lufs == pytest.approx(-20.0, abs=0.01)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "exactly one of --preset"),
        (["--preset", "podcast", "--target-lufs", "-16"], "exactly one of --preset"),
        (["--preset", "tidal"], "expected one of spotify"),
        (["--target-lufs", "-16", "--true-peak-dbtp", "3"], "ceiling in [-60, 0] dBTP"),
    ],
)
def test_normalize_usage_errors_exit_2(files, tmp_path, arguments, message):
    result = CliRunner().invoke(normalize, [files["pcm16.wav"], str(tmp_path / "out.wav"), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out.wav").exists()
