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
def _kweight_energy(samples, sos, state, weights, energy):  # pragma: no cover - numba
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
def _accumulate_hops(energy, sample_rate, position, hop_index, partial, out):  # pragma: no cover
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
def _window_sums(values, width, out):  # pragma: no cover - numba
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
def _true_peak(extended, taps, bound_gain, interpolate, peaks, sample_peaks):  # pragma: no cover
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
    acc = np.empty((4, _TP_SEGMENT), np.float32)
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
            # Twelve shifted views: x_k[i] == x[start + i - k]. Non-negative
            # indices let LLVM vectorise over i (no wrap-around checks).
            x0, x1, x2, x3 = x[start:stop], x[start - 1:stop - 1], x[start - 2:stop - 2], x[start - 3:stop - 3]
            x4, x5, x6, x7 = x[start - 4:stop - 4], x[start - 5:stop - 5], x[start - 6:stop - 6], x[start - 7:stop - 7]
            x8, x9 = x[start - 8:stop - 8], x[start - 9:stop - 9]
            x10, x11 = x[start - 10:stop - 10], x[start - 11:stop - 11]
            for p in range(4):
                h0, h1, h2, h3 = taps[0, p], taps[1, p], taps[2, p], taps[3, p]
                h4, h5, h6, h7 = taps[4, p], taps[5, p], taps[6, p], taps[7, p]
                h8, h9, h10, h11 = taps[8, p], taps[9, p], taps[10, p], taps[11, p]
                out = acc[p]
                for i in range(count):
                    out[i] = (
                        h0 * x0[i] + h1 * x1[i] + h2 * x2[i] + h3 * x3[i]
                        + h4 * x4[i] + h5 * x5[i] + h6 * x6[i] + h7 * x7[i]
                        + h8 * x8[i] + h9 * x9[i] + h10 * x10[i] + h11 * x11[i]
                    )
            for p in range(4):
                best = _abs_max(acc[p, :count])
                if best > peak:
                    peak = np.float64(best)
        peaks[c] = peak
        sample_peaks[c] = sample_peak


@njit(cache=True, fastmath=True)
def _abs_max(values):  # pragma: no cover - numba
    """max(|values|), 0 for none. A max is exact in any order, so fastmath only
    lets LLVM vectorise it (inputs are finite, checked at the boundary)."""
    best = np.float32(0.0)
    for i in range(values.shape[0]):
        best = max(best, abs(values[i]))
    return best
