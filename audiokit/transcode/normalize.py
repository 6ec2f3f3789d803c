"""``normalize=``: bake a loudness-normalized master before encoding the ladder.

By default the ladder writes gain tags and leaves the audio alone (players
normalize). A normalization preset (any of :data:`audiokit.loudness.PRESETS`)
instead applies one static gain to the master, the preset's ``headroom``
gain (:func:`audiokit.loudness.preset_gains`): ``target_lufs - integrated``,
lowered so that the true peak stays at or under the preset's ceiling. Like
Spotify's default mode, a quiet master whose peaks leave too little headroom
ends up below the target rather than being limited; the result's
``source_integrated_lufs`` says where it landed.

The gain needs the whole programme's loudness, so the ladder measures the
source in a first streaming pass and encodes with :func:`normalization_gain_db`
in a second; :func:`normalize_master` is the same for an :class:`Audio` in memory.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import loudness
from ..audio import Audio
from ..errors import ParameterError

__all__ = ["apply_gain", "check_normalize_preset", "normalization_gain_db", "normalize_master"]


def check_normalize_preset(preset: str) -> str:
    """``preset`` if it is a key of :data:`audiokit.loudness.PRESETS`, else ParameterError."""
    if preset not in loudness.PRESETS:
        raise ParameterError(f"normalize is {preset!r}; expected one of {', '.join(loudness.PRESETS)}")
    return preset


def normalization_gain_db(report: loudness.LoudnessReport, *, preset: str) -> float:
    """The one gain, dB, that brings a programme measured as ``report`` to ``preset``, peaks permitting.

    Parameters
    ----------
    report : LoudnessReport
        The programme's BS.1770 measurement.
    preset : str
        A key of :data:`audiokit.loudness.PRESETS`.

    Returns
    -------
    float
        0.0 when the loudness is undefined (silence or under 400 ms).

    Examples
    --------
    >>> from audiokit.loudness import LoudnessReport
    >>> normalization_gain_db(LoudnessReport(-20.0, 5.0, -9.5, -10.0, -15.0, -17.0), preset="spotify")
    6.0
    """
    gain_db = loudness.preset_gains(report)[check_normalize_preset(preset)]["gain_db"]
    return 0.0 if gain_db is None else float(gain_db)


def apply_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """``samples`` times ``gain_db`` as a float32 factor (the same product block by block or whole)."""
    return samples * np.float32(10.0 ** (gain_db / 20.0))


def normalize_master(audio: Audio, *, preset: str) -> Audio:
    """Apply one gain so ``audio`` reads the preset's loudness, peaks permitting.

    Parameters
    ----------
    audio : Audio
    preset : str
        A key of :data:`audiokit.loudness.PRESETS`.

    Returns
    -------
    Audio
        Unchanged when the loudness is undefined (silence or under 400 ms).

    Raises
    ------
    ParameterError
        For an unknown preset.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000 * 5) / 48000
    >>> quiet = Audio(np.tile(0.01 * np.sin(2 * np.pi * 997 * t), (2, 1)).astype(np.float32), 48000)
    >>> round(loudness.measure(normalize_master(quiet, preset="spotify").samples, 48000).integrated_lufs, 2)
    -14.0
    """
    check_normalize_preset(preset)
    with warnings.catch_warnings():  # undefined loudness leaves the master as it is
        warnings.simplefilter("ignore", loudness.LoudnessWarning)
        report = loudness.measure(audio.samples, audio.sample_rate)
    return Audio(apply_gain(audio.samples, normalization_gain_db(report, preset=preset)), audio.sample_rate)
