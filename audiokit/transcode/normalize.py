"""``normalize=``: bake a loudness-normalized master before encoding the ladder.

By default the ladder writes gain tags and leaves the audio alone (players
normalize). A normalization preset (any of :data:`audiokit.loudness.PRESETS`)
instead applies one static gain to the master with
:func:`audiokit.loudness.normalize` in ``headroom`` mode: ``target_lufs -
integrated``, lowered so that the true peak stays at or under the preset's
ceiling. Like Spotify's default mode, a quiet master whose peaks leave too
little headroom ends up below the target rather than being limited; the
result's ``source_integrated_lufs`` says where it landed.
"""

from __future__ import annotations

import warnings

from .. import loudness
from ..audio import Audio
from ..errors import ParameterError

__all__ = ["normalize_master"]


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
    >>> normalize_master(audio, preset="spotify")  # doctest: +SKIP
    """
    if preset not in loudness.PRESETS:
        raise ParameterError(f"normalize is {preset!r}; expected one of {', '.join(loudness.PRESETS)}")
    with warnings.catch_warnings():  # undefined loudness leaves the master as it is
        warnings.simplefilter("ignore", loudness.LoudnessWarning)
        samples, _ = loudness.normalize(audio.samples, audio.sample_rate, preset=preset, mode="headroom")
    return Audio(samples, audio.sample_rate)
