"""Bleeping: find each flagged word's edges on the audio, then replace it with a tone, silence, or itself reversed.

Whisper's word times are often 100-300 ms off (mostly late), so a flagged
span is first refined on the audio (:func:`refine_spans`): the sound around
it is cut into islands (runs of 5 ms frames within 40 dB of the loudest
frame there and 6 dB over the local floor, which is a music bed's level
under a bed), and the transcript's word boundaries around the span (two
words on each side) are matched in order to the pauses between islands by
dynamic programming, for the best common offset of the transcript's times:
a boundary costs its distance to its pause (outward from the flagged word
at half rate) plus what the pause falls short of 100 ms (a stop closure
inside a word is short), or a fixed cost on no pause (connected speech).
Weak release bursts next to the word go with it. The flagged word is the
sound between its two pauses, padded by ``pad_ms`` into them but never into
a neighbour's sound (its core). docs/moderation.md has the numbers.

The replacement is crossfaded in and out with short raised-cosine fades
that start and end at zero crossings, so no click is added.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiokit.audio import Audio
from audiokit.channels import to_mono
from audiokit.errors import ParameterError

__all__ = ["BLEEP_MODES", "PAD_MS", "refine_spans", "bleep", "write_like"]

#: What replaces a span.
BLEEP_MODES = ("tone", "mute", "reverse")
#: Envelope frame for finding word edges, s.
EDGE_FRAME_S = 0.005
#: Sound is a frame less than this far under the loudest frame around the word, dB ...
SOUND_RANGE_DB = 40.0
#: ... and at least this far over the floor there (silence, or a music bed), dB.
SOUND_OVER_FLOOR_DB = 6.0
#: The floor is this percentile of the frame levels around the word; the threshold it sets is at least
#: FLOOR_MAX_DB under the loudest frame.
FLOOR_PERCENTILE = 10.0
FLOOR_MAX_DB = 10.0
#: Frames under this mean power are never sound (digital silence, dither), dB re full scale.
SILENCE_DB = -90.0
#: Quiet stretches shorter than this do not split sound, s.
MIN_PAUSE_S = 0.015
#: Transcript words on each side of a flagged span that the alignment uses.
CONTEXT_WORDS = 2
#: Audio considered beyond the outermost context word, s.
CONTEXT_S = 0.3
#: Offsets of the transcript's times tried (Whisper's times run late far more often than early), and their step, s.
SHIFTS_S = (-0.15, 0.35)
SHIFT_STEP_S = 0.01
#: A word boundary on a pause shorter than BOUNDARY_PAUSE_S costs BOUNDARY_COST per second it falls short
#: (a stop closure inside a word is a short pause, a pause between words a longer one).
BOUNDARY_PAUSE_S = 0.1
BOUNDARY_COST = 1.0
#: Cost of a word boundary that falls on no pause (connected speech), s.
NO_PAUSE_COST_S = 0.3
#: Distance outward (away from the flagged word) counts this much of distance inward.
OUTWARD_FACTOR = 0.5
#: Boundaries of the context words count this much less than the flagged word's own.
CONTEXT_WEIGHT = 0.5
#: Whisper's typical lateness, s, and the cost per second of an offset away from it.
TYPICAL_LATE_S = 0.1
SHIFT_COST = 1.0
#: Default padding added to each end of a flagged word, into quiet only, ms.
PAD_MS = 40.0
#: Sound next to a word, at most this long and holding at most WEAK_FRACTION of the word's energy, is weak:
#: it goes with the word when the pause beyond it is the longer one (a release burst), s.
WEAK_MAX_S = 0.1
WEAK_FRACTION = 0.05
#: Zero crossings are searched this far from each edge, s.
ZERO_CROSSING_S = 0.0025


def _levels_db(samples: np.ndarray, hop: int) -> np.ndarray:
    """Mean power over channels of each ``hop``-sample frame, dB."""
    count = samples.shape[1] // hop
    framed = samples[:, : count * hop].astype(np.float64).reshape(samples.shape[0], count, hop)
    return 10 * np.log10((framed ** 2).mean(axis=(0, 2)) + 1e-20)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _islands(level: np.ndarray, min_pause: int) -> list[tuple[int, int]]:
    """Runs of sound frames in ``level`` (dB), pauses shorter than ``min_pause`` frames bridged."""
    floor = np.percentile(level, FLOOR_PERCENTILE)
    # over the floor (a bed), but a window of nothing but sound (connected speech) has its floor at the speech
    peak = level.max()
    sound = level > max(peak - SOUND_RANGE_DB, min(floor + SOUND_OVER_FLOOR_DB, peak - FLOOR_MAX_DB), SILENCE_DB)
    islands: list[tuple[int, int]] = []
    for first, stop in _runs(sound):
        if islands and first - islands[-1][1] < min_pause:
            islands[-1] = (islands[-1][0], stop)
        else:
            islands.append((first, stop))
    return islands


def _boundaries(islands: list[tuple[int, int]], expected: np.ndarray, weights: np.ndarray, outward: np.ndarray,
                frame_s: float) -> list[int | None]:
    """The pause (index ``g``: between islands ``g`` and ``g + 1``) each word boundary falls on, or None.

    ``expected`` holds the transcript's word boundaries in frames, in order. Boundaries take pauses in
    order, each a different one, or none (a boundary inside connected sound). Cost of a boundary on a
    pause: the distance from the boundary, shifted by the offset tried, to the pause (0 inside it; x ``outward``
    per direction), plus BOUNDARY_COST x what the pause falls short of BOUNDARY_PAUSE_S; on none:
    NO_PAUSE_COST_S; each x its ``weights``. The offset with the lowest total, SHIFT_COST per second away
    from TYPICAL_LATE_S added, wins.
    """
    gaps = [(islands[g][1], islands[g + 1][0]) for g in range(len(islands) - 1)]
    n, m = expected.shape[0], len(gaps)
    best: list[int | None] = [None] * n
    if m == 0:
        return best
    first = np.array([a for a, _ in gaps], float)
    stop = np.array([b for _, b in gaps], float)
    short = BOUNDARY_COST * np.maximum(BOUNDARY_PAUSE_S - (stop - first) * frame_s, 0.0)
    best_cost = np.inf
    picked: list[int | None]
    lo, hi = (round(s / frame_s) for s in SHIFTS_S)
    for shift in range(lo, hi + 1, max(1, round(SHIFT_STEP_S / frame_s))):
        target = expected - shift  # shift > 0: the transcript's times ran late
        # (n, m): cost of boundary t on pause g
        later = np.maximum(first[None, :] - target[:, None], 0) * frame_s  # the pause after the boundary
        earlier = np.maximum(target[:, None] - stop[None, :], 0) * frame_s
        on = (later * outward[:, 1:2] + earlier * outward[:, 0:1] + short[None, :]) * weights[:, None]
        # cost[t, g]: the least cost of placing the first t boundaries on pauses 0..g-1 (or none)
        cost = np.zeros((n + 1, m + 1))
        choice = np.zeros((n + 1, m + 1), int)  # 0: boundary t-1 on no pause, 1: on pause g-1, 2: pause g-1 unused
        for t in range(1, n + 1):
            for g in range(m + 1):
                none = cost[t - 1, g] + NO_PAUSE_COST_S * weights[t - 1]
                take = cost[t - 1, g - 1] + on[t - 1, g - 1] if g else np.inf
                keep = cost[t, g - 1] if g else np.inf  # pause g-1 left to the words (a closure)
                options = (none, take, keep)
                k = int(np.argmin(options))
                cost[t, g], choice[t, g] = options[k], k
        total = cost[n, m] + SHIFT_COST * abs(shift * frame_s - TYPICAL_LATE_S)
        if total < best_cost:
            best_cost, picked, t, g = total, [None] * n, n, m
            while t > 0:
                k = choice[t, g]
                if k == 0:
                    t -= 1
                elif k == 1:
                    picked[t - 1] = int(g - 1)
                    t, g = t - 1, g - 1
                else:
                    g -= 1
            best = picked
    return best


def _absorb_weak(islands: list[tuple[int, int]], level: np.ndarray, left: int, right: int,
                 frame_s: float) -> tuple[int, int]:
    """Move the word's boundaries (pause indices) outward over weak sound that goes with the word.

    Sound just outside the word that is short (<= WEAK_MAX_S) and weak (<= WEAK_FRACTION of the word's
    energy) is a word-final release ("crap", "fuck") or a weak onset, when the pause beyond it is longer
    than the one the boundary is on; the weak onset of the next word is followed by a shorter pause (a
    closure inside it: "the | s chool") and stays with it.
    """
    power = 10.0 ** (level / 10.0)
    word = power[islands[left + 1][0]:islands[right][1]].sum()

    def pause(g: int) -> int:
        return islands[g + 1][0] - islands[g][1]

    def weak(k: int) -> bool:
        first, stop = islands[k]
        return 0 < (stop - first) * frame_s <= WEAK_MAX_S and power[first:stop].sum() <= WEAK_FRACTION * word

    while right + 1 < len(islands) - 1 and weak(right + 1) and pause(right + 1) > pause(right):
        right += 1
    while left > 0 and weak(left) and pause(left - 1) > pause(left):
        left -= 1
    return left, right


def refine_spans(samples: np.ndarray, sample_rate: int, spans: Sequence[tuple[float, float]], *,
                 words: Sequence[tuple[float, float]] = (), pad_ms: float = PAD_MS) -> list[tuple[float, float]]:
    """Find the flagged words' edges on the audio, padded into the quiet around them.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
    sample_rate : int
    spans : sequence of (start_s, end_s)
        The flagged spans, from transcript word times.
    words : sequence of (start_s, end_s)
        Every word of the transcript, in time order; the words around each
        span anchor the alignment (the span's own words may be among them).
        Empty: each span is aligned alone.
    pad_ms : float
        Added to each end of a found word, but only into quiet: an end never
        moves into the sound of a neighbouring word.

    Returns
    -------
    list of (start_s, end_s)
        One per span, in the order given; a span with no sound around it is
        returned padded as given.

    Examples
    --------
    >>> rate = 16000
    >>> t = np.arange(rate) / rate
    >>> word = np.where((t > 0.3) & (t < 0.6), 0.3 * np.sin(2 * np.pi * 200 * t), 0.0)
    >>> refine_spans(word[np.newaxis], rate, [(0.42, 0.75)])  # Whisper 120 ms late
    [(0.26, 0.64)]
    """
    if not pad_ms >= 0:
        raise ParameterError(f"pad_ms is {pad_ms!r}; expected >= 0")
    samples = np.asarray(samples)
    hop = max(1, round(EDGE_FRAME_S * sample_rate))
    frame_s = hop / sample_rate
    level = _levels_db(samples, hop)
    duration_s = samples.shape[1] / sample_rate
    pad_s = pad_ms / 1000.0
    timeline = sorted((float(a), float(b)) for a, b in words)
    refined = []
    for start_s, end_s in spans:
        before = [w for w in timeline if 0.5 * (w[0] + w[1]) < start_s - 1e-6][-CONTEXT_WORDS:]
        after = [w for w in timeline if 0.5 * (w[0] + w[1]) > end_s + 1e-6][:CONTEXT_WORDS]
        local = before + [(start_s, end_s)] + after
        lo = max(0, int((local[0][0] - CONTEXT_S) / frame_s), int((start_s - 2.0) / frame_s))
        hi = min(level.shape[0], int(np.ceil((local[-1][1] + CONTEXT_S) / frame_s)), int((end_s + 2.0) / frame_s))
        if hi - lo < 2:
            refined.append((max(0.0, start_s - pad_s), min(duration_s, end_s + pad_s)))
            continue
        # the window's ends count as (empty) sound, so the quiet before the first island is a pause too
        islands = [(0, 0), *_islands(level[lo:hi], max(1, round(MIN_PAUSE_S / frame_s))), (hi - lo, hi - lo)]
        # the transcript's word boundaries: midway between a word's end and the next one's start; a flagged
        # span first or last in the transcript is bounded by its own start or end
        between = [0.5 * (x[1] + y[0]) for x, y in zip(local, local[1:])]
        edges = np.array(([] if before else [start_s]) + between + ([] if after else [end_s])) / frame_s - lo
        own = (len(before) - 1, len(before)) if before else (0, 1)
        weights = np.full(edges.shape[0], CONTEXT_WEIGHT)
        weights[list(own)] = 1.0
        # (boundaries, 2): factors of the distance to a pause earlier and later than a boundary; the flagged
        # word's own boundaries move outward more cheaply (a bit of a neighbour bleeped beats a word left audible)
        outward = np.ones((edges.shape[0], 2))
        outward[own[0], 0] = outward[own[1], 1] = OUTWARD_FACTOR
        on = _boundaries(islands, edges, weights, outward, frame_s)
        left, right = on[own[0]], on[own[1]]
        shift = 0.0
        placed = [(edges[t] - islands[g][1] if edges[t] < islands[g][1] else edges[t] - islands[g + 1][0]
                   if edges[t] > islands[g + 1][0] else 0.0) for t, g in enumerate(on) if g is not None]
        if placed:  # how late the transcript ran where its boundaries met pauses, frames
            shift = float(np.median(placed))
        if left is not None:
            limit_before = islands[left][1]
            word_start = islands[left + 1][0]
        else:
            limit_before = word_start = start_s / frame_s - lo - shift
        if right is not None:
            limit_after = islands[right + 1][0]
            word_end = islands[right][1]
        else:
            limit_after = word_end = end_s / frame_s - lo - shift
        if left is not None and right is not None and right > left:
            left, right = _absorb_weak(islands, level[lo:hi], left, right, frame_s)
            limit_before, word_start = islands[left][1], islands[left + 1][0]
            word_end, limit_after = islands[right][1], islands[right + 1][0]
        if word_end <= word_start:  # the boundaries crossed: keep the transcript's span (padded only in silence)
            quiet = len(islands) == 2
            refined.append((max(0.0, start_s - pad_s * quiet), min(duration_s, end_s + pad_s * quiet)))
            continue
        # pad into quiet only: never past the end of the sound before or the start of the sound after
        new_start = max((lo + max(word_start - pad_s / frame_s, limit_before)) * frame_s, 0.0)
        new_end = min((lo + min(word_end + pad_s / frame_s, limit_after)) * frame_s, duration_s)
        refined.append((round(new_start, 4), round(new_end, 4)))
    return refined


def _zero_crossing(mono: np.ndarray, index: int, reach: int, direction: int) -> int:
    """The zero crossing nearest ``index`` moving outward (``direction`` -1: earlier, +1: later), else ``index``."""
    lo, hi = (max(1, index - reach), index + 1) if direction < 0 else (index, min(mono.shape[0] - 1, index + reach))
    if hi <= lo:
        return index
    window = mono[lo - 1:hi]
    crossings = np.flatnonzero(np.signbit(window[:-1]) != np.signbit(window[1:])) + lo
    if crossings.size == 0:
        return index
    return int(crossings[-1] if direction < 0 else crossings[0])


def bleep(audio: Audio, spans: Sequence[tuple[float, float]], *, mode: str = "tone", fade_ms: float = 5.0,
          tone_hz: float = 1000.0) -> tuple[Audio, list[tuple[float, float]]]:
    """Replace ``spans`` of ``audio``.

    Parameters
    ----------
    audio : Audio
        Samples ``(channels, frames)``.
    spans : sequence of (start_s, end_s)
        Spans to replace, seconds (already refined, see :func:`refine_spans`); overlapping spans are joined.
    mode : {"tone", "mute", "reverse"}
        A sine of ``tone_hz`` at the RMS level of the speech it replaces
        (per channel), silence, or the span's samples reversed.
    fade_ms : float
        Length of the raised-cosine crossfade at each end, inside the span.
    tone_hz : float
        Frequency of the tone.

    Returns
    -------
    bleeped : Audio
        Same shape and sample rate; untouched outside the spans.
    replaced : list of (start_s, end_s)
        The spans as replaced: ends moved outward to zero crossings (<= 2.5 ms).

    Examples
    --------
    >>> import numpy as np
    >>> speech = Audio(0.1 * np.random.default_rng(0).standard_normal((1, 48000)), 48000)
    >>> out, replaced = bleep(speech, [(0.25, 0.5)], mode="mute")
    >>> float(np.abs(out.samples[0, 13000:23000]).max())
    0.0
    """
    if mode not in BLEEP_MODES:
        raise ParameterError(f"bleep mode is {mode!r}; expected one of {', '.join(BLEEP_MODES)}")
    if not fade_ms >= 0:
        raise ParameterError(f"fade_ms is {fade_ms!r}; expected >= 0")
    rate = audio.sample_rate
    out = audio.samples.copy()
    mono = to_mono(audio.samples)[0]
    reach = round(ZERO_CROSSING_S * rate)
    joined: list[list[float]] = []
    for start_s, end_s in sorted(spans):
        if joined and start_s <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end_s)
        else:
            joined.append([start_s, end_s])
    replaced = []
    for start_s, end_s in joined:
        first = _zero_crossing(mono, max(0, int(round(start_s * rate))), reach, -1)
        stop = _zero_crossing(mono, min(out.shape[1], int(round(end_s * rate))), reach, +1)
        if stop - first < 2:
            continue
        original = audio.samples[:, first:stop]
        if mode == "tone":
            rms = np.sqrt((original.astype(np.float64) ** 2).mean(axis=1, keepdims=True))
            phase = 2 * np.pi * tone_hz * np.arange(stop - first) / rate
            replacement = (np.sqrt(2) * rms * np.sin(phase)).astype(np.float32)
        elif mode == "mute":
            replacement = np.zeros_like(original)
        else:
            replacement = original[:, ::-1]
        fade = min(round(fade_ms * rate / 1000), (stop - first) // 2)
        gain = np.ones(stop - first, np.float32)
        if fade:
            ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)).astype(np.float32)
            gain[:fade], gain[-fade:] = ramp, ramp[::-1]
        out[:, first:stop] = original * (1 - gain) + replacement * gain
        replaced.append((round(first / rate, 4), round(stop / rate, 4)))
    return Audio(out, rate), replaced


def write_like(source: str | os.PathLike, output: str | os.PathLike, audio: Audio) -> Path:
    """Write ``audio`` to ``output`` atomically in ``source``'s format where the extension allows.

    The codec, bit depth and bitrate of ``source`` are kept when ``output``
    has the same extension; another extension gets its container's default.
    """
    import audiokit

    info = audiokit.probe(source)
    output = Path(output)
    options: dict = {}
    if output.suffix.lower() == Path(source).suffix.lower():
        codec = info.codec
        if codec.startswith("pcm_f32"):
            options["codec"] = "pcm_f32le"
        elif codec.startswith("pcm_s") and info.bit_depth in (16, 24, 32):
            options["bit_depth"] = info.bit_depth
        elif codec in ("flac", "alac"):
            options.update(codec=codec, bit_depth=24 if (info.bit_depth or 16) > 16 else 16)
        elif codec in ("mp3", "aac", "opus") and info.bitrate_bps:
            options.update(codec=codec, bitrate_bps=int(min(max(info.bitrate_bps, 6000), 640_000)))
    return audiokit.write(output, audio, **options)
