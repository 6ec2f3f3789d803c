"""Audio delivery checks, reported as flags.

Clipping, true-peak overs, loudness off spec, dead air, DC offset, phase
(mono-compatibility) problems and sudden loudness jumps.

The delivery spec is a loudness preset (:data:`audiokit.loudness.PRESETS`,
e.g. ``podcast``: -16 LUFS +-1 LU, true peak under -1 dBTP).

The checks stream: one pass over the source in blocks feeds the loudness
meter, the clipped-run tracker and 50 ms frame sums, so a file of any length
is checked in bounded memory; only when its true peak is over the ceiling
does a second pass localize the overs.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from audiokit import loudness
from audiokit.errors import ParameterError
from audiokit.io.reader import DEFAULT_BLOCK_FRAMES
from audiokit.io.source import AudioSource, open_source
from audiokit.loudness import LoudnessReport, LoudnessSeries

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
#: Frames of the source checked at a time.
BLOCK_FRAMES = DEFAULT_BLOCK_FRAMES


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
    #: a rise after at least this long below jump_gate_lufs is an onset, not a jump: the preceding window
    #: then starts where that silence ends, and must hold one full 400 ms momentary window of sound, s
    jump_onset_silence_s: float = 0.5

    def __post_init__(self) -> None:
        loudness.get_preset(self.spec)
        if not 0.0 < self.clip_level <= 1.0 or self.min_clip_samples < 1 or self.dead_air_s <= 0:
            raise ParameterError(
                f"clip_level={self.clip_level}, min_clip_samples={self.min_clip_samples}, "
                f"dead_air_s={self.dead_air_s}; expected 0 < clip_level <= 1, min_clip_samples >= 1, dead_air_s > 0"
            )

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def _mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, stop) index pairs of the runs of True in a boolean ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _merge_runs(runs: list[tuple[int, int]], *, hop_s: float, merge_s: float = MERGE_S,
                min_s: float = 0.0) -> list[tuple[int, int]]:
    """Sorted, disjoint runs with gaps of at most ``merge_s`` joined, then those shorter than ``min_s`` dropped."""
    merged: list[list[int]] = []
    for first, stop in runs:
        if merged and (first - merged[-1][1]) * hop_s <= merge_s:
            merged[-1][1] = stop
        else:
            merged.append([first, stop])
    return [(a, b) for a, b in merged if (b - a) * hop_s >= min_s]


def _regions(mask: np.ndarray, *, hop_s: float, merge_s: float = MERGE_S, min_s: float = 0.0) -> list[tuple[int, int]]:
    """(first, stop) index runs of True in ``mask``, runs closer than ``merge_s`` joined, shorter than ``min_s`` dropped."""
    return _merge_runs(_mask_runs(mask), hop_s=hop_s, merge_s=merge_s, min_s=min_s)


def _runs_in(regions: list[tuple[int, int]], runs: list) -> Iterator[tuple[int, int, list]]:
    """Each region with the sorted ``runs`` (tuples starting with their first index) that start inside it."""
    starts = [run[0] for run in runs]
    for first, stop in regions:
        yield first, stop, runs[bisect.bisect_left(starts, first):bisect.bisect_left(starts, stop)]


class _Runs:
    """Runs of True in a boolean stream fed block by block, with the largest ``value`` inside each run."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, int, float]] = []  # (first, stop, max value)
        self._position = 0
        self._open: tuple[int, float] | None = None  # a run reaching the last block's end: (first, max)

    def add(self, mask: np.ndarray, values: np.ndarray | None = None) -> None:
        if not mask.size:
            return
        found = [(first + self._position, stop + self._position,
                  float(values[first:stop].max()) if values is not None else 0.0)
                 for first, stop in _mask_runs(mask)]
        if self._open is not None:
            first, peak = self._open
            self._open = None
            if found and found[0][0] == self._position:  # the open run goes on into this block
                found[0] = (first, found[0][1], max(peak, found[0][2]))
            else:
                self.runs.append((first, self._position, peak))
        self._position += mask.size
        if found and found[-1][1] == self._position:  # it reaches the block's end: it may go on
            first, _, peak = found.pop()
            self._open = (first, peak)
        self.runs.extend(found)

    def finish(self) -> list[tuple[int, int, float]]:
        if self._open is not None:
            self.runs.append((self._open[0], self._position, self._open[1]))
            self._open = None
        return self.runs


