"""Channel downmix for ladder rungs: ITU-R BS.775 surround -> stereo, stereo -> mono.

Channels are in ffmpeg's (and WAV's) default order for each count
(:data:`LAYOUT_CHANNELS`): 2 = L R, 3 = L R LFE ("2.1"), 4 = L R Ls Rs, 5 = L R
C Ls Rs, 6 = L R C LFE Ls Rs (5.1), 7 = L R C LFE Cs Ls Rs (6.1), 8 = L R C
LFE Lb Rb Ls Rs (7.1).

The stereo matrix is BS.775-4 Table 2 ("3/2 -> 2/0"): ``L' = L + 0.7071 C +
0.7071 Ls``, ``R' = R + 0.7071 C + 0.7071 Rs``; the LFE channel is dropped
(BS.775 leaves it out of the down-mix), a back-centre feeds both sides at
0.7071 x 0.7071 = 0.5, and 7.1's back and side pairs each feed their side at
0.7071. No normalisation is applied: the recommendation's coefficients keep
a centre-panned voice at the same level, and lossy encoders take float input
above full scale. Mono is the mean of the stereo downmix (equal-power sums
would raise a correlated signal by 3 dB).
"""

from __future__ import annotations

import numpy as np

from .._arrays import as_samples
from ..errors import ParameterError

__all__ = ["LAYOUT_CHANNELS", "downmix", "stereo_matrix"]

#: BS.775-4 Table 2 coefficient for the centre and surround channels, -3 dB.
MINUS_3DB = 0.7071
#: Channel labels, in order, of the default layout for each channel count (ffmpeg's).
LAYOUT_CHANNELS = {
    2: ("L", "R"),
    3: ("L", "R", "LFE"),
    4: ("L", "R", "Ls", "Rs"),
    5: ("L", "R", "C", "Ls", "Rs"),
    6: ("L", "R", "C", "LFE", "Ls", "Rs"),
    7: ("L", "R", "C", "LFE", "Cs", "Ls", "Rs"),
    8: ("L", "R", "C", "LFE", "Lb", "Rb", "Ls", "Rs"),
}
#: Contribution of each labelled channel to (left, right).
_TO_STEREO = {
    "C": (MINUS_3DB, MINUS_3DB),
    "L": (1.0, 0.0),
    "R": (0.0, 1.0),
    "LFE": (0.0, 0.0),
    "Ls": (MINUS_3DB, 0.0),
    "Rs": (0.0, MINUS_3DB),
    "Lb": (MINUS_3DB, 0.0),
    "Rb": (0.0, MINUS_3DB),
    "Cs": (0.5, 0.5),
}


def stereo_matrix(num_channels: int) -> np.ndarray:
    """The ``(2, num_channels)`` BS.775 matrix from the default layout to stereo.

    Examples
    --------
    >>> stereo_matrix(6)[0].round(4).tolist()
    [1.0, 0.0, 0.7071, 0.0, 0.7071, 0.0]
    """
    if num_channels not in LAYOUT_CHANNELS:
        raise ParameterError(f"num_channels is {num_channels!r}; a downmix needs 2 to {max(LAYOUT_CHANNELS)} channels")
    return np.array([_TO_STEREO[label] for label in LAYOUT_CHANNELS[num_channels]], np.float32).T


def downmix(samples, num_channels: int) -> np.ndarray:
    """Downmix ``samples`` to ``num_channels`` (1 or 2), or return them unchanged.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
        In the default layout for ``channels`` (see the module docstring).
    num_channels : int
        The channel count wanted: the input's own (no change), 2 or 1.

    Returns
    -------
    np.ndarray [shape=(num_channels, frames), dtype=float32]

    Raises
    ------
    ParameterError
        If ``num_channels`` is more than the input has (upmixing is not done)
        or is neither 1, 2 nor the input's count.

    Examples
    --------
    >>> import numpy as np
    >>> five_one = np.zeros((6, 4), np.float32); five_one[2] = 1.0   # centre only
    >>> downmix(five_one, 2)[:, 0].round(4).tolist()
    [0.7071, 0.7071]
    """
    samples = as_samples(samples)
    channels = samples.shape[0]
    if num_channels == channels:
        return samples
    if num_channels > channels or num_channels not in (1, 2):
        raise ParameterError(
            f"cannot downmix {channels} channels to {num_channels}; expected 1, 2 or {channels} (no upmixing)"
        )
    stereo = samples if channels == 2 else stereo_matrix(channels) @ samples
    if num_channels == 2:
        return np.ascontiguousarray(stereo, dtype=np.float32)
    return np.ascontiguousarray(stereo.mean(axis=0, keepdims=True, dtype=np.float32))
