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
a neighbour's sound (its core). Where connected speech leaves no pause at an
edge ("in the ass"), or the nearest pause lies farther out than the latest
transcript the search allows (the closure of a "p" in a neighbour), the edge
is the transcript's time moved outward by Whisper's lateness and a margin:
the bleep takes a little of the neighbour rather than leave the word's
onset. docs/moderation.md has the numbers.

The replacement is crossfaded in and out with short raised-cosine fades
that start and end at zero crossings, so no click is added.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from audiokit._arrays import BLOCK_FRAMES, as_samples
from audiokit.audio import Audio
from audiokit.channels import to_mono
from audiokit.errors import ParameterError
from audiokit.io.source import AudioSource, open_source

from .lexicon import normalize_word

__all__ = ["BLEEP_MODES", "PAD_MS", "Bleeper", "refine_spans", "refine_source_spans", "bleep", "bleep_source",
           "write_like"]

#: What replaces a span.
BLEEP_MODES = ("tone", "mute", "reverse")
#: Envelope frame for finding word edges, s.
EDGE_FRAME_S = 0.005
#: Sound is a frame less than this far under the loudest frame around the word, dB ...
SOUND_RANGE_DB = 40.0
#: ... and at least this far over the floor there (silence, or a music bed), dB.
SOUND_OVER_FLOOR_DB = 6.0
#: A run of sound counts only if it reaches this far over the floor somewhere (hysteresis), or lies within
#: SEEDLESS_REACH_S of a run that does (a word's weak release after its closure): the peaks of a music bed
#: that cross the threshold above for a few frames in a pause are not a word, dB and s.
SEED_OVER_FLOOR_DB = 12.0
SEEDLESS_REACH_S = 0.1
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
#: A pause farther than this outside a flagged word's transcript edge is not its edge (the latest transcript
#: the offset search allows): it lies inside a neighbour, such as the closure of "p" in "pain in the ...", s.
MAX_EDGE_REACH_S = SHIFTS_S[1]
#: Where no pause marks a flagged word's edge (connected speech), the edge is the transcript's time moved
#: outward by Whisper's lateness (at least TYPICAL_LATE_S) and this much more: the bleep takes a little of the
#: neighbour rather than leave the word's onset. Whisper's starts of the planted word ran 0.14-0.18 s late on
#: the connected readings of the 30-minute test episode, s.
CONNECTED_MARGIN_S = 0.1
#: Sound next to a word, at most this long and holding at most WEAK_FRACTION of the word's energy, is weak:
#: it goes with the word when the pause beyond it is the longer one (a release burst), s.
WEAK_MAX_S = 0.1
WEAK_FRACTION = 0.05
#: A word spelled with a final stop consonant (p, t, k, b, d, g; "ck" and a silent e after one too) ends in a
#: closure and a release burst, which a music bed can hide; its bleep runs this far past the last sound found,
#: into the pause only, s. (English stop releases and their aspiration last up to about 0.1 s after a
#: closure of 0.05-0.1 s.)
STOP_RELEASE_S = 0.2
_FINAL_STOP = re.compile(r"(?:[ptkbdg]|ck|[ptkbdg]e)$")
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


