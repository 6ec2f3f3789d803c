"""Bleeping: replace flagged word spans with a tone at the speech's level, silence, or the speech reversed.

Whisper's word times are typically 50-200 ms off (starts mostly late), so
each span is first snapped to the speech's own edges (:func:`snap_spans`):
pauses (runs of frames 30 dB under the word's loudest) searched within
``search_s`` of each end; where connected speech has no pause, Whisper's
time stands. Weak sound between two pauses (a word-final release, the
fricative onset of the next word) goes with the word only when the longer
of the two pauses follows it.
The replacement is crossfaded in and out with short raised-cosine fades
that start and end at zero crossings, so no click is added.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiokit.audio import Audio
from audiokit.errors import ParameterError

__all__ = ["BLEEP_MODES", "snap_spans", "bleep", "write_like"]

#: What replaces a span.
BLEEP_MODES = ("tone", "mute", "reverse")
#: Envelope frame for snapping, s.
SNAP_FRAME_S = 0.005
#: A frame this far under the word's loudest frame is a pause, dB.
PAUSE_DB = 30.0
#: A pause is at least this long, s.
MIN_PAUSE_S = 0.015
#: A pause ending this far after Whisper's start still counts as "before" it, s.
START_TOLERANCE_S = 0.03
#: Pause length (up to this) that counts against its distance when choosing a word's end, s.
PAUSE_CREDIT_S = 0.1
#: Sound between two pauses holding at most this fraction of the word's energy is weak (a release burst,
#: a fricative onset) and does not decide which pause ends the word.
WEAK_FRACTION = 0.02
#: ... and lasting at most this long, s.
WEAK_MAX_S = 0.1
#: Zero crossings are searched this far from each edge, s.
ZERO_CROSSING_S = 0.0025


def _envelope_db(mono: np.ndarray, hop: int) -> np.ndarray:
    count = mono.shape[0] // hop
    power = (mono[: count * hop].astype(np.float64).reshape(count, hop) ** 2).mean(axis=1)
    return 10 * np.log10(power + 1e-20)


def snap_spans(samples: np.ndarray, sample_rate: int, spans: Sequence[tuple[float, float]], *,
               search_s: float = 0.25) -> list[tuple[float, float]]:
    """Move each span's ends to the nearest pauses around its speech.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames)]
    sample_rate : int
    spans : sequence of (start_s, end_s)
        Word spans from a transcript.
    search_s : float
        How far from each end a pause is looked for, s.

    Returns
    -------
    list of (start_s, end_s)
        The start moves to the end of the last pause before it (or, failing
        that, the nearest pause before Whisper's end). The end moves to the
        start of a pause after the new start: first the one nearest Whisper's
        end shifted by the start's correction (Whisper's word lengths are
        better than its times), its length (up to 100 ms) credited against its
        distance so that a short stop closure inside the word loses to a real
        pause; then, among the pauses joined to that one by weak sound only (a
        release burst, a fricative onset: <= 100 ms and <= 2 % of the word's
        energy), the longest. An end with no pause within ``search_s`` stays.
    """
    hop = max(1, round(SNAP_FRAME_S * sample_rate))
    frame_s = hop / sample_rate
    level = _envelope_db(np.abs(samples).max(axis=0), hop)
    min_run = max(1, round(MIN_PAUSE_S / frame_s))
    reach = round(search_s / frame_s)
    late = round(START_TOLERANCE_S / frame_s)
    credit = round(PAUSE_CREDIT_S / frame_s)
    weak_max = round(WEAK_MAX_S / frame_s)
    snapped = []
    for start_s, end_s in spans:
        a = int(start_s / frame_s)
        b = max(a + 1, int(np.ceil(end_s / frame_s)))
        lo, hi = max(0, a - reach), min(level.shape[0], b + reach)
        if hi - lo < 2 or a >= level.shape[0]:
            snapped.append((start_s, end_s))
            continue
        quiet = level[lo:hi] < level[a:min(b, hi)].max() - PAUSE_DB
        runs = _runs(quiet, min_run)
        # pause ends before Whisper's end are candidate starts; pause starts after its start, candidate ends
        starts = [lo + stop for first, stop in runs if lo + stop < b]
        # Whisper's starts run late far more often than early: prefer the last pause before it
        early = [f for f in starts if f <= a + late]
        new_a = max(early) if early else min(starts, key=lambda f: abs(f - a)) if starts else a
        # Whisper's end is late by about as much as its start was: expect the end a word's length after the start
        expected = b - (a - new_a)
        pauses = [(lo + first, lo + stop) for first, stop in runs if lo + first > new_a]
        new_b = _end_pause(level, pauses, new_a, expected, credit, weak_max) if pauses else b
        snapped.append((new_a * frame_s if starts else start_s, new_b * frame_s if pauses else end_s))
    return snapped


def _end_pause(level: np.ndarray, pauses: list[tuple[int, int]], start: int, expected: int, credit: int,
               weak_max: int) -> int:
    """The frame where the word starting at frame ``start`` ends: the start of one of ``pauses`` ((first, stop) frames).

    First the pause nearest ``expected``, each pause's length (up to ``credit`` frames) credited against its
    distance, so that a short stop closure inside the word loses to a real pause. Then, from that pause,
    pauses joined to it by weak sound only (each stretch at most ``weak_max`` frames, together at most
    :data:`WEAK_FRACTION` of the word's energy on each side) are gathered, and the longest of them wins:
    a word-final release ("fuck", "shit") runs into the long pause after the word, and the quiet onset
    of the next word ("the | school") lies between that long pause and a short closure inside the next
    word. Either way, the weak sound goes with the word only when the longer pause follows it.
    """
    def score(i: int) -> int:
        return abs(pauses[i][0] - expected) - min(pauses[i][1] - pauses[i][0], credit)

    nearest = min(range(len(pauses)), key=score)
    power = 10.0 ** (level / 10.0)
    budget = WEAK_FRACTION * power[start:pauses[nearest][0]].sum()
    joined = [nearest]
    for step in (-1, 1):
        index, used = nearest, 0.0
        while 0 <= index + step < len(pauses):
            left, right = sorted((pauses[index], pauses[index + step]))
            used += power[left[1]:right[0]].sum()
            if right[0] - left[1] > weak_max or used > budget:
                break
            index += step
            joined.append(index)
    best = max(joined, key=lambda i: (pauses[i][1] - pauses[i][0], -abs(pauses[i][0] - expected)))
    return pauses[best][0]


def _runs(mask: np.ndarray, min_length: int) -> list[tuple[int, int]]:
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_length]


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
        Spans to replace, seconds (already snapped, see :func:`snap_spans`).
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
    mono = audio.samples.mean(axis=0)
    reach = round(ZERO_CROSSING_S * rate)
    replaced = []
    for start_s, end_s in sorted(spans):
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
