"""``render_static(progress=)``: one call per block with the input frames it rendered; the output is unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _spatial_helpers import kemar

import audiokit
from audiokit.channels import to_mono
from audiokit.io.resample import resample
from audiokit.spatial import HRTF, render_static

SPEECH = "/usr/share/sounds/alsa/Front_Center.wav"


@pytest.mark.parametrize("block_size, tail", [(512, True), (100, False), (64, True)])
def test_progress_counts_every_input_frame_once_and_leaves_the_output_alone(block_size, tail):
    hrtf = kemar()  # 44.1 kHz, 512 taps
    speech = audiokit.read(SPEECH)  # real speech, 48 kHz: resampled to the HRTF's rate
    x = resample(to_mono(speech.samples), speech.sample_rate, hrtf.sample_rate)[:, :23_457]
    calls: list[int] = []
    with_progress = render_static(x, hrtf.sample_rate, hrtf, azimuth_deg=37.0, elevation_deg=10.0,
                                  block_size=block_size, tail=tail, progress=calls.append)
    without = render_static(x, hrtf.sample_rate, hrtf, azimuth_deg=37.0, elevation_deg=10.0,
                            block_size=block_size, tail=tail)
    np.testing.assert_array_equal(with_progress, without)
    assert len(calls) == math.ceil(x.shape[1] / block_size)
    assert sum(calls) == x.shape[1]
    assert calls[:-1] == [block_size] * (len(calls) - 1) and 0 < calls[-1] <= block_size


def test_an_empty_signal_reports_nothing():
    calls: list[int] = []
    out = render_static(np.zeros(0, np.float32), 48000, HRTF.spherical_head(48000), azimuth_deg=0.0,
                        elevation_deg=0.0, progress=calls.append)
    assert out.shape[0] == 2 and not out.any() and calls == []  # only the (silent) filter tail