def _islands(level: np.ndarray, min_pause: int, reach: int) -> list[tuple[int, int]]:
    """Runs of sound frames in ``level`` (dB), pauses shorter than ``min_pause`` frames bridged.

    A run is kept where some frame of it reaches :data:`SEED_OVER_FLOOR_DB` over the floor, or
    within ``reach`` frames of such a run.
    """
    floor = np.percentile(level, FLOOR_PERCENTILE)
    peak = level.max()

    def threshold(over_floor_db: float) -> float:
        # over the floor (a bed), but a window of nothing but sound (connected speech) has its floor at the speech
        return max(peak - SOUND_RANGE_DB, min(floor + over_floor_db, peak - FLOOR_MAX_DB), SILENCE_DB)

    islands: list[tuple[int, int]] = []
    for first, stop in _runs(level > threshold(SOUND_OVER_FLOOR_DB)):
        if islands and first - islands[-1][1] < min_pause:
            islands[-1] = (islands[-1][0], stop)
        else:
            islands.append((first, stop))
    seed = threshold(SEED_OVER_FLOOR_DB)
    seeded = [(first, stop) for first, stop in islands if level[first:stop].max() > seed]
    return [(first, stop) for first, stop in islands
            if any(first - reach <= seed_stop and seed_first <= stop + reach for seed_first, seed_stop in seeded)]


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
                 words: Sequence[tuple[float, float]] = (), pad_ms: float = PAD_MS,
                 texts: Sequence[str] | None = None) -> list[tuple[float, float]]:
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
    texts : sequence of str, optional
        The words of each span as transcribed: a span whose last word is
        spelled with a final stop consonant ("shit", "rape") is extended
        :data:`STOP_RELEASE_S` into the quiet after it, where its release is.

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
    final_stops = _check_refine_options(spans, pad_ms, texts)
    samples = np.asarray(samples)
    level = _levels_db(samples, _hop(sample_rate))
    return _refine(spans, words, pad_ms, final_stops, lambda _, lo, hi: level[lo:hi], samples.shape[1], sample_rate)


