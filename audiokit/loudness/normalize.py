"""Loudness normalization to a target (or a named preset), track or album.

Two ways of reaching a target (the :mod:`.presets` ``mode``):

- ``headroom`` (Spotify's normal mode): one pure gain, ``target - integrated``.
  A raise is reduced so that the true peak stays at or under the ceiling; a
  cut is always applied in full (a track already over the ceiling is turned
  down to its target, not further). ``attenuate_only`` presets never raise.
- ``limit``: the gain to the target, then the look-ahead true-peak limiter of
  :mod:`.limiter`. Limiting removes a little loudness, so the gain is iterated
  (secant steps on output loudness against gain) until the output is within
  ``TOLERANCE_LU`` of the target; the ceiling holds as the project's true-peak
  meter reads it.

Album gain applies one gain to every track, from their joint gated loudness
(:func:`.meter.measure_album`); in ``limit`` mode each track is limited on its
own and the joint loudness of the limited tracks is what is iterated.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError
from .level_match import LevelMatch
from .limiter import HOLD_MS, LOOKAHEAD_MS, RELEASE_MS, _check_ceiling, _limit, _settings
from .meter import (
    RELATIVE_GATE_LU,
    AlbumReport,
    LoudnessMeter,
    LoudnessReport,
    LoudnessWarning,
    _checked,
    _gated_loudness,
    _run,
    checked_tracks,
)
from .presets import MODES, PRESETS, get_preset

if TYPE_CHECKING:
    from ..audio import Audio
    from ..channels import ChannelLayout
    from .limiter import LimiterReport

__all__ = ["NormalizationReport", "NormalizationWarning", "normalize", "normalize_album", "preset_gains"]

#: Defaults when neither a preset nor a value is given.
DEFAULT_TARGET_LUFS = -14.0
DEFAULT_TRUE_PEAK_DBTP = -1.0
DEFAULT_MODE = "headroom"
#: ``limit`` mode stops iterating once the output is this close to the target, LU
#: (issue 3 asks for +-0.1 LU).
TOLERANCE_LU = 0.02
#: Gain updates allowed in ``limit`` mode.
_MAX_ITERATIONS = 10
#: Secant slopes (LU of output per dB of gain) are clamped to this range; a
#: heavily limited programme gains little loudness per dB.
_MIN_SLOPE, _MAX_SLOPE = 0.05, 1.0
#: Largest single gain step in ``limit`` mode, dB.
_MAX_STEP_DB = 6.0
#: ``limit`` mode never drives the limiter harder than this: the gain stays
#: within this many dB above ``target - integrated``.
MAX_EXTRA_GAIN_DB = 12.0


class NormalizationWarning(UserWarning):
    """A target could not be reached (limit mode did not converge)."""


@dataclass(frozen=True)
class NormalizationReport:
    """What :func:`normalize` (or :func:`normalize_album`) did and measured."""

    #: the preset used, or None when the target was given directly
    preset: str | None
    #: integrated loudness aimed at, LUFS
    target_lufs: float
    #: true-peak ceiling, dBTP
    true_peak_dbtp: float
    #: "headroom" or "limit"
    mode: str
    #: gain applied to the input (before the limiter in limit mode), dB
    gain_db: float
    #: largest limiter gain reduction, dB (0 in headroom mode)
    limiter_max_reduction_db: float
    #: fraction of the programme's frames the limiter reduced by more than 0.1 dB, 0..1
    limited_fraction: float
    #: measurements of the input (AlbumReport for an album)
    input: LoudnessReport | AlbumReport
    #: measurements of the output as handed to the encoder (AlbumReport for an album)
    output: LoudnessReport | AlbumReport
    #: measurements of the written file as decoded (file-to-file normalization only)
    delivered: LoudnessReport | None = None
    #: what matching a lossy encode to its intended level did (file-to-file normalization only)
    level_match: LevelMatch | None = None
    #: the ceiling the limiter or headroom gain used, dBTP, when a lossy file peaked over
    #: ``true_peak_dbtp`` as decoded and was made again under a lower one (else None)
    encoder_ceiling_dbtp: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict; ``input``, ``output`` and ``delivered`` are nested report dicts."""
        document = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("input", "output", "delivered", "level_match"):
            value = getattr(self, name)
            document[name] = None if value is None else value.to_dict()
        return document


