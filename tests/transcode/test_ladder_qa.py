"""Ladder QA that is fair to real content and still fails planted faults; degraded ladders; --qa modes."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from _ladder_signals import dense, music
from _signals import notes, sine

import audiokit
from audiokit.errors import ParameterError
from audiokit.transcode import LADDER_MANIFEST, build_ladder, qa
from audiokit.transcode.encode import encode_rendition
from audiokit.transcode.gain import gain_tags, measure_loudness
from audiokit.transcode.rungs import Rung, resolve_rung

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng (Debian package) synthesizes the speech")
SENTENCES = (
    "Welcome back to the show. Today we follow a song from the studio to your headphones.",
    "First comes the upload: a creator sends a file, and we check that it decodes.",
    "Then we measure its loudness, so that every episode plays at about the same level.",
    "After that, the encoder makes several versions of it at different bitrates.",
    "Each version is decoded again and compared with the original, to catch mistakes early.",
    "Finally the files are packaged for streaming, and the catalog learns about them.",
)
#: (codec, kbit/s, channels): every bitrate-per-channel row of the QA tables, mono and stereo.
ROWS = [
    ("opus", 24, 2), ("opus", 32, 1), ("opus", 64, 2), ("opus", 96, 2), ("opus", 160, 2), ("opus", 320, 2),
    ("aac", 32, 1), ("aac", 64, 2), ("aac", 96, 2), ("aac", 128, 2), ("aac", 160, 2), ("aac", 256, 2),
    ("mp3", 32, 1), ("mp3", 64, 1), ("mp3", 128, 2), ("mp3", 192, 2), ("mp3", 320, 2),
]


def speech_episode(tmp_path, *, seconds: float, sample_rate: int = 44100, seed: int = 0) -> np.ndarray:
    """espeak-ng reading SENTENCES in turn at three speeds, with 0.3-2.5 s pauses, as dual-mono stereo."""
    rng = np.random.default_rng(seed)
    clips = []
    for index, text in enumerate(SENTENCES):
        wav = tmp_path / f"sentence{index}.wav"
        subprocess.run(["espeak-ng", "-s", str(150 + 10 * (index % 3)), "-w", str(wav), text], check=True)
        clips.append(audiokit.read(wav, sample_rate=sample_rate).samples[0])
    parts, total, index = [], 0, 0
    while total < seconds * sample_rate:
        pause = np.zeros(round(rng.uniform(0.3, 2.5) * sample_rate), np.float32)
        parts += [clips[index % len(clips)], pause]
        total += clips[index % len(clips)].size + pause.size
        index += 1
    mono = np.concatenate(parts)[:round(seconds * sample_rate)]
    return np.stack([mono, 0.9 * mono]).astype(np.float32)  # a podcast exported as stereo


def _passes(result) -> None:
    assert not result.degraded, result.degraded_reasons
    assert [r.name for r in result.renditions] == [rung.name for rung in result.rungs]
    for rendition in result.renditions:
        assert rendition.qa.passed and rendition.qa.mode == result.qa_mode, rendition.name


@needs_espeak
def test_short_speech_at_low_opus_rates_is_offset_but_passes(tmp_path):
    """Stereo speech moves Opus's correlation peak by a few samples (SILK/hybrid): the old 1-sample rule failed it."""
    audio = audiokit.Audio(speech_episode(tmp_path, seconds=20.0), 44100)
    rungs = [{"name": "opus-24", "codec": "opus", "bitrate_bps": 24000}, {"name": "aac-64", "codec": "aac",
                                                                          "bitrate_bps": 64000}]
    result = build_ladder(audio, tmp_path / "out", rungs=rungs, qa="full")
    _passes(result)
    opus, aac = result.renditions
    assert 2 <= abs(opus.qa.offset_frames) <= qa.OFFSET_TOLERANCE_FRAMES["opus"]
    assert aac.qa.offset_frames == 0


@needs_espeak
@pytest.mark.slow
def test_speech_episode_of_two_and_a_half_minutes_passes_every_preset(tmp_path):
    """The regression: a 2:41 speech episode failed ingest with `opus-24: time offset -3 frames`."""
    audio = audiokit.Audio(speech_episode(tmp_path, seconds=161.0), 44100)
    for preset in ("spotify-like", "podcast"):
        _passes(build_ladder(audio, tmp_path / preset, ladder=preset))


