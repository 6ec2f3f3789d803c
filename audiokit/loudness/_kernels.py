"""Numba kernels of the loudness package (private).

The public wrappers in :mod:`.meter`, :mod:`.truepeak` and :mod:`.limiter`
validate their input once and allocate every output; these kernels trust
their arguments. No kernel is compiled at import time: ``@njit(cache=True)``
without a signature compiles on first call and is read from the on-disk cache
by every later process.

None of the kernels uses ``fastmath``: every output sample is computed by the
same sequence of IEEE operations whatever the block boundaries, which is what
makes a streaming meter fed any block sizes agree bit for bit with the
one-shot functions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__: list[str] = []

#: Interpolated outputs per true-peak segment: one bound check per segment.
_TP_SEGMENT = 256


@njit(cache=True)
def _kweight_energy(samples: np.ndarray, sos: np.ndarray, state: np.ndarray, weights: np.ndarray,
                    energy: np.ndarray) -> None:  # pragma: no cover - numba
    """K-weight every channel and sum the weighted squares per frame.

    BS.1770-5 Annex 1, eq. (1)-(2): each channel passes the two-stage
    pre-filter (shelf, then high-pass); ``energy[n] = sum_i G_i * y_i[n]**2``.
    The biquads run in transposed direct form II in float64; channels are
    processed in pairs so that the two recurrences overlap in the pipeline.

    samples : float32 (channels, frames); sos : float64 (2, 6) as scipy
    second-order sections (a0 == 1); state : float64 (channels, 2, 2), updated
    in place; weights : float64 (channels,); energy : float64 (frames,) output.
    """
    num_channels, num_frames = samples.shape
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    for n in range(num_frames):
        energy[n] = 0.0
    c = 0
    while c < num_channels:
        paired = c + 1 < num_channels
        d = c + 1 if paired else c
        wc = weights[c]
        wd = weights[d] if paired else 0.0
        # channel c
        s0c, s1c = state[c, 0, 0], state[c, 0, 1]
        t0c, t1c = state[c, 1, 0], state[c, 1, 1]
        # channel d (a copy of c when unpaired; its result is weighted by 0)
        s0d, s1d = state[d, 0, 0], state[d, 0, 1]
        t0d, t1d = state[d, 1, 0], state[d, 1, 1]
        xc = samples[c]
        xd = samples[d]
        for n in range(num_frames):
            vc = np.float64(xc[n])
            vd = np.float64(xd[n])
            # stage 1: high-frequency shelf (BS.1770-5 Table 1)
            uc = b00 * vc + s0c
            s0c = b01 * vc - a01 * uc + s1c
            s1c = b02 * vc - a02 * uc
            ud = b00 * vd + s0d
            s0d = b01 * vd - a01 * ud + s1d
            s1d = b02 * vd - a02 * ud
            # stage 2: RLB high-pass (BS.1770-5 Table 2)
            yc = b10 * uc + t0c
            t0c = b11 * uc - a11 * yc + t1c
            t1c = b12 * uc - a12 * yc
            yd = b10 * ud + t0d
            t0d = b11 * ud - a11 * yd + t1d
            t1d = b12 * ud - a12 * yd
            energy[n] += wc * yc * yc + wd * yd * yd
        state[c, 0, 0], state[c, 0, 1] = s0c, s1c
        state[c, 1, 0], state[c, 1, 1] = t0c, t1c
        if paired:
            state[d, 0, 0], state[d, 0, 1] = s0d, s1d
            state[d, 1, 0], state[d, 1, 1] = t0d, t1d
        c += 2


@njit(cache=True)
def _accumulate_hops(energy: np.ndarray, sample_rate: int, position: int, hop_index: int, partial: float,
                     out: np.ndarray) -> tuple[int, int, float]:  # pragma: no cover
    """Sum ``energy`` into 10 ms hops whose boundaries are ``floor(k * fs / 100)``.

    Hop ``k`` covers global frames ``[k*fs//100, (k+1)*fs//100)``, so 400 ms,
    3 s and 100 ms spans are exact whenever ``0.4 * fs`` is an integer (every
    common rate). ``position`` is the global index of ``energy[0]``; the hop
    being filled has index ``hop_index`` and running sum ``partial``.
    Completed hop sums go to ``out``. Returns (completed, hop_index, partial).
    """
    completed = 0
    end = ((hop_index + 1) * sample_rate) // 100
    for i in range(energy.shape[0]):
        partial += energy[i]
        if position + i + 1 == end:
            out[completed] = partial
            completed += 1
            partial = 0.0
            hop_index += 1
            end = ((hop_index + 1) * sample_rate) // 100
    return completed, hop_index, partial


@njit(cache=True)
def _window_sums(values: np.ndarray, width: int, out: np.ndarray) -> None:  # pragma: no cover - numba
    """``out[j] = sum(values[j:j + width])`` for every complete window.

    A running sum, re-summed exactly at every ``width``-th window so that
    rounding from loud passages cannot leak into later quiet ones (error bounded
    by the values of the last two windows).
    """
    count = values.shape[0] - width + 1
    running = 0.0
    for j in range(count):
        if j % width == 0:
            running = 0.0
            for k in range(j, j + width):
                running += values[k]
        else:
            running += values[j + width - 1] - values[j - 1]
        out[j] = running if running > 0.0 else 0.0


@njit(cache=True)
def _true_peak(extended: np.ndarray, taps: np.ndarray, bound_gain: float, interpolate: bool, peaks: np.ndarray,
               sample_peaks: np.ndarray) -> None:  # pragma: no cover
    """Largest of |sample| and |4x-interpolated value| per channel.

    BS.1770-5 Annex 2: the signal is oversampled by a polyphase FIR (12 taps
    per phase, Annex 2 table) and the absolute maximum taken; the sample
    values themselves are included (the Annex filter alone under-reads fs/4
    tones by 0.22 dB). ``extended`` is float32 (channels, 11 + frames): 11
    frames of history, then the new frames. ``taps`` float32 (12, 4): column p
    is phase p, row k multiplies x[n - k]. Without ``interpolate`` (rates of
    192 kHz and up) only the samples count. ``peaks`` (true) and
    ``sample_peaks`` float64 (channels,) hold running maxima, updated in place.

    Exact branch-and-bound: an interpolated value is a tap-weighted sum of
    12 samples, so ``|y| <= bound_gain * max|x|`` over its support. A segment
    whose bound cannot beat the running peak is skipped; the result equals
    the exhaustive maximum, only cheaper on dynamic programme.
    """
    num_channels, length = extended.shape
    history = taps.shape[0] - 1
    acc = np.empty(_TP_SEGMENT, np.float32)
    for c in range(num_channels):
        x = extended[c]
        peak = peaks[c]
        sample_peak = sample_peaks[c]
        for start in range(history, length, _TP_SEGMENT):
            stop = min(start + _TP_SEGMENT, length)
            newest = _abs_max(x[start:stop])
            if newest > sample_peak:
                sample_peak = np.float64(newest)
            if newest > peak:
                peak = np.float64(newest)
            if not interpolate:
                continue
            support = max(newest, _abs_max(x[start - history:start]))
            if support * bound_gain <= peak:
                continue
            count = stop - start
            _interpolated_abs(x, start, stop, taps, acc)
            best = _abs_max(acc[:count])
            if best > peak:
                peak = np.float64(best)
        peaks[c] = peak
        sample_peaks[c] = sample_peak


@njit(cache=True)
def _interpolated_abs(x: np.ndarray, start: int, stop: int, taps: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
    """``out[i] = max_p |sum_k taps[k, p] * x[start + i - k]|`` for ``start + i`` in ``[start, stop)``.

    BS.1770-5 Annex 2: the four phases of the 48-tap interpolator at once, so
    every input sample is loaded once for all of them. Each phase sums its 12
    products left to right (no reassociation, no fused multiply-add), so a
    value never depends on where a block or segment starts; LLVM vectorises
    over ``i`` (independent outputs). ``x`` needs 11 valid samples before ``start``.
    """
    g0, g1, g2, g3, g4, g5 = taps[0, 0], taps[1, 0], taps[2, 0], taps[3, 0], taps[4, 0], taps[5, 0]
    g6, g7, g8, g9, g10, g11 = taps[6, 0], taps[7, 0], taps[8, 0], taps[9, 0], taps[10, 0], taps[11, 0]
    h0, h1, h2, h3, h4, h5 = taps[0, 1], taps[1, 1], taps[2, 1], taps[3, 1], taps[4, 1], taps[5, 1]
    h6, h7, h8, h9, h10, h11 = taps[6, 1], taps[7, 1], taps[8, 1], taps[9, 1], taps[10, 1], taps[11, 1]
    j0, j1, j2, j3, j4, j5 = taps[0, 2], taps[1, 2], taps[2, 2], taps[3, 2], taps[4, 2], taps[5, 2]
    j6, j7, j8, j9, j10, j11 = taps[6, 2], taps[7, 2], taps[8, 2], taps[9, 2], taps[10, 2], taps[11, 2]
    k0, k1, k2, k3, k4, k5 = taps[0, 3], taps[1, 3], taps[2, 3], taps[3, 3], taps[4, 3], taps[5, 3]
    k6, k7, k8, k9, k10, k11 = taps[6, 3], taps[7, 3], taps[8, 3], taps[9, 3], taps[10, 3], taps[11, 3]
    # Twelve shifted views: x_k[i] == x[start + i - k]; non-negative indices
    # let LLVM vectorise without wrap-around checks.
    x0, x1, x2, x3 = x[start:stop], x[start - 1:stop - 1], x[start - 2:stop - 2], x[start - 3:stop - 3]
    x4, x5, x6, x7 = x[start - 4:stop - 4], x[start - 5:stop - 5], x[start - 6:stop - 6], x[start - 7:stop - 7]
    x8, x9 = x[start - 8:stop - 8], x[start - 9:stop - 9]
    x10, x11 = x[start - 10:stop - 10], x[start - 11:stop - 11]
    for i in range(stop - start):
        a0, a1, a2, a3, a4, a5 = x0[i], x1[i], x2[i], x3[i], x4[i], x5[i]
        a6, a7, a8, a9, a10, a11 = x6[i], x7[i], x8[i], x9[i], x10[i], x11[i]
        y0 = (g0 * a0 + g1 * a1 + g2 * a2 + g3 * a3 + g4 * a4 + g5 * a5
              + g6 * a6 + g7 * a7 + g8 * a8 + g9 * a9 + g10 * a10 + g11 * a11)
        y1 = (h0 * a0 + h1 * a1 + h2 * a2 + h3 * a3 + h4 * a4 + h5 * a5
              + h6 * a6 + h7 * a7 + h8 * a8 + h9 * a9 + h10 * a10 + h11 * a11)
        y2 = (j0 * a0 + j1 * a1 + j2 * a2 + j3 * a3 + j4 * a4 + j5 * a5
              + j6 * a6 + j7 * a7 + j8 * a8 + j9 * a9 + j10 * a10 + j11 * a11)
        y3 = (k0 * a0 + k1 * a1 + k2 * a2 + k3 * a3 + k4 * a4 + k5 * a5
              + k6 * a6 + k7 * a7 + k8 * a8 + k9 * a9 + k10 * a10 + k11 * a11)
        out[i] = max(max(abs(y0), abs(y1)), max(abs(y2), abs(y3)))


@njit(cache=True, fastmath=True)
def _abs_max(values: np.ndarray) -> float:  # pragma: no cover - numba
    """max(|values|), 0 for none.

    A max is exact in any order, so fastmath only lets LLVM vectorise it
    (inputs are finite, checked at the boundary).
    """
    best = np.float32(0.0)
    for i in range(values.shape[0]):
        best = max(best, abs(values[i]))
    return best


@njit(cache=True)
def _limiter_required_gain(padded: np.ndarray, taps: np.ndarray, interpolate: bool, threshold: float,
                           bound_gain: float, required: np.ndarray) -> None:  # pragma: no cover
    """Gain each frame needs so that neither it nor a true-peak point beside it exceeds ``threshold``.

    The detector is BS.1770-5 Annex 2's: |sample| and the |4x-interpolated
    values| (12-tap polyphase FIR, as :func:`_true_peak`). An interpolated value
    whose largest tap weights sit on frames ``n - 6`` and ``n - 5`` lies between
    them, so it counts for both. ``padded`` is float32 (channels, 11 + frames
    + 6): 11 zeros, the signal, 6 zeros, so that every interpolated point that
    touches the signal is seen. ``required`` float64 (frames,) is written:
    ``min(1, threshold / peak)`` per frame, linked over channels.

    A segment whose bound ``bound_gain * max|x|`` cannot reach ``threshold``
    needs no interpolation (same exact branch-and-bound as the meter).
    """
    num_channels, length = padded.shape
    history = taps.shape[0] - 1
    frames = length - history - 6
    peak = np.zeros(frames, np.float32)
    acc = np.empty(_TP_SEGMENT, np.float32)
    for c in range(num_channels):
        x = padded[c]
        for n in range(frames):
            v = abs(x[history + n])
            if v > peak[n]:
                peak[n] = v
        if not interpolate:
            continue
        for start in range(history, length, _TP_SEGMENT):
            stop = min(start + _TP_SEGMENT, length)
            support = _abs_max(x[start - history:stop])
            if support * bound_gain <= threshold:
                continue
            count = stop - start
            _interpolated_abs(x, start, stop, taps, acc)
            for i in range(count):
                v = acc[i]
                # padded index start + i sits between signal frames start+i-17 and start+i-16
                right = start + i - history - 5
                for n in (right - 1, right):
                    if 0 <= n < frames and v > peak[n]:
                        peak[n] = v
    for n in range(frames):
        required[n] = threshold / np.float64(peak[n]) if peak[n] > threshold else 1.0


@njit(cache=True)
def _sliding_minimum(required: np.ndarray, base: int, start: int, hold: int, lookahead: int,
                     held: np.ndarray) -> None:  # pragma: no cover - numba
    """The limiter envelope's first step: its gain is down ``lookahead`` frames before a peak and held after it.

    ``held[i] = min(required over frames [n - hold, n + lookahead - 1])`` for
    frame ``n = start + i``, clipped to the frames ``required`` holds: frames
    ``base .. base + len(required) - 1`` of the signal (the caller passes every
    frame from ``max(start - hold, 0)`` on). A monotone deque; the minimum is
    exact, so any split of the signal into blocks gives the same values.
    ``required``, ``held`` float64.
    """
    last = base + required.shape[0] - 1
    queue = np.empty(required.shape[0], np.int64)
    head, tail = 0, 0
    pushed = max(start - hold, base)
    for i in range(held.shape[0]):
        n = start + i
        newest = min(n + lookahead - 1, last)
        while pushed <= newest:
            value = required[pushed - base]
            while tail > head and required[queue[tail - 1] - base] >= value:
                tail -= 1
            queue[tail] = pushed
            tail += 1
            pushed += 1
        while queue[head] < n - hold:
            head += 1
        held[i] = required[queue[head] - base]


@njit(cache=True)
def _release(held: np.ndarray, release_coef: float, level: float) -> float:  # pragma: no cover - numba
    """In place, ``e[n] = min(held[n], 1 - release_coef * (1 - e[n - 1]))`` from ``e[-1] = level``.

    A one-pole recovery towards unity gain, never above ``held``. Returns the
    last value, the ``level`` to pass with the next block.
    """
    for n in range(held.shape[0]):
        level = min(held[n], 1.0 - release_coef * (1.0 - level))
        held[n] = level
    return level


@njit(cache=True)
def _moving_average(values: np.ndarray, width: int, start: int, total: float, out: np.ndarray) -> float:  # pragma: no cover - numba
    """``out[i] = mean(values[i + 1 .. i + width])``: the mean of the ``width`` frames ending at frame ``start + i``.

    ``values`` holds the ``width`` frames before frame ``start`` (before the
    signal's first frame: copies of it), then the new ones. The running sum
    ``total`` (the previous call's return value) is re-summed exactly at every
    frame index divisible by ``width``, so rounding cannot accumulate and any
    split into blocks gives the same values. Returns the running sum.
    """
    for i in range(out.shape[0]):
        if (start + i) % width == 0:
            total = 0.0
            for k in range(i + 1, i + width + 1):
                total += values[k]
        else:
            total += values[i + width] - values[i]
        out[i] = total / width
    return total
