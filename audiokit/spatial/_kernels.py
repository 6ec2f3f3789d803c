"""Numba kernels of the binaural renderer. Private: the wrappers validate, kernels trust.

All kernels are ``@njit(cache=True)`` and compile on first call, never at import.
Spectra are kept as separate real and imaginary float32 planes: the
multiply-accumulate over them vectorises, where complex64 does not (STYLE.md §4).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = []


@njit(cache=True, inline="always")
def _lagrange_taps(delay):
    """Cubic Lagrange fractional-delay taps (Laakso et al. 1996, eq. 42).

    Same node placement as :func:`audiokit.spatial.hrtf.lagrange_weights`:
    ``x[t - delay] = sum_k w_k x[t - first - k]``, nodes centred on the delay,
    causal below one sample, a unit tap (exact shift) at integer delays.
    """
    whole = np.floor(delay)
    iw = np.int64(whole)
    first = iw - 1 if iw >= 1 else np.int64(0)
    if delay == whole:
        if iw == 0:
            return first, 1.0, 0.0, 0.0, 0.0
        return first, 0.0, 1.0, 0.0, 0.0
    u = delay - first
    return (first, -(u - 1.0) * (u - 2.0) * (u - 3.0) / 6.0, u * (u - 2.0) * (u - 3.0) / 2.0,
            -u * (u - 1.0) * (u - 3.0) / 2.0, u * (u - 1.0) * (u - 2.0) / 6.0)


@njit(cache=True)
def delay_lines(blocks, ring, write_pos, delay_start, delay_end, gain_start, gain_end, frames):
    """Write each source's block into its ring and read both ears' delayed, scaled input.

    Delay and gain glide linearly from ``*_start`` to ``*_end`` over the block,
    reaching the end value on the last sample. ``frames`` holds the overlap-save
    input of the convolution: row ``2 s + ear`` is ``[previous block | this block]``.

    Parameters
    ----------
    blocks : float32 (S, B)
    ring : float32 (S, R), R a power of two >= B + max delay + 4
    write_pos : int64, absolute index of ``blocks[:, 0]``
    delay_start, delay_end : float64 (S, 2), samples
    gain_start, gain_end : float64 (S,)
    frames : float32 (2 S, 2 B), updated in place
    """
    num_sources, block = blocks.shape
    mask = ring.shape[1] - 1
    span = np.empty(block + 3, np.float32)
    for s in range(num_sources):
        line = ring[s]
        for n in range(block):
            line[(write_pos + n) & mask] = blocks[s, n]
        g0 = gain_start[s]
        gstep = (gain_end[s] - g0) / block
        for ear in range(2):
            row = frames[2 * s + ear]
            row[:block] = row[block:]
            d0 = delay_start[s, ear]
            step = (delay_end[s, ear] - d0) / block
            if step == 0.0 and gstep == 0.0:
                # static: one set of taps; gather the span once so the taps loop vectorises
                first, w0, w1, w2, w3 = _lagrange_taps(d0)
                base = write_pos - first - 3
                for n in range(block + 3):
                    span[n] = line[(base + n) & mask]
                c0, c1 = np.float32(g0 * w0), np.float32(g0 * w1)
                c2, c3 = np.float32(g0 * w2), np.float32(g0 * w3)
                for n in range(block):
                    row[block + n] = c0 * span[n + 3] + c1 * span[n + 2] + c2 * span[n + 1] + c3 * span[n]
            else:
                for n in range(block):
                    first, w0, w1, w2, w3 = _lagrange_taps(d0 + step * (n + 1))
                    t = write_pos + n - first
                    row[block + n] = (g0 + gstep * (n + 1)) * (
                        w0 * line[t & mask] + w1 * line[(t - 1) & mask]
                        + w2 * line[(t - 2) & mask] + w3 * line[(t - 3) & mask])


@njit(cache=True)
def accumulate(spectra, fdl_re, fdl_im, head, h_re, h_im, n_re, n_im, changed,
               acc_re, acc_im, dif_re, dif_im):
    """Uniformly partitioned overlap-save convolution, accumulated across sources.

    Frequency-domain delay line (Garcia 2002; Wefers 2015, §5.3): the newest input
    spectrum goes into slot ``head``; output spectrum
    ``Y = sum_s sum_k X_s[head - k] H_s[k]`` over sources ``s`` and partitions ``k``,
    so two inverse FFTs per block serve every source. For sources whose filter
    changes this block (``changed``) the difference ``X (H_new - H_old)`` goes to a
    second accumulator; the caller crossfades ``irfft(acc) + w irfft(dif)``.

    Parameters
    ----------
    spectra : float32 (2 S, 2 F), interleaved re/im rFFT of the frames (complex64 viewed)
    fdl_re, fdl_im : float32 (S, 2, K, F)
    head : int, slot of the newest spectrum
    h_re, h_im, n_re, n_im : float32 (S, 2, K, F), old and new filter spectra
    changed : bool (S,)
    acc_re, acc_im, dif_re, dif_im : float32 (2, F), overwritten
    """
    num_sources = fdl_re.shape[0]
    parts = fdl_re.shape[2]
    bins = fdl_re.shape[3]
    acc_re[:] = 0.0
    acc_im[:] = 0.0
    dif_re[:] = 0.0
    dif_im[:] = 0.0
    for s in range(num_sources):
        for ear in range(2):
            row = 2 * s + ear
            for f in range(bins):
                fdl_re[s, ear, head, f] = spectra[row, 2 * f]
                fdl_im[s, ear, head, f] = spectra[row, 2 * f + 1]
            ar = acc_re[ear]
            ai = acc_im[ear]
            for k in range(parts):
                slot = head - k
                if slot < 0:
                    slot += parts
                xr = fdl_re[s, ear, slot]
                xi = fdl_im[s, ear, slot]
                hr = h_re[s, ear, k]
                hi = h_im[s, ear, k]
                for f in range(bins):
                    ar[f] += xr[f] * hr[f] - xi[f] * hi[f]
                    ai[f] += xr[f] * hi[f] + xi[f] * hr[f]
                if changed[s]:
                    nr = n_re[s, ear, k]
                    ni = n_im[s, ear, k]
                    dr = dif_re[ear]
                    di = dif_im[ear]
                    for f in range(bins):
                        er = nr[f] - hr[f]
                        ei = ni[f] - hi[f]
                        dr[f] += xr[f] * er - xi[f] * ei
                        di[f] += xr[f] * ei + xi[f] * er


@njit(cache=True)
def interpolate_spectra(set_re, set_im, indices, weights, rows, out_re, out_im):
    """Barycentric mix of measured filter spectra: ``H = sum_i w_i H_i`` (linear, so
    equal to the spectrum of the mixed aligned IR).

    Parameters
    ----------
    set_re, set_im : float32 (M, 2, K, F), partition spectra of every measurement
    indices : int64 (C, 3); weights : float64 (C, 3)
    rows : int64 (C,), the source row each result goes to
    out_re, out_im : float32 (S, 2, K, F), rows written in place
    """
    for c in range(rows.shape[0]):
        s = rows[c]
        i0, i1, i2 = indices[c, 0], indices[c, 1], indices[c, 2]
        w0 = np.float32(weights[c, 0])
        w1 = np.float32(weights[c, 1])
        w2 = np.float32(weights[c, 2])
        for ear in range(2):
            for k in range(set_re.shape[2]):
                for f in range(set_re.shape[3]):
                    out_re[s, ear, k, f] = (w0 * set_re[i0, ear, k, f] + w1 * set_re[i1, ear, k, f]
                                            + w2 * set_re[i2, ear, k, f])
                    out_im[s, ear, k, f] = (w0 * set_im[i0, ear, k, f] + w1 * set_im[i1, ear, k, f]
                                            + w2 * set_im[i2, ear, k, f])