@pytest.mark.parametrize("frequency_hz", [100.0, 1000.0, 5000.0])
def test_pure_sine_tones_pass(tmp_path, frequency_hz):
    tone = np.array(sine(frequency_hz, 48000, duration_s=3.0, channels=2))
    _passes(build_ladder(audiokit.Audio(tone, 48000), tmp_path / "out", ladder="spotify-like"))


def test_near_silent_track_passes_with_the_perceptual_checks_skipped(tmp_path):
    quiet = (np.random.default_rng(0).standard_normal((2, 3 * 48000)) * 10 ** (-90 / 20)).astype(np.float32)
    result = build_ladder(audiokit.Audio(quiet, 48000), tmp_path / "out", ladder="hls-aac")
    _passes(result)
    assert all("absolute gate" in r.qa.skipped[0] for r in result.renditions)


def test_white_noise_passes_on_every_codec(tmp_path):
    white = (np.random.default_rng(1).standard_normal((2, 3 * 48000)) * 0.1).astype(np.float32)
    for preset in ("spotify-like", "podcast", "hls-aac"):
        _passes(build_ladder(audiokit.Audio(white, 48000), tmp_path / preset, ladder=preset))


def test_hot_surround_master_is_turned_down_and_passes(tmp_path):
    """A 5.1 mix peaking at -0.1 dBFS whose BS.775 stereo downmix goes over full scale."""
    left, right = notes(48000, 4.0, np.random.default_rng(1))
    six = np.stack([left, right, 0.9 * (left + right) / 2, 0.3 * left, 0.8 * left, 0.8 * right])
    six = (six / np.abs(six).max() * 10 ** (-0.1 / 20)).astype(np.float32)
    result = build_ladder(audiokit.Audio(six, 48000), tmp_path / "out", ladder="spotify-like")
    _passes(result)
    stereo = {r.name: r for r in result.renditions if r.num_channels == 2}
    assert stereo and all(r.master_gain_db < 0 for r in stereo.values())
    assert {r.master_gain_db for r in result.renditions if r.num_channels == 6} == {0.0}
    # The gain tags restore the level: tagged playback of every stereo rung matches the untouched 5.1 source.
    for rendition in stereo.values():
        if rendition.codec != "opus":
            gain = float(rendition.gain_tags["REPLAYGAIN_TRACK_GAIN"].split()[0])
            assert rendition.integrated_lufs + gain == pytest.approx(-18.0, abs=0.01)


def test_every_rendition_carries_its_own_gain_tags_written_without_touching_the_audio(tmp_path):
    """Fast QA measures each rendition and tags it (Opus and MP3 by remuxing the packets); off: the master's."""
    audio = audiokit.Audio(dense(48000, duration_s=3.0), 48000)
    rungs = [{"name": "o", "codec": "opus", "bitrate_bps": 24000}, {"name": "m", "codec": "mp3", "bitrate_bps": 64000},
             {"name": "a", "codec": "aac", "bitrate_bps": 64000}]
    fast = build_ladder(audio, tmp_path / "fast", rungs=rungs, qa="fast")
    off = build_ladder(audio, tmp_path / "off", rungs=rungs, qa="off")
    master = measure_loudness(audio.samples, 48000)
    for tagged, plain in zip(fast.renditions, off.renditions, strict=True):
        assert plain.gain_tags == gain_tags(*master, codec=plain.codec)
        own = gain_tags(tagged.qa.integrated_lufs, tagged.qa.true_peak_dbtp, codec=tagged.codec)
        assert tagged.gain_tags == own
        on_disk = audiokit.probe(tmp_path / "fast" / tagged.path).tags
        assert {key.lower(): value for key, value in own.items()}.items() <= on_disk.items(), tagged.name
        # Same packets as QA decoded: the remux kept every sample (gapless trims included).
        decoded = audiokit.read(tmp_path / "fast" / tagged.path)
        assert decoded.num_frames == audio.num_frames
        assert measure_loudness(decoded.samples, 48000)[0] == pytest.approx(tagged.integrated_lufs, abs=1e-9)
    assert fast.renditions[0].gain_tags != off.renditions[0].gain_tags  # opus-24 is 0.1 LU off its master here


