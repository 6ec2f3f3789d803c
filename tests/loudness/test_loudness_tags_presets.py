"""Presets, ReplayGain 2.0 / R128 tags, and the no-compile-at-import rule."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from audiokit.errors import ParameterError
from audiokit.loudness import PRESETS, AlbumReport, LoudnessReport, get_preset, r128_tags, replaygain_tags

ISSUE_PRESETS = {  # issue 3: name -> (target LUFS, ceiling dBTP)
    "spotify": (-14, -1), "spotify-loud": (-11, -1), "spotify-quiet": (-19, -1), "apple-music": (-16, -1),
    "youtube": (-14, -1), "podcast": (-16, -1), "ebu-r128": (-23, -1), "atsc-a85": (-24, -2),
}


def report(integrated: float, peak: float) -> LoudnessReport:
    return LoudnessReport(integrated, 5.0, peak, peak - 0.5, integrated + 3, integrated + 1)


@pytest.mark.parametrize("name", sorted(ISSUE_PRESETS))
def test_presets_have_the_issue_numbers(name):
    preset = get_preset(name)
    assert (preset.target_lufs, preset.true_peak_dbtp) == ISSUE_PRESETS[name]
    assert preset.mode in ("headroom", "limit")
    assert preset.to_dict()["name"] == name


def test_preset_modes_and_unknown_names():
    assert get_preset("spotify-loud").mode == "limit"
    assert get_preset("youtube").attenuate_only
    assert sorted(PRESETS) == sorted(ISSUE_PRESETS)
    with pytest.raises(ParameterError, match="expected one of spotify"):
        get_preset("tidal")


def test_replaygain_2_tags():
    track, album_track = report(-9.5, -0.3), report(-12.0, -1.5)
    album = AlbumReport(-10.25, -0.3, -0.8, (track, album_track))
    tags = replaygain_tags(track, album)
    assert tags == {
        "REPLAYGAIN_TRACK_GAIN": "-8.50 dB",
        "REPLAYGAIN_TRACK_PEAK": f"{10 ** (-0.3 / 20):.6f}",
        "REPLAYGAIN_ALBUM_GAIN": "-7.75 dB",
        "REPLAYGAIN_ALBUM_PEAK": f"{10 ** (-0.3 / 20):.6f}",
    }


def test_r128_tags_are_q78_relative_to_minus_23():
    assert r128_tags(report(-14.0, -1.0)) == {"R128_TRACK_GAIN": str(-9 * 256)}
    album = AlbumReport(-23.5, -1.0, -1.2, ())
    assert r128_tags(report(-23.0, -1.0), album) == {"R128_TRACK_GAIN": "0", "R128_ALBUM_GAIN": "128"}
    assert r128_tags(report(-200.0, -100.0))["R128_TRACK_GAIN"] == "32767"  # clamped to int16


def test_tags_refuse_undefined_loudness():
    with pytest.raises(ParameterError, match="undefined"):
        r128_tags(report(-math.inf, -math.inf))


def test_import_compiles_no_kernel():
    code = (
        "import audiokit, audiokit.loudness\n"
        "from audiokit.loudness import _kernels\n"
        "names = ['_kweight_energy', '_accumulate_hops', '_window_sums', '_true_peak', '_abs_max']\n"
        "assert all(not getattr(_kernels, n).signatures for n in names)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
