"""``normalize=``: bake a loudness-normalized master before encoding the ladder.

By default the ladder writes gain tags and leaves the audio alone (players
normalize). A normalization preset instead applies one static gain to the
master: ``target_lufs - integrated``, limited so that the true peak stays at
or under the preset's ceiling. Like Spotify's default mode, a quiet master
whose peaks leave too little headroom ends up below the target rather than
being limited; the result's ``source_integrated_lufs`` says where it landed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..audio import Audio
from ..errors import ParameterError
from .gain import measure_loudness

__all__ = ["NORMALIZE_PRESETS", "NormalizePreset", "normalize_master"]


@dataclass(frozen=True)
class NormalizePreset:
    """A loudness target."""

    #: integrated loudness wanted, LUFS
    target_lufs: float
    #: highest true peak allowed after the gain, dBTP
    ceiling_dbtp: float


#: Named targets: streaming services' published reference levels and EBU R128.
NORMALIZE_PRESETS = {
    "spotify": NormalizePreset(-14.0, -1.0),
    "apple-music": NormalizePreset(-16.0, -1.0),
    "podcast": NormalizePreset(-16.0, -1.0),
    "ebu-r128": NormalizePreset(-23.0, -1.0),
}


def normalize_master(audio: Audio, *, preset: str) -> Audio:
    """Apply one gain so ``audio`` reads the preset's loudness, peaks permitting.

    Parameters
    ----------
    audio : Audio
    preset : str
        A key of :data:`NORMALIZE_PRESETS`.

    Returns
    -------
    Audio
        ``audio.samples * 10 ** (gain_db / 20)`` with
        ``gain_db = min(target - integrated, ceiling - true_peak)``; unchanged
        when the loudness is undefined (silence or under 400 ms).

    Raises
    ------
    ParameterError
        For an unknown preset.

    Examples
    --------
    >>> normalize_master(audio, preset="spotify")  # doctest: +SKIP
    """
    if preset not in NORMALIZE_PRESETS:
        raise ParameterError(f"normalize is {preset!r}; expected one of {', '.join(NORMALIZE_PRESETS)}")
    target = NORMALIZE_PRESETS[preset]
    integrated, peak = measure_loudness(audio.samples, audio.sample_rate)
    if not math.isfinite(integrated):
        return audio
    gain_db = min(target.target_lufs - integrated, target.ceiling_dbtp - peak)
    return Audio((audio.samples * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32), audio.sample_rate)
