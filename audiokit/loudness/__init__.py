"""Loudness: BS.1770-5 / EBU R128 meter, true peak, LRA, normalization, limiter, presets, gain tags.

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

from .gain_tags import codec_gain_tags, r128_tags, replaygain_tags
from .kweighting import kweighting_response_db, kweighting_sos
from .level_match import LevelMatch, encode_at_level
from .limiter import LimiterReport, limit_true_peak
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
from .normalize import NormalizationReport, NormalizationWarning, normalize, normalize_album, preset_gains
from .normalize_file import measure_file, measure_files, normalize_file, output_options
from .presets import PRESETS, Preset, get_preset
from .tag_files import GainTagResult, read_gain_tags, tag_files, write_gain_tags
from .truepeak import TruePeakMeter, oversampling_factor, true_peak

__all__ = [
    "PRESETS",
    "Preset",
    "get_preset",
    "preset_gains",
    "codec_gain_tags",
    "r128_tags",
    "replaygain_tags",
    "AlbumReport",
    "LoudnessMeter",
    "LoudnessReport",
    "LoudnessSeries",
    "LoudnessWarning",
    "LimiterReport",
    "NormalizationReport",
    "NormalizationWarning",
    "TruePeakMeter",
    "channel_weights",
    "kweighting_response_db",
    "kweighting_sos",
    "limit_true_peak",
    "measure",
    "measure_album",
    "momentary",
    "normalize",
    "normalize_album",
    "LevelMatch",
    "encode_at_level",
    "measure_file",
    "measure_files",
    "GainTagResult",
    "read_gain_tags",
    "tag_files",
    "write_gain_tags",
    "output_options",
    "normalize_file",
    "oversampling_factor",
    "short_term",
    "true_peak",
]