def refine_source_spans(source: AudioSource, spans: Sequence[tuple[float, float]], *,
                        words: Sequence[tuple[float, float]] = (), pad_ms: float = PAD_MS,
                        texts: Sequence[str] | None = None, block_frames: int = BLOCK_FRAMES
                        ) -> list[tuple[float, float]]:
    """:func:`refine_spans` on a file or an Audio, reading it once in blocks and keeping only the windows it needs.

    Each span needs the audio of a window around it (its context words, at
    most 2 s on each side); the source is read once, block by block, each
    window's frame levels are computed as soon as its last sample has been
    read and its samples dropped, and reading stops after the last window.
    Memory is set by the block and the windows open at once, not by the
    duration. The result equals :func:`refine_spans` on the whole signal.

    Parameters
    ----------
    source : str, os.PathLike or Audio
    spans, words, pad_ms, texts
        See :func:`refine_spans`.
    block_frames : int
        Frames read at a time.

    Returns
    -------
    list of (start_s, end_s)
    """
    final_stops = _check_refine_options(spans, pad_ms, texts)
    with open_source(source) as reader:
        sample_rate, num_frames = reader.sample_rate, reader.num_frames
        hop = _hop(sample_rate)
        timeline = sorted((float(a), float(b)) for a, b in words)
        ranges = []  # samples [first, stop) of each span's window
        for start_s, end_s in spans:
            *_, lo, hi = _context(start_s, end_s, timeline, num_frames // hop, hop / sample_rate)
            ranges.append((lo * hop, hi * hop) if hi - lo >= 2 else (0, 0))
        levels = _window_levels(reader.blocks(block_frames), ranges, hop)
    return _refine(spans, words, pad_ms, final_stops, lambda index, _lo, _hi: levels[index],
                   num_frames, sample_rate)


def _check_refine_options(spans: Sequence[tuple[float, float]], pad_ms: float, texts: Sequence[str] | None
                          ) -> list[bool]:
    """Validate the refinement's options; whether each span's last word ends in a stop consonant."""
    if not pad_ms >= 0:
        raise ParameterError(f"pad_ms is {pad_ms!r}; expected >= 0")
    if texts is None:
        return [False] * len(spans)
    if len(texts) != len(spans):
        raise ParameterError(f"texts has {len(texts)} entries for {len(spans)} spans; expected one per span")
    return [bool(_FINAL_STOP.search(normalize_word(text.split()[-1]))) if text.split() else False for text in texts]


def _hop(sample_rate: int) -> int:
    """Samples per envelope frame (EDGE_FRAME_S)."""
    return max(1, round(EDGE_FRAME_S * sample_rate))


def _context(start_s: float, end_s: float, timeline: list[tuple[float, float]], count: int, frame_s: float
             ) -> tuple[list[tuple[float, float]], list[tuple[float, float]], list[tuple[float, float]], int, int]:
    """The context words before and after a span, the span with them, and its window [lo, hi) in frames."""
    before = [w for w in timeline if 0.5 * (w[0] + w[1]) < start_s - 1e-6][-CONTEXT_WORDS:]
    after = [w for w in timeline if 0.5 * (w[0] + w[1]) > end_s + 1e-6][:CONTEXT_WORDS]
    local = before + [(start_s, end_s)] + after
    lo = max(0, int((local[0][0] - CONTEXT_S) / frame_s), int((start_s - 2.0) / frame_s))
    hi = min(count, int(np.ceil((local[-1][1] + CONTEXT_S) / frame_s)), int((end_s + 2.0) / frame_s))
    return before, after, local, lo, hi


def _window_levels(blocks: Iterator[np.ndarray], ranges: list[tuple[int, int]], hop: int) -> list[np.ndarray]:
    """Frame levels (:func:`_levels_db`) of the samples [first, stop) of each range, from one pass over ``blocks``."""
    levels: list[np.ndarray] = [np.zeros(0) for _ in ranges]
    pending = sorted((index for index, (first, stop) in enumerate(ranges) if stop > first),
                     key=lambda index: ranges[index][0])
    open_windows: dict[int, list[np.ndarray]] = {}
    position = 0
    for block in blocks:
        end = position + block.shape[1]
        while pending and ranges[pending[0]][0] < end:
            open_windows[pending.pop(0)] = []
        for index in list(open_windows):
            first, stop = ranges[index]
            open_windows[index].append(block[:, max(first, position) - position : min(stop, end) - position])
            if stop <= end:
                levels[index] = _levels_db(np.concatenate(open_windows.pop(index), axis=1), hop)
        position = end
        if not pending and not open_windows:
            break
    return levels


def _refine(spans: Sequence[tuple[float, float]], words: Sequence[tuple[float, float]], pad_ms: float,
            final_stops: Sequence[bool], level_of: Callable[[int, int, int], np.ndarray], num_frames: int,
            sample_rate: int) -> list[tuple[float, float]]:
    """:func:`refine_spans` given ``level_of(span index, lo, hi)``: the frame levels [lo, hi) around a span."""
    hop = _hop(sample_rate)
    frame_s = hop / sample_rate
    count = num_frames // hop
    duration_s = num_frames / sample_rate
    pad_s = pad_ms / 1000.0
    timeline = sorted((float(a), float(b)) for a, b in words)
    refined = []
    for index, (start_s, end_s) in enumerate(spans):
        before, after, local, lo, hi = _context(start_s, end_s, timeline, count, frame_s)
        if hi - lo < 2:
            refined.append((max(0.0, start_s - pad_s), min(duration_s, end_s + pad_s)))
            continue
        # the window's ends count as (empty) sound, so the quiet before the first island is a pause too
        window = level_of(index, lo, hi)
        found = _islands(window, max(1, round(MIN_PAUSE_S / frame_s)), round(SEEDLESS_REACH_S / frame_s))
        islands = [(0, 0), *found, (hi - lo, hi - lo)]
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
        reach = MAX_EDGE_REACH_S / frame_s
        if left is not None and edges[own[0]] - islands[left + 1][0] > reach:
            left = on[own[0]] = None
        if right is not None and islands[right][1] - edges[own[1]] > reach:
            right = on[own[1]] = None
        shift = 0.0
        placed = [(edges[t] - islands[g][1] if edges[t] < islands[g][1] else edges[t] - islands[g + 1][0]
                   if edges[t] > islands[g + 1][0] else 0.0) for t, g in enumerate(on) if g is not None]
        if placed:  # how late the transcript ran where its boundaries met pauses, frames
            shift = float(np.median(placed))
        # frames into the window: island edges, or the transcript's times shifted
        limit_before: float
        word_start: float
        limit_after: float
        word_end: float
        margin = CONNECTED_MARGIN_S / frame_s
        if left is not None:
            limit_before = islands[left][1]
            word_start = islands[left + 1][0]
        else:
            limit_before = word_start = start_s / frame_s - lo - max(shift, TYPICAL_LATE_S / frame_s) - margin
        if right is not None:
            limit_after = islands[right + 1][0]
            word_end = islands[right][1]
        else:
            limit_after = word_end = end_s / frame_s - lo - min(shift, 0.0) + margin
        if left is not None and right is not None and right > left:
            left, right = _absorb_weak(islands, window, left, right, frame_s)
            limit_before, word_start = islands[left][1], islands[left + 1][0]
            word_end, limit_after = islands[right][1], islands[right + 1][0]
        if word_end <= word_start:  # the boundaries crossed: keep the transcript's span (padded only in silence)
            quiet = len(islands) == 2
            refined.append((max(0.0, start_s - pad_s * quiet), min(duration_s, end_s + pad_s * quiet)))
            continue
        # pad into quiet only: never past the end of the sound before or the start of the sound after
        new_start = max((lo + max(word_start - pad_s / frame_s, limit_before)) * frame_s, 0.0)
        tail_s = max(pad_s, STOP_RELEASE_S) if final_stops[index] else pad_s
        new_end = min((lo + min(word_end + tail_s / frame_s, limit_after)) * frame_s, duration_s)
        refined.append((round(new_start, 4), round(new_end, 4)))
    return refined


def _zero_crossing(samples: np.ndarray, index: int, reach: int, direction: int, *, offset: int, total: int) -> int:
    """The zero crossing of the mono signal nearest ``index``, moving outward (``direction`` -1 or +1), else ``index``.

    ``samples`` holds frames ``offset ..`` of a signal of ``total`` frames, at least the ``reach + 1`` frames
    around ``index`` that the search reads.
    """
    lo, hi = (max(1, index - reach), index + 1) if direction < 0 else (index, min(total - 1, index + reach))
    if hi <= lo:
        return index
    window = to_mono(samples[:, lo - 1 - offset : hi - offset])[0]
    crossings = np.flatnonzero(np.signbit(window[:-1]) != np.signbit(window[1:])) + lo
    if crossings.size == 0:
        return index
    return int(crossings[-1] if direction < 0 else crossings[0])


class Bleeper:
    """Bleeping as a stream: ``process(block)`` returns the bleeped frames that are ready, ``flush()`` the rest.

    A span is replaced once its last sample (and the zero-crossing search
    beyond it) has arrived; the frames from the next span's search window on
    are held back until then, so memory is a block plus the longest span.
    Blocks of any size give the samples :func:`bleep` gives for the whole
    signal (which is this stream run once).

    Parameters
    ----------
    spans : sequence of (start_s, end_s)
        See :func:`bleep`.
    sample_rate : int
    num_channels : int
    num_frames : int
        Length of the whole signal (the zero-crossing search stops at its end).
    mode, fade_ms, tone_hz
        See :func:`bleep`.

    Attributes
    ----------
    replaced : list of (start_s, end_s)
        The spans replaced so far, ends on zero crossings.

    Examples
    --------
    >>> speech = 0.1 * np.random.default_rng(0).standard_normal((1, 48000)).astype(np.float32)
    >>> bleeper = Bleeper([(0.25, 0.5)], 48000, 1, 48000, mode="mute")
    >>> out = np.concatenate([bleeper.process(speech[:, i : i + 1000]) for i in range(0, 48000, 1000)]
    ...                      + [bleeper.flush()], axis=1)
    >>> float(np.abs(out[0, 13000:23000]).max()), bleeper.replaced
    (0.0, [(0.2499, 0.5)])
    """

    def __init__(self, spans: Sequence[tuple[float, float]], sample_rate: int, num_channels: int, num_frames: int,
                 *, mode: str = "tone", fade_ms: float = 5.0, tone_hz: float = 1000.0) -> None:
        if mode not in BLEEP_MODES:
            raise ParameterError(f"bleep mode is {mode!r}; expected one of {', '.join(BLEEP_MODES)}")
        if not fade_ms >= 0:
            raise ParameterError(f"fade_ms is {fade_ms!r}; expected >= 0")
        self.sample_rate, self.num_channels, self.num_frames = sample_rate, num_channels, num_frames
        self.mode, self.fade_ms, self.tone_hz = mode, fade_ms, tone_hz
        self._reach = round(ZERO_CROSSING_S * sample_rate)
        joined: list[list[float]] = []
        for start_s, end_s in sorted(spans):
            if joined and start_s <= joined[-1][1]:
                joined[-1][1] = max(joined[-1][1], end_s)
            else:
                joined.append([start_s, end_s])
        # (first, stop) sample of each span before the zero-crossing search
        self._spans = [(max(0, int(round(start_s * sample_rate))), min(num_frames, int(round(end_s * sample_rate))))
                       for start_s, end_s in joined]
        self._next = 0  # the next span to replace
        self._start = 0  # frame index of the held samples' first frame
        self._original = np.zeros((num_channels, 0), np.float32)  # held input
        self._out = self._original  # held output
        self.replaced: list[tuple[float, float]] = []

    def _reads(self, span: int) -> tuple[int, int]:
        """Frames [first, stop) that replacing span ``span`` reads (the span and its zero-crossing searches)."""
        first, stop = self._spans[span]
        return max(0, first - self._reach - 1), min(self.num_frames, stop + self._reach + 1)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Take the next block; return the bleeped frames that are ready (maybe none).

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames)]

        Returns
        -------
        np.ndarray [shape=(channels, ready), dtype=float32]
        """
        block = as_samples(block, name="block")
        if block.shape[0] != self.num_channels:
            raise ParameterError(f"block has {block.shape[0]} channels; this Bleeper was created with "
                                 f"num_channels={self.num_channels}")
        if self._original.shape[1]:
            self._original = np.concatenate([self._original, block], axis=1)
            self._out = np.concatenate([self._out, block], axis=1)
        else:
            self._original, self._out = block, block.copy()
        return self._advance(final=False)

    def flush(self) -> np.ndarray:
        """End the stream; return the frames still held, bleeped.

        Returns
        -------
        np.ndarray [shape=(channels, rest), dtype=float32]
        """
        return self._advance(final=True)

    def _advance(self, *, final: bool) -> np.ndarray:
        end = self._start + self._original.shape[1]
        while self._next < len(self._spans) and (final or end >= self._reads(self._next)[1]):
            self._replace(*self._spans[self._next])
            self._next += 1
        ready = end if self._next == len(self._spans) else min(end, self._reads(self._next)[0])
        count = ready - self._start
        out = self._out[:, :count]
        self._original, self._out, self._start = self._original[:, count:], self._out[:, count:], ready
        return out

    def _replace(self, first: int, stop: int) -> None:
        """Replace frames [first, stop), its ends moved out to zero crossings, in the held output."""
        rate, offset = self.sample_rate, self._start
        first = _zero_crossing(self._original, first, self._reach, -1, offset=offset, total=self.num_frames)
        stop = _zero_crossing(self._original, stop, self._reach, +1, offset=offset, total=self.num_frames)
        if stop - first < 2:
            return
        original = self._original[:, first - offset : stop - offset]
        if self.mode == "tone":
            rms = np.sqrt((original.astype(np.float64) ** 2).mean(axis=1, keepdims=True))
            phase = 2 * np.pi * self.tone_hz * np.arange(stop - first) / rate
            replacement = (np.sqrt(2) * rms * np.sin(phase)).astype(np.float32)
        elif self.mode == "mute":
            replacement = np.zeros_like(original)
        else:
            replacement = original[:, ::-1]
        fade = min(round(self.fade_ms * rate / 1000), (stop - first) // 2)
        gain = np.ones(stop - first, np.float32)
        if fade:
            ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)).astype(np.float32)
            gain[:fade], gain[-fade:] = ramp, ramp[::-1]
        self._out[:, first - offset : stop - offset] = original * (1 - gain) + replacement * gain
        self.replaced.append((round(first / rate, 4), round(stop / rate, 4)))


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
    bleeper = Bleeper(spans, audio.sample_rate, audio.num_channels, audio.num_frames, mode=mode, fade_ms=fade_ms,
                      tone_hz=tone_hz)
    out = np.concatenate([bleeper.process(audio.samples), bleeper.flush()], axis=1)
    return Audio(out, audio.sample_rate), bleeper.replaced


def bleep_source(source: AudioSource, output: str | os.PathLike, spans: Sequence[tuple[float, float]], *,
                 mode: str = "tone", fade_ms: float = 5.0, tone_hz: float = 1000.0,
                 block_frames: int = BLOCK_FRAMES) -> tuple[Path, list[tuple[float, float]]]:
    """:func:`bleep` a file (or an Audio) into ``output``, streaming: read once in blocks, written as they are ready.

    The output is written atomically (:class:`audiokit.io.writer.AudioWriter`)
    in ``source``'s format where the extension allows (see :func:`write_like`),
    and its samples equal ``write_like(source, output, bleep(read(source), spans)[0])``'s.
    Memory is set by the block and the longest span, not by the duration.

    Parameters
    ----------
    source : str, os.PathLike or Audio
    output : str or os.PathLike
        May be ``source`` itself: the file is replaced once it is complete.
    spans, mode, fade_ms, tone_hz
        See :func:`bleep`.
    block_frames : int
        Frames read, and written, at a time.

    Returns
    -------
    output : pathlib.Path
    replaced : list of (start_s, end_s)
        The spans as replaced (see :func:`bleep`).
    """
    from audiokit.io.writer import AudioWriter

    options = {} if isinstance(source, Audio) else _format_like(source, output)
    with open_source(source) as reader:
        bleeper = Bleeper(spans, reader.sample_rate, reader.num_channels, reader.num_frames, mode=mode,
                          fade_ms=fade_ms, tone_hz=tone_hz)
        with AudioWriter(output, reader.sample_rate, reader.num_channels, **options) as writer:
            # whole blocks only until the end, so the encoder sees the frames write() would give it
            held: list[np.ndarray] = []
            for block in reader.blocks(block_frames):
                held.append(bleeper.process(block))
                if sum(part.shape[1] for part in held) >= block_frames:
                    joined = np.concatenate(held, axis=1)
                    whole = joined.shape[1] // block_frames * block_frames
                    writer.write(joined[:, :whole])
                    held = [joined[:, whole:]]
            writer.write(np.concatenate([*held, bleeper.flush()], axis=1))
    return writer.path, bleeper.replaced


def _format_like(source: str | os.PathLike, output: str | os.PathLike) -> dict:
    """AudioWriter options that keep ``source``'s codec, bit depth and bitrate when ``output`` has its extension."""
    import audiokit

    info = audiokit.probe(source)
    options: dict = {}
    if Path(output).suffix.lower() == Path(source).suffix.lower():
        codec = info.codec
        if codec.startswith("pcm_f32"):
            options["codec"] = "pcm_f32le"
        elif codec.startswith("pcm_s") and info.bit_depth in (16, 24, 32):
            options["bit_depth"] = info.bit_depth
        elif codec in ("flac", "alac"):
            options.update(codec=codec, bit_depth=24 if (info.bit_depth or 16) > 16 else 16)
        elif codec in ("mp3", "aac", "opus") and info.bitrate_bps:
            options.update(codec=codec, bitrate_bps=int(min(max(info.bitrate_bps, 6000), 640_000)))
    return options


def write_like(source: str | os.PathLike, output: str | os.PathLike, audio: Audio) -> Path:
    """Write ``audio`` to ``output`` atomically in ``source``'s format where the extension allows.

    The codec, bit depth and bitrate of ``source`` are kept when ``output``
    has the same extension; another extension gets its container's default.
    """
    import audiokit

    return audiokit.write(output, audio, **_format_like(source, output))