@dataclass(frozen=True)
class _Target:
    """A resolved target: preset fields with the explicit values laid over them."""

    #: preset name or None
    preset: str | None
    #: LUFS
    target_lufs: float
    #: dBTP
    true_peak_dbtp: float
    #: "headroom" or "limit"
    mode: str
    #: never raise the level
    attenuate_only: bool


def _resolve(preset: str | None, target_lufs: float | None, true_peak_dbtp: float | None,
             mode: str | None) -> _Target:
    base = get_preset(preset) if preset is not None else None
    if target_lufs is None:
        target_lufs = base.target_lufs if base else DEFAULT_TARGET_LUFS
    if isinstance(target_lufs, bool) or not isinstance(target_lufs, (int, float)) \
            or not -70.0 < target_lufs <= 0.0:
        raise ParameterError(f"target_lufs is {target_lufs!r}; expected a loudness in (-70, 0] LUFS")
    ceiling = _check_ceiling(true_peak_dbtp if true_peak_dbtp is not None
                             else base.true_peak_dbtp if base else DEFAULT_TRUE_PEAK_DBTP)
    mode = mode if mode is not None else base.mode if base else DEFAULT_MODE
    if mode not in MODES:
        raise ParameterError(f"mode is {mode!r}; expected one of {', '.join(MODES)}")
    return _Target(base.name if base else None, float(target_lufs), ceiling, mode,
                   bool(base and base.attenuate_only))


def _headroom_gain_db(integrated_lufs: float, true_peak_dbtp: float, target_lufs: float,
                      ceiling_dbtp: float, attenuate_only: bool) -> float | None:
    """Headroom-mode gain, dB; None when the loudness is undefined."""
    if math.isinf(integrated_lufs):
        return None
    gain = target_lufs - integrated_lufs
    if attenuate_only:
        gain = min(gain, 0.0)
    if gain > 0.0:
        gain = min(gain, max(0.0, ceiling_dbtp - true_peak_dbtp))
    return gain


def preset_gains(report: LoudnessReport | AlbumReport) -> dict[str, dict]:
    """The headroom-mode gain every preset would apply to a measured programme.

    Parameters
    ----------
    report : LoudnessReport or AlbumReport

    Returns
    -------
    dict[str, dict]
        ``{preset name: {"target_lufs": float, "gain_db": float or None}}``;
        ``gain_db`` is None when the loudness is undefined (silence, < 400 ms).

    Examples
    --------
    >>> from audiokit.loudness import LoudnessReport
    >>> report = LoudnessReport(-9.0, 6.0, -0.2, -0.5, -6.0, -7.5)
    >>> preset_gains(report)["spotify"]
    {'target_lufs': -14.0, 'gain_db': -5.0}
    """
    gains = {}
    for name, preset in PRESETS.items():
        gains[name] = {
            "target_lufs": preset.target_lufs,
            "gain_db": _headroom_gain_db(report.integrated_lufs, report.true_peak_dbtp, preset.target_lufs,
                                         preset.true_peak_dbtp, preset.attenuate_only),
        }
    return gains


def _apply_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    return samples * np.float32(10.0 ** (gain_db / 20.0))


def _joint_integrated(tracks: list[np.ndarray], rates: list[int], channel_layout: ChannelLayout | None) -> float:
    """Integrated loudness of tracks gated together (one track: its own)."""
    blocks = []
    for samples, sample_rate in zip(tracks, rates):
        meter = LoudnessMeter(sample_rate, samples.shape[0], channel_layout=channel_layout)
        blocks.append(_run(meter, samples, with_peaks=False)._gating_blocks())
    return _gated_loudness(np.concatenate(blocks), RELATIVE_GATE_LU)[0]


def _measure(tracks: list[np.ndarray], rates: list[int],
             channel_layout: ChannelLayout | None) -> list[LoudnessReport]:
    return [
        _run(LoudnessMeter(rate, samples.shape[0], channel_layout=channel_layout), samples,
             with_peaks=True).report(warn=False)
        for samples, rate in zip(tracks, rates)
    ]


