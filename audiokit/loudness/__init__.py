"""Loudness: BS.1770-5 / EBU R128 meter, true peak, loudness range, presets, gain tags.

``import audiokit.loudness`` compiles nothing: the Numba kernels compile on
first call and are cached on disk for later processes.

Examples
--------
>>> import numpy as np
>>> from audiokit import loudness
>>> t = np.arange(48000 * 20) / 48000
>>> tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
>>> round(loudness.measure(np.stack([tone, tone]), 48000).integrated_lufs, 1)
-23.0
"""

from __future__ import annotations

from .gain_tags import r128_tags, replaygain_tags
from .kweighting import kweighting_response_db, kweighting_sos
from .meter import (
    AlbumReport,
    LoudnessMeter,
    LoudnessReport,
    LoudnessSeries,
    LoudnessWarning,
    channel_weights,
    measure,
    measure_album,
    momentary,
    short_term,
)
from .presets import PRESETS, Preset, get_preset
from .truepeak import TruePeakMeter, oversampling_factor, true_peak

__all__ = [
    "PRESETS",
    "Preset",
    "get_preset",
    "r128_tags",
    "replaygain_tags",
    "AlbumReport",
    "LoudnessMeter",
    "LoudnessReport",
    "LoudnessSeries",
    "LoudnessWarning",
    "TruePeakMeter",
    "channel_weights",
    "kweighting_response_db",
    "kweighting_sos",
    "measure",
    "measure_album",
    "momentary",
    "oversampling_factor",
    "short_term",
    "true_peak",
]
