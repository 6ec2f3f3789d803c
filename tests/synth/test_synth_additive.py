"""audiokit.synth.render_notes and pan_stereo: pitch, timing, envelope, voices, errors."""

from __future__ import annotations

import numpy as np
import pytest

from audiokit import synth
from audiokit.errors import ParameterError

SR = 48000


def _peak_hz(signal: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size), n=8 * signal.size))
    return float(np.argmax(spectrum) * sample_rate / (8 * signal.size))


@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000, 96000])
@pytest.mark.parametrize("timbre", ["organ", "strings"])
def test_fundamental_is_the_midi_pitch(sample_rate, timbre):
    stems = synth.render_notes([69.0], [0.0], [1.0], sample_rate, timbre=synth.TIMBRES[timbre])
    steady = stems[0, sample_rate // 4 : 3 * sample_rate // 4]
    # vibrato (strings) is +-7 cents: well inside 1 %
    assert _peak_hz(steady, sample_rate) == pytest.approx(440.0, rel=0.01)


def test_note_timing_and_release():
    timbre = synth.ORGAN
    stems = synth.render_notes([60.0], [0.5], [0.25], SR, timbre=timbre)
    start, end = round(0.5 * SR), round(0.75 * SR)
    assert stems.shape == (1, end + round(timbre.release_s * SR))
    assert np.all(stems[0, :start] == 0)
    assert np.abs(stems[0, start : start + 200]).max() > 0
    level_held = np.abs(stems[0, end - 2000 : end]).max()
    level_late = np.abs(stems[0, -500:]).max()
    assert level_late < 0.1 * level_held  # the release ramps to silence


def test_voices_go_to_their_stems_and_sum_like_separate_renders():
    pitches, starts, lengths = [60.0, 67.0, 64.0], [0.0, 0.1, 0.2], [0.3, 0.3, 0.3]
    stems = synth.render_notes(pitches, starts, lengths, SR, voices=[0, 2, 2], num_voices=3)
    assert stems.shape[0] == 3
    assert not stems[1].any()
    alone = synth.render_notes(pitches[:1], starts[:1], lengths[:1], SR)
    np.testing.assert_allclose(stems[0, : alone.shape[1]], alone[0], atol=1e-7)


def test_gain_and_peak():
    stems = synth.render_notes([57.0], [0.0], [0.5], SR, gain=0.25)
    assert 0.2 < np.abs(stems).max() <= 0.25 + 1e-6


def test_equal_power_pan():
    stem = np.ones((1, 100), np.float32)
    centre = synth.pan_stereo(stem, pans=[0.0])
    np.testing.assert_allclose(centre, np.sqrt(0.5), rtol=1e-6)
    left = synth.pan_stereo(stem, pans=[-1.0])
    np.testing.assert_allclose(left[0], 1.0, atol=1e-7)
    np.testing.assert_allclose(left[1], 0.0, atol=1e-7)
    mirrored = synth.pan_stereo(stem, pans=[0.4])
    np.testing.assert_allclose(mirrored[::-1], synth.pan_stereo(stem, pans=[-0.4]), atol=1e-7)


def test_errors():
    with pytest.raises(ParameterError, match="one value per note"):
        synth.render_notes([60.0, 62.0], [0.0], [1.0], SR)
    with pytest.raises(ParameterError, match="voices must be in"):
        synth.render_notes([60.0], [0.0], [1.0], SR, voices=[2], num_voices=2)
    with pytest.raises(ParameterError, match="Nyquist"):
        synth.render_notes([140.0], [0.0], [1.0], 8000)
    with pytest.raises(ParameterError, match="durations_s"):
        synth.render_notes([60.0], [0.0], [0.0], SR)
    with pytest.raises(ParameterError, match="pans"):
        synth.pan_stereo(np.zeros((2, 10), np.float32), pans=[0.0])
    with pytest.raises(ParameterError, match="sustain"):
        synth.Timbre(harmonics=(1.0,), attack_s=0.1, decay_s=0.1, sustain=2.0, release_s=0.1,
                     vibrato_hz=0.0, vibrato_cents=0.0, detune_cents=0.0)


def test_timbre_to_dict():
    assert synth.ORGAN.to_dict()["harmonics"][0] == 1.0
    table = synth.STRINGS.wavetable()
    assert table.dtype == np.float32 and table[0] == table[-1]
    assert np.abs(table).max() == pytest.approx(1.0)