def _album(reports: list[LoudnessReport], tracks: list[np.ndarray], rates: list[int],
           channel_layout: ChannelLayout | None) -> AlbumReport:
    return AlbumReport(
        integrated_lufs=_joint_integrated(tracks, rates, channel_layout),
        true_peak_dbtp=max(report.true_peak_dbtp for report in reports),
        sample_peak_dbfs=max(report.sample_peak_dbfs for report in reports),
        tracks=tuple(reports),
    )


def _limit_tracks(tracks: list[np.ndarray], rates: list[int], gain_db: float,
                  ceiling_dbtp: float) -> tuple[list[np.ndarray], list[LimiterReport]]:
    outputs, reports = [], []
    for samples, rate in zip(tracks, rates):
        out, report = _limit(_apply_gain(samples, gain_db), rate, ceiling_dbtp,
                             _settings(rate, LOOKAHEAD_MS, HOLD_MS, RELEASE_MS))
        outputs.append(out)
        reports.append(report)
    return outputs, reports


def _initial_gain(target: _Target, integrated_lufs: float, true_peak_dbtp: float) -> tuple[float, bool]:
    """(the first gain in dB, whether limit mode iterates it) for a programme's input measurements."""
    if math.isinf(integrated_lufs):
        warnings.warn("the input's integrated loudness is undefined (silent or shorter than 400 ms); "
                      "no gain applied", LoudnessWarning, stacklevel=4)
        return 0.0, False
    if target.mode == "headroom":
        gain = _headroom_gain_db(integrated_lufs, true_peak_dbtp, target.target_lufs, target.true_peak_dbtp,
                                 target.attenuate_only)
        return (0.0 if gain is None else gain), False
    gain = target.target_lufs - integrated_lufs
    iterate = not (target.attenuate_only and gain > 0.0)
    return (gain if iterate else 0.0), iterate


def _iterate_gain(gain: float, iterate: bool, target: _Target, run: Callable[[float], float]) -> float:
    """Limit mode: the gain whose limited output is within TOLERANCE_LU of the target (secant steps).

    ``run(gain)`` limits the programme at ``gain`` dB and returns the output's
    integrated loudness; the last call is at the returned gain, so its output
    is the result. Without ``iterate``, ``run`` is called once.
    """
    highest = gain + MAX_EXTRA_GAIN_DB
    loudness = run(gain)
    previous = None
    steps = 0
    while iterate:
        error = target.target_lufs - loudness
        if abs(error) <= TOLERANCE_LU:
            break
        if steps == _MAX_ITERATIONS or (error > 0.0 and gain >= highest):
            warnings.warn(
                f"limit mode reached {loudness:.2f} LUFS, not {target.target_lufs} +- {TOLERANCE_LU} LU "
                f"(the programme cannot be made that loud under {target.true_peak_dbtp} dBTP without "
                f"more than {MAX_EXTRA_GAIN_DB} dB of extra gain into the limiter)",
                NormalizationWarning,
                stacklevel=4,
            )
            break
        slope = 1.0
        if previous is not None and gain != previous[0]:
            slope = min(_MAX_SLOPE, max(_MIN_SLOPE, (loudness - previous[1]) / (gain - previous[0])))
        previous = (gain, loudness)
        gain = min(highest, gain + max(-_MAX_STEP_DB, min(_MAX_STEP_DB, error / slope)))
        loudness = run(gain)
        steps += 1
    return gain


def _normalize_tracks(tracks: list[np.ndarray], rates: list[int], target: _Target, input_album: AlbumReport,
                      channel_layout: ChannelLayout | None) -> tuple[list[np.ndarray], float, float, float]:
    """Shared core: returns (outputs, gain_db, max reduction dB, limited fraction)."""
    gain, iterate = _initial_gain(target, input_album.integrated_lufs, input_album.true_peak_dbtp)
    if target.mode == "headroom":
        return [_apply_gain(samples, gain) for samples in tracks], gain, 0.0, 0.0
    limited: dict[str, Any] = {}  # "outputs" and "reports" of the latest run

    def run(gain_db: float) -> float:
        limited["outputs"], limited["reports"] = _limit_tracks(tracks, rates, gain_db, target.true_peak_dbtp)
        return _joint_integrated(limited["outputs"], rates, channel_layout)

    gain = _iterate_gain(gain, iterate, target, run)
    outputs, reports = limited["outputs"], limited["reports"]
    frames = sum(samples.shape[1] for samples in tracks)
    limited_frames = sum(report.limited_fraction * samples.shape[1] for report, samples in zip(reports, tracks))
    return (outputs, gain, max(report.max_reduction_db for report in reports),
            limited_frames / frames if frames else 0.0)


