"""encode_at_level: the loop that re-encodes a lossy file until it decodes at the level it was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiokit.loudness.level_match import LEVEL_MATCH_PASSES, LEVEL_MATCH_TOLERANCE_LU, _slope, encode_at_level


def _encoder(given_at_0: float, slope: float, codec_loss_lu: float):
    """A fake encode/measure pair: the level handed over rises ``slope`` LU per dB, the codec takes ``codec_loss_lu``."""
    made: dict[Path, float] = {}

    def encode(gain_db: float, path: Path) -> float:
        path.write_bytes(b"encoded")
        made[path] = given_at_0 + slope * gain_db - codec_loss_lu
        return given_at_0 + slope * gain_db

    return encode, lambda path: made[path], made


def test_a_limiter_after_the_gain_is_matched_with_secant_steps(tmp_path):
    """Figures of a normalized 10-minute podcast to MP3 (limit mode): the encoder took 0.445 LU, and 1 dB more gain
    before the limiter raised the level by 0.38-0.41 LU. Plain steps (gain -= delta) ended 0.101 LU off after 3 passes."""
    encode, measure, made = _encoder(-16.0047, 0.38, 0.445)
    match = encode_at_level(tmp_path / "out.mp3", encode, measure)
    assert abs(match.delivered_lufs - match.intended_lufs) <= LEVEL_MATCH_TOLERANCE_LU
    assert match.encodes <= 1 + LEVEL_MATCH_PASSES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp3"]


def test_a_plain_gain_stage_is_matched_in_one_step(tmp_path):
    encode, measure, _ = _encoder(-14.0, 1.0, 0.3)
    match = encode_at_level(tmp_path / "out.m4a", encode, measure)
    assert match.encodes == 2 and match.gain_db == pytest.approx(0.3)
    assert match.delivered_lufs == pytest.approx(-14.0)


@pytest.mark.parametrize(("previous", "latest", "expected"), [
    (None, (0.0, -16.45), 1.0),                 # one encode: a plain step
    ((0.0, -16.45), (0.4455, -16.2674), 0.41),  # a limiter after the gain
    ((0.0, -16.0), (0.5, -16.45), 1.0),         # the level fell as the gain rose: the encoder flipped
    ((0.0, -16.0), (0.5, -15.0), 1.0),          # 2 LU per dB: no gain stage does that
    ((0.0, -16.0), (1.0, -15.95), 0.2),         # nearly flat: steps capped at 5 x the delta
])
def test_slope_of_two_encodes(previous, latest, expected):
    assert _slope(previous, latest) == pytest.approx(expected, abs=0.001)
