"""Audio delivery checks, reported as flags: clipping, true-peak overs, loudness off spec,
dead air, DC offset, phase (mono-compatibility) problems and sudden loudness jumps.

The delivery spec is a loudness preset (:data:`audiokit.loudness.PRESETS`,
e.g. ``podcast``: -16 LUFS +-1 LU, true peak under -1 dBTP).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from audiokit import loudness
from audiokit.audio import Audio
from audiokit.errors import ParameterError

from .result import Flag

__all__ = ["CheckOptions", "check_audio"]

#: Frame of the level envelope used for dead air and phase checks, ms.
FRAME_MS = 50
#: True peak is localized by oversampling 4x (BS.1770 Annex 2 at 44.1/48 kHz).
OVERSAMPLE = 4
#: Seconds of audio oversampled at a time when localizing true-peak overs.
TRUE_PEAK_CHUNK_S = 10.0
#: Hops of 10 ms in one 400 ms momentary window.
MOMENTARY_HOPS = 40
#: Mono-downmix losses above this are reported as this (a full cancellation is infinite), dB.
MAX_LOSS_DB = 60.0
#: Problems closer than this are reported as one region, s.
MERGE_S = 0.25


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds of the audio checks."""

    #: loudness preset name giving target_lufs and true_peak_dbtp
    spec: str = "podcast"
    #: accepted distance from the preset's target, LU
    loudness_tolerance_lu: float = 1.0
    #: a sample at or above this magnitude counts as clipped (full scale is 1.0)
    clip_level: float = 0.999
    #: consecutive clipped samples that make a clip
    min_clip_samples: int = 3
    #: a stretch quieter than this is silence, dBFS
    silence_dbfs: float = -60.0
    #: silence at least this long is dead air, s
    dead_air_s: float = 3.0
    #: a channel mean above this magnitude is a DC offset, dBFS
    dc_offset_dbfs: float = -40.0
    #: inter-channel correlation below this (over non-silent frames) is a phase problem
    min_correlation: float = -0.3
    #: phase problems shorter than this are not reported, s
    min_phase_s: float = 1.0
    #: a momentary rise of at least this over the loudest moment of the preceding window is a jump, LU
    jump_lu: float = 10.0
    #: the preceding window, s
    jump_window_s: float = 3.0
    #: the preceding window must reach this for a rise to count (no jumps out of silence), LUFS
    jump_gate_lufs: float = -50.0

    def __post_init__(self) -> None:
        loudness.get_preset(self.spec)
        if not 0.0 < self.clip_level <= 1.0 or self.min_clip_samples < 1 or self.dead_air_s <= 0:
            raise ParameterError(
                f"clip_level={self.clip_level}, min_clip_samples={self.min_clip_samples}, "
                f"dead_air_s={self.dead_air_s}; expected 0 < clip_level <= 1, min_clip_samples >= 1, dead_air_s > 0"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _regions(mask: np.ndarray, *, hop_s: float, merge_s: float = MERGE_S, min_s: float = 0.0) -> list[tuple[int, int]]:
    """(first, stop) index runs of True in ``mask``, runs closer than ``merge_s`` joined, shorter than ``min_s`` dropped."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    runs: list[list[int]] = []
    for first, stop in zip(edges[::2], edges[1::2]):
        if runs and (first - runs[-1][1]) * hop_s <= merge_s:
            runs[-1][1] = stop
        else:
            runs.append([first, stop])
    return [(a, b) for a, b in runs if (b - a) * hop_s >= min_s]


def _flag(category: str, severity: str, start_s: float, end_s: float, evidence: str, *, value: float,
          limit: float) -> Flag:
    return Flag(category=category, severity=severity, start_s=round(float(start_s), 3), end_s=round(float(end_s), 3),
                source="audio", rule_id=f"audio.{category}", confidence=1.0, evidence=evidence,
                value=round(float(value), 3), limit=round(float(limit), 3))


def _clipping(samples: np.ndarray, sample_rate: int, options: CheckOptions) -> list[Flag]:
    clipped = np.abs(samples) >= options.clip_level
    hits = np.zeros(samples.shape[1], bool)
    for row in clipped:
        padded = np.concatenate(([0], row.astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(padded))
        for first, stop in zip(edges[::2], edges[1::2]):
            if stop - first >= options.min_clip_samples:
                hits[first:stop] = True
    flags = []
    for first, stop in _regions(hits, hop_s=1.0 / sample_rate):
        count = int(hits[first:stop].sum())
        flags.append(_flag("clipping", "high" if count >= sample_rate // 100 else "medium",
                           first / sample_rate, stop / sample_rate,
                           f"{count} samples at full scale in runs of >= {options.min_clip_samples}",
                           value=count, limit=options.min_clip_samples))
    return flags


def _true_peak_overs(samples: np.ndarray, sample_rate: int, report, ceiling_dbtp: float) -> list[Flag]:
    from scipy.signal import resample_poly

    if not report.true_peak_dbtp > ceiling_dbtp:
        return []
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    chunk, pad = int(TRUE_PEAK_CHUNK_S * sample_rate), 64
    peaks = np.zeros(samples.shape[1], np.float32)
    for start in range(0, samples.shape[1], chunk):
        lo, hi = max(0, start - pad), min(samples.shape[1], start + chunk + pad)
        up = np.abs(resample_poly(samples[:, lo:hi], OVERSAMPLE, 1, axis=1)).max(axis=0)
        frame_peaks = up[: (hi - lo) * OVERSAMPLE].reshape(hi - lo, OVERSAMPLE).max(axis=1)
        keep = slice(start - lo, start - lo + min(chunk, samples.shape[1] - start))
        peaks[start:start + keep.stop - keep.start] = frame_peaks[keep]
    over = np.maximum(peaks, np.abs(samples).max(axis=0)) > ceiling
    regions = _regions(over, hop_s=1.0 / sample_rate) or [(0, samples.shape[1])]
    flags = []
    for first, stop in regions:
        local = float(np.max(peaks[first:stop], initial=0.0))
        local_dbtp = 20 * math.log10(local) if local > ceiling else report.true_peak_dbtp
        flags.append(_flag("true_peak", "high" if local_dbtp > 0.0 else "medium", first / sample_rate,
                           stop / sample_rate, f"true peak {local_dbtp:+.2f} dBTP over the {ceiling_dbtp:+.1f} dBTP ceiling",
                           value=local_dbtp, limit=ceiling_dbtp))
    return flags


def _loudness_off_spec(report, duration_s: float, options: CheckOptions) -> list[Flag]:
    preset = loudness.get_preset(options.spec)
    measured = report.integrated_lufs
    if not math.isfinite(measured):
        return [_flag("loudness", "high", 0.0, duration_s, f"integrated loudness undefined (silent); "
                      f"{options.spec} asks {preset.target_lufs:.1f} LUFS", value=-math.inf, limit=preset.target_lufs)]
    deviation = measured - preset.target_lufs
    if abs(deviation) <= options.loudness_tolerance_lu:
        return []
    return [_flag("loudness", "high" if abs(deviation) > 3 * options.loudness_tolerance_lu else "medium", 0.0,
                  duration_s, f"integrated {measured:.1f} LUFS, {deviation:+.1f} LU from the {options.spec} target "
                  f"{preset.target_lufs:.1f} LUFS +-{options.loudness_tolerance_lu:g}",
                  value=measured, limit=preset.target_lufs)]


def _frame_levels(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """Per-frame RMS over all channels, dBFS, shape (frames,), and the frame length in samples."""
    hop = max(1, sample_rate * FRAME_MS // 1000)
    count = samples.shape[1] // hop
    framed = samples[:, : count * hop].reshape(samples.shape[0], count, hop)
    power = (framed.astype(np.float64) ** 2).mean(axis=(0, 2))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(power), hop


def _dead_air(samples: np.ndarray, sample_rate: int, options: CheckOptions) -> list[Flag]:
    levels, hop = _frame_levels(samples, sample_rate)
    hop_s = hop / sample_rate
    flags = []
    for first, stop in _regions(levels < options.silence_dbfs, hop_s=hop_s, merge_s=0.0, min_s=options.dead_air_s):
        length = (stop - first) * hop_s
        flags.append(_flag("dead_air", "high" if length >= 3 * options.dead_air_s else "medium", first * hop_s,
                           stop * hop_s, f"{length:.2f} s below {options.silence_dbfs:.0f} dBFS",
                           value=length, limit=options.dead_air_s))
    return flags


def _dc_offset(samples: np.ndarray, duration_s: float, options: CheckOptions) -> list[Flag]:
    limit = 10.0 ** (options.dc_offset_dbfs / 20.0)
    flags = []
    for channel, mean in enumerate(samples.mean(axis=1, dtype=np.float64)):
        if abs(mean) > limit:
            dbfs = 20 * math.log10(abs(mean))
            flags.append(_flag("dc_offset", "medium", 0.0, duration_s,
                               f"channel {channel} mean {mean:+.4f} ({dbfs:.1f} dBFS) over {options.dc_offset_dbfs:.0f} dBFS",
                               value=dbfs, limit=options.dc_offset_dbfs))
    return flags


def _phase(samples: np.ndarray, sample_rate: int, options: CheckOptions) -> list[Flag]:
    if samples.shape[0] != 2:
        return []
    hop = max(1, sample_rate * FRAME_MS // 1000)
    count = samples.shape[1] // hop
    left, right = (samples[:, : count * hop].reshape(2, count, hop).astype(np.float64))
    power_l, power_r = (left ** 2).sum(axis=1), (right ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (left * right).sum(axis=1) / np.sqrt(power_l * power_r)
        level = 10 * np.log10((power_l + power_r) / (2 * hop))
    sounding = level > options.silence_dbfs
    bad = (correlation < options.min_correlation) & sounding
    # silent frames are neutral: a problem continues across the pauses of speech
    hop_s = hop / sample_rate
    flags = []
    for first, stop in _regions(bad | ~sounding, hop_s=hop_s):
        inside = np.flatnonzero(bad[first:stop])
        if inside.size == 0:
            continue
        first, stop = first + inside[0], first + inside[-1] + 1
        if (stop - first) * hop_s < options.min_phase_s:
            continue
        stereo = (power_l[first:stop] + power_r[first:stop]).sum()
        mono = ((left[first:stop] + right[first:stop]) ** 2).sum() / 2
        loss_db = min(10 * math.log10(stereo / max(mono, 1e-30)), MAX_LOSS_DB)
        mean_corr = float(np.mean(correlation[first:stop][bad[first:stop]]))
        flags.append(_flag("phase", "high" if mean_corr < -0.7 else "medium", first * hop_s, stop * hop_s,
                           f"channel correlation {mean_corr:+.2f} (below {options.min_correlation:+.2f}); "
                           f"a mono downmix loses {loss_db:.1f} dB", value=mean_corr, limit=options.min_correlation))
    return flags


def _loudness_jumps(samples: np.ndarray, sample_rate: int, options: CheckOptions) -> list[Flag]:
    series = loudness.momentary(samples, sample_rate, hop_ms=10)
    lufs = series.lufs
    window = int(round(options.jump_window_s / 0.01))
    if lufs.shape[0] < 2:
        return []
    # loudest momentary value of the window before the current 400 ms, for each step (-inf before the start):
    # previous[i] = max(lufs[i - lag - window : i - lag])
    lag = MOMENTARY_HOPS
    padded = np.concatenate((np.full(window + lag, -np.inf), lufs))
    previous = sliding_window_view(padded, window).max(axis=1)[: lufs.shape[0]]
    current = lufs
    with np.errstate(invalid="ignore"):
        rise = np.where(previous >= options.jump_gate_lufs, current - previous, -np.inf)
    jump = rise >= options.jump_lu
    flags = []
    for first, stop in _regions(jump, hop_s=0.01, merge_s=options.jump_window_s):
        index = first + int(np.argmax(rise[first:stop]))
        time_s = float(series.times_s[index])
        flags.append(_flag("loudness_jump", "medium", max(0.0, time_s - 0.4), time_s,
                           f"momentary loudness rose {rise[index]:.1f} LU to {current[index]:.1f} LUFS over the "
                           f"loudest {options.jump_window_s:g} s before", value=float(rise[index]), limit=options.jump_lu))
    return flags


def check_audio(audio: Audio, *, options: CheckOptions = CheckOptions()) -> tuple[list[Flag], dict]:
    """Run every audio check on ``audio``.

    Parameters
    ----------
    audio : Audio
        Samples ``(channels, frames)`` float32 and their sample rate.
    options : CheckOptions
        Thresholds and the delivery spec.

    Returns
    -------
    flags : list of Flag
        ``source="audio"``, confidence 1, each with its measured ``value``
        and the ``limit`` it crossed, in time order.
    loudness : dict
        :meth:`audiokit.loudness.LoudnessReport.to_dict` of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from audiokit import Audio
    >>> tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(48000 * 4) / 48000)
    >>> flags, report = check_audio(Audio(np.stack([tone, -tone]), 48000))
    >>> sorted({flag.category for flag in flags})
    ['loudness', 'phase']
    """
    if not isinstance(options, CheckOptions):
        raise ParameterError(f"options is a {type(options).__name__}; expected a CheckOptions")
    samples, rate = audio.samples, audio.sample_rate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", loudness.LoudnessWarning)
        report = loudness.measure(samples, rate)
    preset = loudness.get_preset(options.spec)
    flags = (_clipping(samples, rate, options) + _true_peak_overs(samples, rate, report, preset.true_peak_dbtp)
             + _loudness_off_spec(report, audio.duration_s, options) + _dead_air(samples, rate, options)
             + _dc_offset(samples, audio.duration_s, options) + _phase(samples, rate, options)
             + _loudness_jumps(samples, rate, options))
    return sorted(flags, key=lambda f: (f.start_s, f.category)), report.to_dict()