def _flag(category: str, severity: str, start_s: float, end_s: float, evidence: str, *, value: float,
          limit: float) -> Flag:
    return Flag(category=category, severity=severity, start_s=round(float(start_s), 3), end_s=round(float(end_s), 3),
                source="audio", rule_id=f"audio.{category}", confidence=1.0, evidence=evidence,
                value=round(float(value), 3), limit=round(float(limit), 3))


class _FirstPass:
    """What one pass over the source gathers for every check but the localization of true-peak overs."""

    def __init__(self, sample_rate: int, num_channels: int, options: CheckOptions) -> None:
        self.sample_rate, self.num_channels = sample_rate, num_channels
        self.hop = max(1, sample_rate * FRAME_MS // 1000)
        self.meter = loudness.LoudnessMeter(sample_rate, num_channels)
        self.clip_level = options.clip_level
        self.clipped = [_Runs() for _ in range(num_channels)]
        self.sums = np.zeros(num_channels)
        self.num_frames = 0
        self._rest = np.zeros((num_channels, 0), np.float32)  # samples of an unfinished 50 ms frame
        # per 50 ms frame: mean square over channels; for stereo also sum l^2, r^2, l*r and (l + r)^2
        self._frame_sums: dict[str, list[np.ndarray]] = {name: [] for name in ("power", "ll", "rr", "lr", "mono")}

    def add(self, block: np.ndarray) -> None:
        self.meter.process(block)  # validates every sample once
        for runs, row in zip(self.clipped, np.abs(block) >= self.clip_level):
            runs.add(row)
        self.sums += block.sum(axis=1, dtype=np.float64)
        self.num_frames += block.shape[1]
        pending = np.concatenate([self._rest, block], axis=1)
        count = pending.shape[1] // self.hop
        self._rest = pending[:, count * self.hop:]
        framed = pending[:, :count * self.hop].reshape(self.num_channels, count, self.hop).astype(np.float64)
        self._frame_sums["power"].append((framed ** 2).mean(axis=(0, 2)))
        if self.num_channels == 2:
            left, right = framed
            for name, values in (("ll", left ** 2), ("rr", right ** 2), ("lr", left * right),
                                 ("mono", (left + right) ** 2)):
                self._frame_sums[name].append(values.sum(axis=1))

    def frame_sums(self, name: str) -> np.ndarray:
        return np.concatenate(self._frame_sums[name]) if self._frame_sums[name] else np.zeros(0)


def _clipping(first_pass: _FirstPass, options: CheckOptions) -> list[Flag]:
    sample_rate = first_pass.sample_rate
    long_enough = sorted((a, b) for runs in first_pass.clipped for a, b, _ in runs.finish()
                         if b - a >= options.min_clip_samples)
    hits: list[list[int]] = []  # the union over channels
    for first, stop in long_enough:
        if hits and first <= hits[-1][1]:
            hits[-1][1] = max(hits[-1][1], stop)
        else:
            hits.append([first, stop])
    flags = []
    for first, stop, inside in _runs_in(_merge_runs([(a, b) for a, b in hits], hop_s=1.0 / sample_rate), hits):
        count = sum(b - a for a, b in inside)
        flags.append(_flag("clipping", "high" if count >= sample_rate // 100 else "medium",
                           first / sample_rate, stop / sample_rate,
                           f"{count} samples at full scale in runs of >= {options.min_clip_samples}",
                           value=count, limit=options.min_clip_samples))
    return flags


def _true_peak_overs(blocks: Callable[[], Iterator[np.ndarray]], sample_rate: int, num_frames: int,
                     report: LoudnessReport,
                     ceiling_dbtp: float) -> list[Flag]:
    """Where the true peak goes over the ceiling: a second pass, oversampling 10 s chunks (64 frames of context)."""
    from scipy.signal import resample_poly

    if not report.true_peak_dbtp > ceiling_dbtp:
        return []
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    chunk, pad = int(TRUE_PEAK_CHUNK_S * sample_rate), 64
    overs = _Runs()
    buffered, buffer_start, next_chunk = None, 0, 0
    for block in blocks():
        buffered = block if buffered is None else np.concatenate([buffered, block], axis=1)
        while next_chunk < num_frames and buffer_start + buffered.shape[1] >= min(num_frames, next_chunk + chunk + pad):
            lo, hi = max(0, next_chunk - pad), min(num_frames, next_chunk + chunk + pad)
            up = np.abs(resample_poly(buffered[:, lo - buffer_start:hi - buffer_start], OVERSAMPLE, 1, axis=1)).max(axis=0)
            frame_peaks = up[: (hi - lo) * OVERSAMPLE].reshape(hi - lo, OVERSAMPLE).max(axis=1)
            count = min(chunk, num_frames - next_chunk)
            peaks = frame_peaks[next_chunk - lo:next_chunk - lo + count].astype(np.float32)
            samples = np.abs(buffered[:, next_chunk - buffer_start:next_chunk - buffer_start + count]).max(axis=0)
            overs.add(np.maximum(peaks, samples) > ceiling, peaks)
            next_chunk += chunk
            drop = max(0, next_chunk - pad) - buffer_start
            buffered, buffer_start = buffered[:, drop:], buffer_start + drop
    runs = overs.finish()
    flags = []
    regions = _merge_runs([(a, b) for a, b, _ in runs], hop_s=1.0 / sample_rate) or [(0, num_frames)]
    for first, stop, inside in _runs_in(regions, runs):
        local = max((peak for _, _, peak in inside), default=0.0)
        local_dbtp = 20 * math.log10(local) if local > ceiling else report.true_peak_dbtp
        flags.append(_flag("true_peak", "high" if local_dbtp > 0.0 else "medium", first / sample_rate,
                           stop / sample_rate, f"true peak {local_dbtp:+.2f} dBTP over the {ceiling_dbtp:+.1f} dBTP ceiling",
                           value=local_dbtp, limit=ceiling_dbtp))
    return flags


def _loudness_off_spec(report: LoudnessReport, duration_s: float, options: CheckOptions) -> list[Flag]:
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


def _dead_air(first_pass: _FirstPass, options: CheckOptions) -> list[Flag]:
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(first_pass.frame_sums("power"))  # RMS over all channels, dBFS
    hop_s = first_pass.hop / first_pass.sample_rate
    flags = []
    for first, stop in _regions(levels < options.silence_dbfs, hop_s=hop_s, merge_s=0.0, min_s=options.dead_air_s):
        length = (stop - first) * hop_s
        flags.append(_flag("dead_air", "high" if length >= 3 * options.dead_air_s else "medium", first * hop_s,
                           stop * hop_s, f"{length:.2f} s below {options.silence_dbfs:.0f} dBFS",
                           value=length, limit=options.dead_air_s))
    return flags


def _dc_offset(first_pass: _FirstPass, duration_s: float, options: CheckOptions) -> list[Flag]:
    limit = 10.0 ** (options.dc_offset_dbfs / 20.0)
    flags = []
    for channel, total in enumerate(first_pass.sums):
        mean = total / max(first_pass.num_frames, 1)
        if abs(mean) > limit:
            dbfs = 20 * math.log10(abs(mean))
            flags.append(_flag("dc_offset", "medium", 0.0, duration_s,
                               f"channel {channel} mean {mean:+.4f} ({dbfs:.1f} dBFS) over {options.dc_offset_dbfs:.0f} dBFS",
                               value=dbfs, limit=options.dc_offset_dbfs))
    return flags


def _phase(first_pass: _FirstPass, options: CheckOptions) -> list[Flag]:
    if first_pass.num_channels != 2:
        return []
    hop = first_pass.hop
    power_l, power_r, cross = (first_pass.frame_sums(name) for name in ("ll", "rr", "lr"))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = cross / np.sqrt(power_l * power_r)
        level = 10 * np.log10((power_l + power_r) / (2 * hop))
    sounding = level > options.silence_dbfs
    bad = (correlation < options.min_correlation) & sounding
    # silent frames are neutral: a problem continues across the pauses of speech
    hop_s = hop / first_pass.sample_rate
    mono_power = first_pass.frame_sums("mono")
    flags = []
    for first, stop in _regions(bad | ~sounding, hop_s=hop_s):
        inside = np.flatnonzero(bad[first:stop])
        if inside.size == 0:
            continue
        first, stop = first + inside[0], first + inside[-1] + 1
        if (stop - first) * hop_s < options.min_phase_s:
            continue
        stereo = (power_l[first:stop] + power_r[first:stop]).sum()
        mono = mono_power[first:stop].sum() / 2
        loss_db = min(10 * math.log10(stereo / max(mono, 1e-30)), MAX_LOSS_DB)
        mean_corr = float(np.mean(correlation[first:stop][bad[first:stop]]))
        flags.append(_flag("phase", "high" if mean_corr < -0.7 else "medium", first * hop_s, stop * hop_s,
                           f"channel correlation {mean_corr:+.2f} (below {options.min_correlation:+.2f}); "
                           f"a mono downmix loses {loss_db:.1f} dB", value=mean_corr, limit=options.min_correlation))
    return flags


def _silence_ends(lufs: np.ndarray, gate_lufs: float, min_hops: int) -> np.ndarray:
    """For each step, where the last silence before it ended (0 when none has).

    A silence is a run of >= ``min_hops`` momentary values under the gate, or
    any run at the start (the file starts out of silence).
    """
    ends = np.zeros(lufs.shape[0], np.int64)
    below = ~(lufs >= gate_lufs)
    for first, stop in _mask_runs(below):
        if (stop - first >= min_hops or first == 0) and stop < lufs.shape[0]:
            ends[stop] = stop
    return np.maximum.accumulate(ends)


def _loudness_jumps(series: LoudnessSeries, options: CheckOptions) -> list[Flag]:
    lufs = series.lufs
    window = int(round(options.jump_window_s / 0.01))
    if lufs.shape[0] < 2:
        return []
    # loudest momentary value of the window before the current 400 ms, for each step (-inf before the start):
    # previous[i] = max(lufs[i - lag - window : i - lag])
    lag = MOMENTARY_HOPS
    padded = np.concatenate((np.full(window + lag, -np.inf), lufs))
    previous = sliding_window_view(padded, window).max(axis=1)[: lufs.shape[0]]
    # A rise out of silence is an onset, not a jump. Audio under the gate for jump_onset_silence_s gives
    # momentary (400 ms) values under it for that time less 400 ms (EBU Tech 3341 §2.2: momentary is a
    # 400 ms sliding window). After such a stretch the preceding window starts where it ends, and a rise
    # counts only once that window holds a full momentary window of sound.
    min_hops = max(1, round((options.jump_onset_silence_s - 0.4) / 0.01) + 1)
    ends = _silence_ends(lufs, options.jump_gate_lufs, min_hops)
    steps = np.arange(lufs.shape[0])
    last = steps - lag - 1  # the preceding window's last step
    recent = ends > steps - lag - window  # a silence ended inside the preceding window (or covers it)
    if recent.any():
        # loudest value since the last silence ended, up to each step
        since = np.empty_like(lufs)
        for start, stop in zip(*_segments(ends)):
            since[start:stop] = np.maximum.accumulate(lufs[start:stop])
        usable = last - ends + 1 >= MOMENTARY_HOPS
        restricted = np.where(usable, since[np.clip(last, 0, None)], -np.inf)
        previous = np.where(recent, restricted, previous)
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


def _segments(ends: np.ndarray) -> tuple[list[int], list[int]]:
    """(starts, stops) of the runs of equal values in the nondecreasing ``ends``."""
    change = np.flatnonzero(np.diff(ends)) + 1
    starts = [0, *change.tolist()]
    return starts, [*change.tolist(), ends.shape[0]]


def _source_blocks(source: AudioSource) -> tuple[Callable[[], Iterator[np.ndarray]], int, int]:
    """(a function returning a fresh iterator of the source's blocks, sample rate, channels)."""
    def blocks() -> Iterator[np.ndarray]:
        with open_source(source) as reader:
            yield from reader.blocks(BLOCK_FRAMES)

    with open_source(source) as reader:
        return blocks, reader.sample_rate, reader.num_channels


def check_audio(source: AudioSource, *, options: CheckOptions = CheckOptions()) -> tuple[list[Flag], dict]:
    """Run every audio check on ``source``, block by block.

    Parameters
    ----------
    source : Audio, str or os.PathLike
        Samples ``(channels, frames)`` float32 and their sample rate, or a
        file :func:`audiokit.open` reads (streamed: memory stays bounded).
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
    blocks, sample_rate, num_channels = _source_blocks(source)
    first_pass = _FirstPass(sample_rate, num_channels, options)
    for block in blocks():
        first_pass.add(block)
    report = first_pass.meter.report(warn=False)
    duration_s = first_pass.num_frames / sample_rate
    ceiling_dbtp = loudness.get_preset(options.spec).true_peak_dbtp
    flags = (_clipping(first_pass, options)
             + _true_peak_overs(blocks, sample_rate, first_pass.num_frames, report, ceiling_dbtp)
             + _loudness_off_spec(report, duration_s, options) + _dead_air(first_pass, options)
             + _dc_offset(first_pass, duration_s, options) + _phase(first_pass, options)
             + _loudness_jumps(first_pass.meter.momentary(hop_ms=10), options))
    return sorted(flags, key=lambda f: (f.start_s, f.category)), report.to_dict()
