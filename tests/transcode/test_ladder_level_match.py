"""qa="full" matches an AAC rung's decoded loudness to its master (audiokit.loudness.encode_at_level)."""

from __future__ import annotations

import numpy as np
import pytest
from _signals import noise

import audiokit
from audiokit.loudness.level_match import LEVEL_MATCH_TOLERANCE_LU
from audiokit.transcode import build_ladder

RUNGS = [{"name": "aac-64", "codec": "aac", "bitrate_bps": 64000}]


def test_full_qa_re_encodes_an_aac_rung_until_its_level_matches(tmp_path):
    # White noise loses 2.8 LU through ffmpeg's AAC at 64 kbit/s stereo (it low-passes near 12.5 kHz).
    audio = audiokit.Audio(np.ascontiguousarray(noise(44100, duration_s=8.0, channels=2, amplitude=0.3, seed=3)),
                           44100)
    fast = build_ladder(audio, tmp_path / "fast", rungs=RUNGS, qa="fast").renditions[0]
    full = build_ladder(audio, tmp_path / "full", rungs=RUNGS, qa="full").renditions[0]
    assert fast.qa.loudness_delta_lu < -1.0 and fast.master_gain_db == 0.0  # fast: tags make up for it
    assert abs(full.qa.loudness_delta_lu) <= LEVEL_MATCH_TOLERANCE_LU
    assert full.master_gain_db == pytest.approx(-fast.qa.loudness_delta_lu, abs=0.5)
    assert sorted(path.name for path in (tmp_path / "full").rglob("*") if ".level" in path.name) == []
