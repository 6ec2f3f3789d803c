"""Named loudness targets of streaming platforms and broadcast standards.

A preset fixes the target, the true-peak ceiling and how the target is reached:
``headroom`` is pure gain, lowered if it would push the true peak over the
ceiling (Spotify's normal mode); ``limit`` reaches the target and holds the
ceiling with a look-ahead true-peak limiter; ``attenuate_only`` never raises
the level (YouTube turns loud uploads down, never quiet ones up).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ParameterError

__all__ = ["Preset", "PRESETS", "get_preset"]

#: The two ways of reaching a target.
MODES = ("headroom", "limit")


@dataclass(frozen=True)
class Preset:
    """A loudness-normalization target."""

    #: the preset's name, as used on the command line
    name: str
    #: integrated loudness to reach, LUFS
    target_lufs: float
    #: true-peak ceiling, dBTP
    true_peak_dbtp: float
    #: "headroom" (pure gain under the ceiling) or "limit" (gain + true-peak limiter)
    mode: str
    #: only ever turn the level down
    attenuate_only: bool
    #: where the numbers come from
    description: str

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return asdict(self)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("spotify", -14.0, -1.0, "headroom", False, "Spotify normal"),
        Preset("spotify-loud", -11.0, -1.0, "limit", False, "Spotify loud (player applies a limiter)"),
        Preset("spotify-quiet", -19.0, -1.0, "headroom", False, "Spotify quiet"),
        Preset("apple-music", -16.0, -1.0, "headroom", False, "Apple Music Sound Check"),
        Preset("youtube", -14.0, -1.0, "headroom", True, "YouTube (turns loud uploads down only)"),
        Preset("podcast", -16.0, -1.0, "limit", False, "Apple Podcasts: -16 LUFS +-1, peaks under -1 dBTP"),
        Preset("ebu-r128", -23.0, -1.0, "limit", False, "EBU R 128 broadcast"),
        Preset("atsc-a85", -24.0, -2.0, "limit", False, "ATSC A/85 broadcast (US)"),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises
    ------
    ParameterError
        If no preset has that name (the message lists them).

    Examples
    --------
    >>> get_preset("podcast").target_lufs
    -16.0
    """
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ParameterError(f"preset is {name!r}; expected one of {', '.join(PRESETS)}") from None
