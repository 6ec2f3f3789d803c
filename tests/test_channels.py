"""audiokit.channels: the one home of layouts, BS.1770 weights and downmixes."""

import av
import numpy as np
import pytest

import audiokit
from audiokit.channels import (
    DEFAULT_LAYOUTS,
    LAYOUTS,
    bs1770_weights,
    channel_names,
    default_layout_name,
    downmix,
    loudspeaker_azimuths,
    stereo_matrix,
    to_mono,
)
from audiokit.errors import ParameterError
from audiokit.loudness import measure


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layouts_match_ffmpeg(name):
    # ffmpeg (through PyAV) is the independent reference for its own layout names.
    assert LAYOUTS[name] == tuple(channel.name for channel in av.AudioLayout(name).channels)


@pytest.mark.parametrize("num_channels", sorted(DEFAULT_LAYOUTS))
def test_default_layout_is_what_a_written_file_reads_back_as(tmp_path, num_channels, rng):
    samples = (0.1 * rng.standard_normal((num_channels, 4800))).astype(np.float32)
    path = tmp_path / f"{num_channels}.flac"
    audiokit.write(path, audiokit.Audio(samples, 48000))
    assert audiokit.probe(path).channel_layout == default_layout_name(num_channels)


def test_bs1770_names_are_read_as_aliases():
    # BS.1770's own spelling of a 5.0 programme weighs its surrounds +1.5 dB.
    assert channel_names(5, ("L", "R", "C", "Ls", "Rs")) == ("FL", "FR", "FC", "SL", "SR")
    np.testing.assert_array_equal(bs1770_weights(5, ("L", "R", "C", "Ls", "Rs")), [1, 1, 1, 1.41, 1.41])
    np.testing.assert_array_equal(bs1770_weights(6, ("l", "r", "c", "lfe", "lrs", "rrs")), [1, 1, 1, 0, 1.41, 1.41])


def test_a_five_channel_programme_reads_the_same_in_either_spelling(rng):
    samples = (0.05 * rng.standard_normal((5, 48000 * 3))).astype(np.float32)
    by_alias = measure(samples, 48000, channel_layout=("L", "R", "C", "Ls", "Rs")).integrated_lufs
    by_ffmpeg_name = measure(samples, 48000, channel_layout="5.0(side)").integrated_lufs
    fronts_only = measure(samples, 48000, channel_layout=("FL", "FR", "FC", "FLC", "FRC")).integrated_lufs
    assert by_alias == pytest.approx(by_ffmpeg_name, abs=1e-9)
    # The surround weighting is what separates the two readings (BS.1770-5 Table 3).
    assert by_alias - fronts_only > 0.3


@pytest.mark.parametrize("bad", [("L", "R", "Q"), ("FL", "FR", "")])
def test_unknown_channel_names_raise(bad):
    with pytest.raises(ParameterError, match="unknown"):
        bs1770_weights(3, bad)


def test_layout_and_count_must_agree_and_big_counts_need_a_layout():
    with pytest.raises(ParameterError, match="has 2 channels"):
        channel_names(6, "stereo")
    with pytest.raises(ParameterError, match="no default layout"):
        channel_names(12)
    assert default_layout_name(12) == "12 channels"
    # A count ffmpeg reports without a layout takes the default for that count.
    assert channel_names(2, "2 channels") == ("FL", "FR")


def test_three_channels_are_2_1_everywhere():
    # The meter and the downmix read a 3-channel signal the same way as the writer labels it.
    assert channel_names(3) == ("FL", "FR", "LFE")
    np.testing.assert_array_equal(bs1770_weights(3), [1, 1, 0])
    np.testing.assert_array_equal(stereo_matrix(3), [[1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("num_channels", [3, 4, 5, 6, 7, 8])
def test_bs775_stereo_downmix(num_channels):
    names = channel_names(num_channels)
    samples = np.eye(num_channels, dtype=np.float32)  # channel i alone at frame i
    stereo = downmix(samples, 2)
    expected = {"FL": (1, 0), "FR": (0, 1), "FC": (0.7071, 0.7071), "LFE": (0, 0), "BC": (0.5, 0.5)}
    for index, name in enumerate(names):
        left, right = stereo[:, index]
        if name in expected:
            assert (left, right) == pytest.approx(expected[name], abs=1e-6)
        else:  # surrounds go to their own side at -3 dB (BS.775-4 Table 2)
            side = (0.7071, 0.0) if name.endswith("L") else (0.0, 0.7071)
            assert (left, right) == pytest.approx(side, abs=1e-6)


def test_mono_is_the_mean_of_the_stereo_downmix(rng):
    stereo = rng.standard_normal((2, 1000)).astype(np.float32)
    np.testing.assert_allclose(to_mono(stereo), stereo.mean(axis=0, keepdims=True), atol=1e-7)
    five_one = rng.standard_normal((6, 1000)).astype(np.float32)
    np.testing.assert_allclose(to_mono(five_one), downmix(five_one, 2).mean(axis=0, keepdims=True), atol=1e-6)
    np.testing.assert_array_equal(to_mono(stereo[:1]), stereo[:1])


def test_mono_of_a_count_without_a_layout_is_the_plain_mean(rng):
    twelve = rng.standard_normal((12, 100)).astype(np.float32)
    np.testing.assert_allclose(to_mono(twelve), twelve.mean(axis=0, keepdims=True), atol=1e-6)


def test_loudspeaker_positions_follow_the_channel_names():
    # ffmpeg's 7.1 is FL FR FC LFE BL BR SL SR: the side pair is last (BS.2051 "0+7+0": sides at 90, rears at 150).
    assert loudspeaker_azimuths(8, "7.1") == (30.0, -30.0, 0.0, None, 150.0, -150.0, 90.0, -90.0)
    # 5.1's BL/BR are BS.775's surround pair; 5.1(side) names the same speakers SL/SR.
    assert loudspeaker_azimuths(6, "5.1")[4:] == (110.0, -110.0)
    assert loudspeaker_azimuths(6, "5.1(side)")[4:] == (110.0, -110.0)
    assert loudspeaker_azimuths(4, "quad")[2:] == (110.0, -110.0)


def test_no_upmixing():
    with pytest.raises(ParameterError, match="no upmixing"):
        downmix(np.zeros((1, 10), np.float32), 2)