def test_failed_rung_is_excluded_and_the_ladder_is_degraded(tmp_path, monkeypatch):
    monkeypatch.setitem(qa.MEL_DISTANCE_LIMITS_DB, "aac", ((0, 0.0),))
    audio = audiokit.Audio(music(48000, duration_s=2.0), 48000)
    rungs = [{"name": "a", "codec": "aac", "bitrate_bps": 128000}, {"name": "o", "codec": "opus", "bitrate_bps": 96000}]
    out = tmp_path / "out"
    result = build_ladder(audio, out, rungs=rungs, hls=True)
    assert result.degraded and [r.name for r in result.excluded] == ["a"]
    assert [r.name for r in result.renditions] == ["o"]
    assert result.failures[0].startswith("a: mel distance") and result.degraded_reasons == result.failures
    assert not (out / "a.m4a").exists() and (out / "o.opus").exists()
    assert [variant.name for variant in result.variants] == ["o"]  # the shipped renditions are still packaged
    document = json.loads((out / LADDER_MANIFEST).read_text())
    assert document["degraded"] is True and document["excluded"][0]["qa"]["failures"][0].startswith("mel distance")


def test_qa_modes(tmp_path):
    audio = audiokit.Audio(music(48000, duration_s=1.5), 48000)
    rungs = [{"name": "o", "codec": "opus", "bitrate_bps": 64000}]
    assert build_ladder(audio, tmp_path / "full", rungs=rungs, qa="full").renditions[0].qa.mode == "full"
    assert build_ladder(audio, tmp_path / "true", rungs=rungs, qa=True).qa_mode == "fast"
    with pytest.raises(ParameterError, match="qa is 'strict'"):
        build_ladder(audio, tmp_path / "bad", rungs=rungs, qa="strict")


# --- planted faults: every codec/bitrate row -------------------------------------------------------------

@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """row -> (resolved rung, master, reference, decoded rendition, measured bitrate) on `dense` music."""
    folder = tmp_path_factory.mktemp("rows")
    out = {}
    for codec, kbps, channels in ROWS:
        master = dense(48000, duration_s=3.0)[:channels]
        resolved = resolve_rung(Rung("r", codec, bitrate_bps=kbps * 1000), source_rate=48000,
                                source_channels=channels, source_bit_depth=None)
        path = encode_rendition(master, resolved, folder / f"{codec}{kbps}{channels}{resolved.spec.extension}", tags={})
        integrated_lufs, true_peak_dbtp = measure_loudness(master, 48000)
        reference = qa.Reference.of(master, 48000, integrated_lufs=integrated_lufs, true_peak_dbtp=true_peak_dbtp)
        out[(codec, kbps, channels)] = (resolved, master, reference, audiokit.read(path).samples,
                                        audiokit.probe(path).bitrate_bps)
    return out


def _check(row, encoded, decoded=None, bitrate=None):
    resolved, _, reference, clean, measured = encoded[row]
    return qa.check_rendition(clean if decoded is None else decoded.astype(np.float32), reference, resolved,
                              measured_bitrate_bps=measured if bitrate is None else bitrate).failures


def _failed(failures, check: str) -> bool:
    return any(failure.startswith(check) for failure in failures)


@pytest.mark.parametrize("row", ROWS, ids=[f"{c}-{k}-{n}ch" for c, k, n in ROWS])
def test_planted_faults_fail_their_check_at_every_row(encoded, row):
    from scipy.signal import butter, sosfiltfilt

    _, _, _, clean, measured = encoded[row]
    assert _check(row, encoded) == ()  # the intact rendition passes
    late = np.concatenate([np.zeros((clean.shape[0], 96), np.float32), clean[:, :-96]], axis=1)  # 2 ms
    assert _failed(_check(row, encoded, late), "time offset")
    muffled = sosfiltfilt(butter(8, 3000, fs=48000, output="sos"), clean, axis=1)
    assert _failed(_check(row, encoded, muffled), "bandwidth")
    assert _failed(_check(row, encoded, clean * 10 ** (3 / 20)), "level")
    assert _failed(_check(row, encoded, clean * 10 ** (-3 / 20)), "level")
    damaged = clean.copy()
    for start in range(0, damaged.shape[1], 48000):  # 0.5 s dropouts, one a second
        damaged[:, start:start + 24000] = 0.0
    assert _failed(_check(row, encoded, damaged), "mel distance")
    wrong = int(measured * 1.6) if row[0] != "mp3" else int(measured * 0.5)
    assert _failed(_check(row, encoded, bitrate=wrong), "measured bitrate")
    assert _failed(_check(row, encoded, clean[:, :-1]), "decoded shape")
