"""Channel layouts: names, default layouts, BS.1770 weights and downmixes.

This module is the one home of every fact about channel order. Layouts use
ffmpeg's names and channel spelling (``"5.1"`` is FL FR FC LFE BL BR), because
that is what :func:`audiokit.probe` reports and what PyAV writes. A signal
whose file names no layout gets the default for its channel count
(:data:`DEFAULT_LAYOUTS`, the same choice ffmpeg and WAV make: 3 channels are
"2.1", 4 are "quad").

Channel names may also be given in the spelling of ITU-R BS.1770 and BS.775
(``L R C LFE Ls Rs``) or of SMPTE/Dolby (``Lss Rss Lrs Rrs Lb Rb Cs``); they are
read as the aliases in :data:`ALIASES`. An unknown name is an error, never a
silent guess: a channel's weight in the loudness sum and its place in a
downmix depend on it.

References
----------
- ITU-R BS.1770-5 (2023), Annex 1 Table 3: weights 1.41 (+1.5 dB) for the
  surround channels (side and back, below 30 degrees elevation), 0 for LFE,
  1.0 otherwise.
- ITU-R BS.775-4 (2022), Table 2: the 3/2 -> 2/0 downmix ``L' = L + 0.7071 C +
  0.7071 Ls``, ``R' = R + 0.7071 C + 0.7071 Rs``, LFE omitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np

from ._arrays import as_samples
from .errors import ParameterError

__all__ = [
    "ALIASES",
    "DEFAULT_LAYOUTS",
    "LAYOUTS",
    "ChannelLayout",
    "bs1770_weights",
    "channel_names",
    "default_layout_name",
    "downmix",
    "loudspeaker_azimuths",
    "stereo_matrix",
    "to_mono",
]

#: A layout as a name ("5.1") or as the channel names in order (("L", "R", "C")).
ChannelLayout = Union[str, Sequence[str]]

#: Channel names, in order, of ffmpeg's layouts up to 7.1 (ffmpeg's spelling).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "mono": ("FC",),
    "stereo": ("FL", "FR"),
    "2.1": ("FL", "FR", "LFE"),
    "3.0": ("FL", "FR", "FC"),
    "3.0(back)": ("FL", "FR", "BC"),
    "4.0": ("FL", "FR", "FC", "BC"),
    "quad": ("FL", "FR", "BL", "BR"),
    "quad(side)": ("FL", "FR", "SL", "SR"),
    "3.1": ("FL", "FR", "FC", "LFE"),
    "5.0": ("FL", "FR", "FC", "BL", "BR"),
    "5.0(side)": ("FL", "FR", "FC", "SL", "SR"),
    "4.1": ("FL", "FR", "FC", "LFE", "BC"),
    "5.1": ("FL", "FR", "FC", "LFE", "BL", "BR"),
    "5.1(side)": ("FL", "FR", "FC", "LFE", "SL", "SR"),
    "6.0": ("FL", "FR", "FC", "BC", "SL", "SR"),
    "6.0(front)": ("FL", "FR", "FLC", "FRC", "SL", "SR"),
    "hexagonal": ("FL", "FR", "FC", "BL", "BR", "BC"),
    "6.1": ("FL", "FR", "FC", "LFE", "BC", "SL", "SR"),
    "6.1(back)": ("FL", "FR", "FC", "LFE", "BL", "BR", "BC"),
    "6.1(front)": ("FL", "FR", "LFE", "FLC", "FRC", "SL", "SR"),
    "7.0": ("FL", "FR", "FC", "BL", "BR", "SL", "SR"),
    "7.0(front)": ("FL", "FR", "FC", "FLC", "FRC", "SL", "SR"),
    "7.1": ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"),
    "7.1(wide)": ("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC"),
    "7.1(wide-side)": ("FL", "FR", "FC", "LFE", "FLC", "FRC", "SL", "SR"),
}

#: The layout of a signal whose file names none, by channel count (ffmpeg's and
#: WAVE_FORMAT_EXTENSIBLE's defaults).
DEFAULT_LAYOUTS: dict[int, str] = {
    1: "mono",
    2: "stereo",
    3: "2.1",
    4: "quad",
    5: "5.0",
    6: "5.1",
    7: "6.1",
    8: "7.1",
}

#: Other spellings of ffmpeg's channel names (upper-cased keys).
ALIASES: dict[str, str] = {
    "M": "FC",
    "L": "FL",
    "R": "FR",
    "C": "FC",
    "LS": "SL",
    "RS": "SR",
    "LSS": "SL",
    "RSS": "SR",
    "LSR": "BL",
    "RSR": "BR",
    "LRS": "BL",
    "RRS": "BR",
    "LB": "BL",
    "RB": "BR",
    "CS": "BC",
    "LC": "FLC",
    "RC": "FRC",
    "LFE1": "LFE",
}

#: BS.1770-5 Table 3: side and back channels are weighted +1.5 dB.
SURROUND_WEIGHT = 1.41
_SURROUNDS = frozenset({"SL", "SR", "BL", "BR", "BC"})
_LOW_FREQUENCY = frozenset({"LFE", "LFE2"})

#: BS.775-4 Table 2 coefficient for centre and surround channels, -3 dB.
MINUS_3DB = 0.7071
#: Each channel's contribution to (left, right) of the stereo downmix. A back
#: centre feeds both sides at 0.7071 x 0.7071 = 0.5; front left/right of
#: centre feed their side whole, as ffmpeg's rematrixing does.
_TO_STEREO: dict[str, tuple[float, float]] = {
    "FL": (1.0, 0.0),
    "FR": (0.0, 1.0),
    "FC": (MINUS_3DB, MINUS_3DB),
    "LFE": (0.0, 0.0),
    "LFE2": (0.0, 0.0),
    "FLC": (1.0, 0.0),
    "FRC": (0.0, 1.0),
    "SL": (MINUS_3DB, 0.0),
    "SR": (0.0, MINUS_3DB),
    "BL": (MINUS_3DB, 0.0),
    "BR": (0.0, MINUS_3DB),
    "BC": (0.5, 0.5),
}
_KNOWN_NAMES = frozenset(_TO_STEREO)
#: Nominal loudspeaker azimuth of each channel, degrees counter-clockwise from the
#: front (ITU-R BS.2051-3 Table 1, "0+7+0": sides at 90, rears at 150). A layout
#: with one surround pair only (5.1 names it BL/BR, 5.1(side) SL/SR) has BS.775's
#: surround pair, placed at 110 degrees (BS.775-4 Fig. 1: 100-120).
_AZIMUTHS_DEG = {"FL": 30.0, "FR": -30.0, "FC": 0.0, "FLC": 15.0, "FRC": -15.0, "SL": 90.0, "SR": -90.0,
                 "BL": 150.0, "BR": -150.0, "BC": 180.0}
_SURROUND_PAIR_DEG = 110.0


def default_layout_name(num_channels: int) -> str:
    """The layout name for ``num_channels`` when a file names none.

    Counts above 8 have no standard layout; they are named as ffmpeg names
    them, "N channels", and have no weights or downmix until a layout is given.

    Examples
    --------
    >>> default_layout_name(6)
    '5.1'
    >>> default_layout_name(12)
    '12 channels'
    """
    return DEFAULT_LAYOUTS.get(num_channels, f"{num_channels} channels")


def channel_names(num_channels: int, layout: ChannelLayout | None = None) -> tuple[str, ...]:
    """The channel names, in ffmpeg's spelling, of a layout.

    Parameters
    ----------
    num_channels : int
        Channels in the signal.
    layout : str or sequence of str, optional
        An ffmpeg layout name ("stereo", "5.1(side)", ...), "N channels" (no
        layout: the default for N is used), or the names in order in any
        spelling of :data:`ALIASES` ("L", "R", "C", "LFE", "Ls", "Rs").
        Default: :data:`DEFAULT_LAYOUTS` by channel count.

    Returns
    -------
    tuple of str [length=num_channels]

    Raises
    ------
    ParameterError
        For an unknown layout or channel name, a count that does not match the
        signal, or a count with no default layout.

    Examples
    --------
    >>> channel_names(6, ("L", "R", "C", "LFE", "Ls", "Rs"))
    ('FL', 'FR', 'FC', 'LFE', 'SL', 'SR')
    >>> channel_names(3)
    ('FL', 'FR', 'LFE')
    """
    if layout is None or layout == f"{num_channels} channels":
        if num_channels not in DEFAULT_LAYOUTS:
            raise ParameterError(
                f"a signal with {num_channels} channels has no default layout; pass a layout "
                f"(an ffmpeg layout name such as '7.1' or the channel names in order)"
            )
        layout = DEFAULT_LAYOUTS[num_channels]
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            raise ParameterError(
                f"channel layout is {layout!r}; expected one of {', '.join(LAYOUTS)}, or the channel names in order"
            )
        names = LAYOUTS[layout]
    else:
        names = tuple(_canonical_name(name) for name in layout)
    if len(names) != num_channels:
        raise ParameterError(f"channel layout {layout!r} has {len(names)} channels; the signal has {num_channels}")
    return names


def _canonical_name(name: str) -> str:
    upper = str(name).strip().upper()
    canonical = ALIASES.get(upper, upper)
    if canonical not in _KNOWN_NAMES:
        raise ParameterError(
            f"channel name {name!r} is unknown; expected one of {', '.join(sorted(_KNOWN_NAMES))} "
            f"or an alias ({', '.join(sorted(ALIASES))})"
        )
    return canonical


def bs1770_weights(num_channels: int, layout: ChannelLayout | None = None) -> np.ndarray:
    """BS.1770-5 channel weights (Annex 1 Table 3) for a layout.

    Parameters
    ----------
    num_channels : int
    layout : str or sequence of str, optional
        See :func:`channel_names`.

    Returns
    -------
    np.ndarray [shape=(num_channels,), dtype=float64]
        1.0 for front channels, 1.41 for side and back surrounds, 0 for LFE.

    Examples
    --------
    >>> bs1770_weights(6).tolist()
    [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]
    """
    names = channel_names(num_channels, layout)
    return np.array(
        [0.0 if name in _LOW_FREQUENCY else SURROUND_WEIGHT if name in _SURROUNDS else 1.0 for name in names]
    )


def stereo_matrix(num_channels: int, layout: ChannelLayout | None = None) -> np.ndarray:
    """The ``(2, num_channels)`` BS.775-4 matrix from a layout to stereo.

    Examples
    --------
    >>> [round(float(v), 4) for v in stereo_matrix(6)[0]]
    [1.0, 0.0, 0.7071, 0.0, 0.7071, 0.0]
    """
    names = channel_names(num_channels, layout)
    return np.array([_TO_STEREO[name] for name in names], np.float32).T


def loudspeaker_azimuths(num_channels: int, layout: ChannelLayout | None = None) -> tuple[float | None, ...]:
    """Where each channel's loudspeaker stands, for rendering a channel bed binaurally.

    Parameters
    ----------
    num_channels : int
    layout : str or sequence of str, optional
        See :func:`channel_names`.

    Returns
    -------
    tuple of float or None
        Azimuth in degrees counter-clockwise from the front (90 = left); None
        for a low-frequency channel, which has no direction.

    Examples
    --------
    >>> loudspeaker_azimuths(6)
    (30.0, -30.0, 0.0, None, 110.0, -110.0)
    >>> loudspeaker_azimuths(8)
    (30.0, -30.0, 0.0, None, 150.0, -150.0, 90.0, -90.0)
    """
    names = channel_names(num_channels, layout)
    one_surround_pair = ("SL" in names) != ("BL" in names)
    azimuths: list[float | None] = []
    for name in names:
        if name in _LOW_FREQUENCY:
            azimuths.append(None)
        elif name in ("SL", "SR", "BL", "BR") and one_surround_pair:
            azimuths.append(_SURROUND_PAIR_DEG if name.endswith("L") else -_SURROUND_PAIR_DEG)
        else:
            azimuths.append(_AZIMUTHS_DEG[name])
    return tuple(azimuths)


def downmix(samples: np.ndarray, num_channels: int, *, layout: ChannelLayout | None = None) -> np.ndarray:
    """Downmix ``samples`` to ``num_channels`` (1 or 2), or return them unchanged.

    Stereo is BS.775-4's matrix (:func:`stereo_matrix`); mono is the mean of
    that stereo downmix (an equal-power sum would raise a centred, correlated
    signal by 3 dB). No normalisation is applied: the recommendation's
    coefficients keep a centre-panned voice at the same level, and a hot
    multichannel master can go above full scale (float keeps it).

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
    num_channels : int
        The channel count wanted: the input's own (no change), 2 or 1.
    layout : str or sequence of str, optional
        The input's layout (see :func:`channel_names`).

    Returns
    -------
    np.ndarray [shape=(num_channels, frames), dtype=float32]

    Raises
    ------
    ParameterError
        If ``num_channels`` is more than the input has (no upmixing) or is
        neither 1, 2 nor the input's count.

    Examples
    --------
    >>> import numpy as np
    >>> five_one = np.zeros((6, 4), np.float32); five_one[2] = 1.0   # centre only
    >>> [round(float(v), 4) for v in downmix(five_one, 2)[:, 0]]
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
    stereo = samples if channels == 2 else stereo_matrix(channels, layout) @ samples
    if num_channels == 2:
        return np.ascontiguousarray(stereo, dtype=np.float32)
    return np.ascontiguousarray(stereo.mean(axis=0, keepdims=True, dtype=np.float32))


def to_mono(samples: np.ndarray, *, layout: ChannelLayout | None = None) -> np.ndarray:
    """The ``(1, frames)`` mono downmix of ``samples`` (see :func:`downmix`).

    A signal of more than 8 channels with no ``layout`` has no BS.775 matrix;
    its mono is the plain mean of its channels.

    Examples
    --------
    >>> import numpy as np
    >>> to_mono(np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)).tolist()
    [[0.5, 0.5]]
    """
    samples = as_samples(samples)
    if layout is None and samples.shape[0] not in DEFAULT_LAYOUTS:
        return np.ascontiguousarray(samples.mean(axis=0, keepdims=True, dtype=np.float32))
    return downmix(samples, 1, layout=layout)
