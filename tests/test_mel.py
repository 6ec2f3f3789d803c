"""audiokit._mel against librosa itself, the reference its filters reproduce."""

import numpy as np
import pytest

from audiokit._mel import hz_to_mel, mel_filters, mel_frequencies, mel_to_hz

librosa = pytest.importorskip("librosa")


@pytest.mark.parametrize("sample_rate, n_fft, bands, fmin, fmax", [
    (48000, 2048, 64, 20.0, 20000.0),   # ladder QA at 48 kHz
    (44100, 2048, 64, 20.0, 20000.0),
    (22050, 1024, 64, 20.0, 11025.0),   # QA at a low rate: fmax capped at Nyquist
    (22050, 2048, 128, 0.0, 11025.0),   # librosa's own defaults
    (16000, 512, 96, 0.0, 8000.0),
])
def test_filters_equal_librosas(sample_rate, n_fft, bands, fmin, fmax):
    ours = mel_filters(sample_rate, n_fft, bands, fmin_hz=fmin, fmax_hz=fmax)
    theirs = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=bands, fmin=fmin, fmax=fmax, dtype=np.float32)
    # the same float64 arithmetic rounded once to float32: at most one unit in the last place apart
    np.testing.assert_array_max_ulp(ours, theirs, maxulp=1)
    assert np.array_equal(ours > 0, theirs > 0)


def test_scale_matches_librosa_and_inverts():
    hz = np.array([0.0, 50.0, 999.9, 1000.0, 1000.1, 4000.0, 20000.0])
    np.testing.assert_allclose(hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mel_frequencies(66, fmin_hz=20.0, fmax_hz=20000.0),
                               librosa.mel_frequencies(66, fmin=20.0, fmax=20000.0), rtol=1e-12)