def normalize(samples: np.ndarray, sample_rate: int, *, preset: str | None = None, target_lufs: float | None = None,
              true_peak_dbtp: float | None = None, mode: str | None = None,
              channel_layout: ChannelLayout | None = None) -> tuple[np.ndarray, NormalizationReport]:
    """Bring a programme to a loudness target under a true-peak ceiling.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
        Finite float or integer PCM.
    sample_rate : int
        Hz.
    preset : str, optional
        A name from :data:`~.presets.PRESETS` ("spotify", "podcast", ...);
        supplies the target, ceiling, mode and ``attenuate_only``. Values
        given explicitly below override it.
    target_lufs : float, optional
        Integrated loudness to reach; default -14 LUFS.
    true_peak_dbtp : float, optional
        Ceiling; default -1 dBTP.
    mode : {"headroom", "limit"}, optional
        Default "headroom" (see the module docstring).
    channel_layout : str or sequence of str, optional
        See :func:`~.meter.channel_weights`.

    Returns
    -------
    out : np.ndarray [shape=(channels, frames), dtype=float32]
    report : NormalizationReport

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000 * 10) / 48000
    >>> x = 0.05 * np.sin(2 * np.pi * 440 * t)
    >>> y, report = normalize(x, 48000, preset="podcast")
    >>> round(report.output.integrated_lufs, 1), report.mode
    (-16.0, 'limit')
    """
    samples, sample_rate = _checked(samples, sample_rate)
    target = _resolve(preset, target_lufs, true_peak_dbtp, mode)
    tracks, rates = [samples], [sample_rate]
    before = _measure(tracks, rates, channel_layout)
    outputs, gain, reduction, fraction = _normalize_tracks(
        tracks, rates, target, _album(before, tracks, rates, channel_layout), channel_layout
    )
    after = _measure(outputs, rates, channel_layout)[0]
    return outputs[0], NormalizationReport(
        target.preset, target.target_lufs, target.true_peak_dbtp, target.mode, float(gain),
        reduction, fraction, before[0], after,
    )


def normalize_album(tracks: Sequence[Audio | tuple[np.ndarray, int]], *, preset: str | None = None, target_lufs: float | None = None,
                    true_peak_dbtp: float | None = None, mode: str | None = None,
                    channel_layout: ChannelLayout | None = None) -> tuple[list[np.ndarray], NormalizationReport]:
    """Album gain: one gain for every track, from their joint gated loudness.

    Parameters
    ----------
    tracks : sequence of Audio or (samples, sample_rate) pairs
    preset, target_lufs, true_peak_dbtp, mode, channel_layout
        As :func:`normalize`; the target applies to the album as one programme.

    Returns
    -------
    outputs : list of np.ndarray [shape=(channels, frames), dtype=float32]
        In input order.
    report : NormalizationReport
        ``input`` and ``output`` are :class:`~.meter.AlbumReport`.
    """
    arrays, rates = [], []
    for samples, sample_rate in checked_tracks(tracks):
        arrays.append(samples)
        rates.append(sample_rate)
    target = _resolve(preset, target_lufs, true_peak_dbtp, mode)
    before = _album(_measure(arrays, rates, channel_layout), arrays, rates, channel_layout)
    outputs, gain, reduction, fraction = _normalize_tracks(arrays, rates, target, before, channel_layout)
    after = _album(_measure(outputs, rates, channel_layout), outputs, rates, channel_layout)
    return outputs, NormalizationReport(
        target.preset, target.target_lufs, target.true_peak_dbtp, target.mode, float(gain),
        reduction, fraction, before, after,
    )
