"""``audiokit moderate`` through click's CliRunner on the command object, and the flags document's schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

import audiokit
from audiokit import Audio
from audiokit.cli.moderate import _BLEEP_MODES, _POLICIES, moderate
from audiokit.models.moderation import BLEEP_MODES, POLICIES
from audiokit.models.moderation import moderate as run_moderate

FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "flags.schema.json").read_text(encoding="utf-8"))
SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def front_center() -> Path:
    if not FRONT_CENTER.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    return FRONT_CENTER


@pytest.fixture(scope="module")
def episode(tmp_path_factory) -> tuple[Path, Path]:
    """2.2 s of three tone "words" (the first clipped) and a transcript of them whose third word is "shit"."""
    folder = tmp_path_factory.mktemp("episode")
    t = np.arange(int(2.2 * SAMPLE_RATE)) / SAMPLE_RATE
    samples = np.zeros_like(t)
    for start_s, end_s in ((0.2, 0.6), (0.8, 1.2), (1.4, 1.8)):
        inside = (t >= start_s) & (t < end_s)
        samples[inside] = 0.3 * np.sin(2 * np.pi * 220 * t[inside])
    samples[int(0.3 * SAMPLE_RATE):int(0.3 * SAMPLE_RATE) + 40] = 1.0
    source = folder / "episode.wav"
    audiokit.write(source, Audio(samples[np.newaxis].astype(np.float32), SAMPLE_RATE), bit_depth=16)
    words = [(" Well", 0.25, 0.7), (" holy", 0.7, 1.25), (" shit.", 1.45, 1.9)]
    transcript = folder / "episode.json"
    transcript.write_text(json.dumps({"language": "en", "segments": [{
        "start_s": 0.2, "end_s": 1.9, "text": "Well holy shit.",
        "words": [{"start_s": a, "end_s": b, "text": w, "probability": 0.95} for w, a, b in words]}]}),
        encoding="utf-8")
    return source, transcript


def test_options_match_the_library():
    assert _BLEEP_MODES == BLEEP_MODES
    assert _POLICIES == tuple(POLICIES)


def test_flags_exit_0_and_human_output(episode):
    source, transcript = episode
    result = CliRunner().invoke(moderate, [str(source), "--transcript", str(transcript)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{source}: explicit under the podcast policy (en.profanity.shit)"
    assert any("transcript" in line and "profanity" in line and "'shit'" in line for line in lines)
    assert any("audio" in line and "clipping" in line for line in lines)
    assert result.stderr == ""


def test_json_document_validates_against_the_schema(episode):
    source, transcript = episode
    result = CliRunner().invoke(moderate, [str(source), "--transcript", str(transcript), "--json", "--policy", "music"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["label"] == {"policy": "music", "explicit": True, "reasons": ["en.profanity.shit"]}
    assert {f["source"] for f in document["flags"]} == {"transcript", "audio"}
    assert document["counts"]["profanity"] == 1 and document["bleep"] is None
    assert document["spec"] == "spotify"  # the music policy's delivery spec


@pytest.mark.parametrize("arguments, spec", [([], "podcast"), (["--policy", "kids"], "podcast"),
                                             (["--policy", "music", "--spec", "ebu-r128"], "ebu-r128")])
def test_spec_follows_the_policy_unless_given(episode, arguments, spec):
    source, transcript = episode
    result = CliRunner().invoke(moderate, [str(source), "--transcript", str(transcript), "--json", *arguments])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["spec"] == spec
    target = audiokit.loudness.get_preset(spec).target_lufs
    found = [f["limit"] for f in document["flags"] if f["category"] == "loudness"]
    off_spec = abs(document["loudness"]["integrated_lufs"] - target) > 1.0
    assert found == ([target] if off_spec else [])


def test_schema_rejects_a_flag_without_evidence(episode):
    source, transcript = episode
    document = run_moderate(source, transcript=transcript).to_dict()
    del document["flags"][0]["evidence"]
    with pytest.raises(jsonschema.ValidationError, match="evidence"):
        jsonschema.validate(document, SCHEMA)


def test_schema_holds_for_silence_and_a_transcript_alone(episode, tmp_path):
    silent = tmp_path / "silent.wav"
    audiokit.write(silent, Audio(np.zeros((1, 4 * SAMPLE_RATE), np.float32), SAMPLE_RATE))
    for document in (run_moderate(silent, transcribe=False).to_dict(),
                     run_moderate(transcript=episode[1], categories=["violence"]).to_dict()):
        jsonschema.validate(json.loads(json.dumps(document, allow_nan=False)), SCHEMA)


def test_bleep_writes_audio_and_masked_transcript(episode, tmp_path):
    source, transcript = episode
    out = tmp_path / "clean.wav"
    result = CliRunner().invoke(moderate, [str(source), "--transcript", str(transcript), "--bleep", str(out),
                                           "--bleep-mode", "mute", "--pad-ms", "30", "--categories", "profanity",
                                           "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["bleep"]["output"] == str(out) and document["bleep"]["mode"] == "mute"
    ((first_s, stop_s),) = document["bleep"]["spans"]
    # 30 ms of padding before the word (1.4-1.8 s); "shit" ends in a stop, so 200 ms after it, for the release
    assert first_s == pytest.approx(1.37, abs=0.006) and stop_s == pytest.approx(2.0, abs=0.006)
    bleeped = audiokit.read(out)
    assert bleeped.sample_rate == SAMPLE_RATE and audiokit.probe(out).bit_depth == 16
    assert np.abs(bleeped.samples[0, int(1.41 * SAMPLE_RATE):int(1.79 * SAMPLE_RATE)]).max() == 0
    masked = json.loads((tmp_path / "clean.json").read_text(encoding="utf-8"))
    assert masked["text"] == "Well holy s***."


def test_transcribes_and_bleeps_real_speech(front_center, tmp_path):
    """Whisper hears "Front center"; a one-term lexicon flags "center" and the bleep removes it."""
    lexicon = tmp_path / "test.json"
    lexicon.write_text(json.dumps({"format": "audiokit-lexicon/1", "language": "en", "version": "test",
                                   "terms": [{"id": "center", "category": "profanity", "severity": "high",
                                              "match": "word", "forms": ["center", "centre"]}]}), encoding="utf-8")
    out = tmp_path / "bleeped.wav"
    result = CliRunner().invoke(moderate, [str(front_center), "--lexicon", str(lexicon), "--bleep", str(out),
                                           "--json"])
    assert result.exit_code == 0, result.output
    assert "transcribing" in result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["transcript"] == "whisper:tiny.en/faster" and document["lexicon"] == "en@test"
    (flag,) = [f for f in document["flags"] if f["source"] == "transcript"]
    assert flag["text"].lower().startswith("center") and document["explicit"]
    assert 0.4 < flag["start_s"] < flag["end_s"] <= document["duration_s"]
    before, after = audiokit.read(front_center), audiokit.read(out)
    assert after.samples.shape == before.samples.shape and after.sample_rate == before.sample_rate
    ((first_s, stop_s),) = document["bleep"]["spans"]
    first, stop = int(first_s * before.sample_rate), int(stop_s * before.sample_rate)
    np.testing.assert_array_equal(after.samples[:, :first], before.samples[:, :first])
    assert not np.array_equal(after.samples[:, first:stop], before.samples[:, first:stop])
    masked = json.loads((tmp_path / "bleeped.json").read_text(encoding="utf-8"))
    assert "front" in masked["text"].lower() and "center" not in masked["text"].lower()


@pytest.mark.parametrize("arguments, message", [
    (["--categories", "rudeness"], "rudeness"),
    (["--spec", "radio"], "radio"),
    (["--policy", "radio"], "radio"),
    (["--bleep-mode", "beep"], "beep"),
    (["--pad-ms", "-5"], "pad-ms"),
])
def test_usage_errors_exit_2(episode, arguments, message):
    source, transcript = episode
    result = CliRunner().invoke(moderate, [str(source), "--transcript", str(transcript), *arguments])
    assert result.exit_code == 2
    assert message in result.stderr


def test_errors_exit_1_with_one_line(episode, tmp_path):
    source, _ = episode
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    for arguments in ([str(source), "--transcript", str(bad)], [str(tmp_path / "missing.wav"), "--no-audio-checks"],
                      [str(source), "--transcript", str(bad), "--lexicon", "xx"]):
        result = CliRunner().invoke(moderate, arguments)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("audiokit: error: ")


def test_progress_reports_the_seconds_transcribed(front_center):
    steps: list[float] = []
    result = run_moderate(front_center, audio_checks=False, progress=steps.append)
    assert steps and all(step > 0 for step in steps)
    assert sum(steps) == pytest.approx(result.duration_s, abs=1e-3)


def test_a_warning_names_its_file():
    noise = Path("/usr/share/sounds/alsa/Noise.wav")
    if not noise.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Noise.wav)")
    result = CliRunner().invoke(moderate, [str(noise), "--no-audio-checks", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"audiokit: warning: {noise}: Silero VAD heard no speech in the input; the transcript is empty\n"
    assert json.loads(result.stdout)["flags"] == []
