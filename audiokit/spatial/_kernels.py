"""Numba kernels of the binaural renderer and the direction lookup.

Private: the wrappers validate, kernels trust their input.

All kernels are ``@njit(cache=True)`` and compile (or load from the cache) on
first call, never at import. Spectra are kept as separate real and imaginary
float32 planes: the multiply-accumulate over them vectorises, where complex64
does not (STYLE.md §4).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = []

#: Visibility-walk steps before falling back to testing every triangle.
_MAX_WALK = 64


@njit(cache=True, inline="always")
def _lagrange_taps(delay: float) -> tuple[int, float, float, float, float]:
    """Cubic Lagrange fractional-delay taps (Laakso et al. 1996, eq. 42).

    Same node placement as :func:`audiokit.spatial.hrtf.lagrange_weights`:
    ``x[t - delay] = sum_k w_k x[t - first - k]``, nodes centred on the delay
    (``first = floor(delay) - 1``), causal (``first = 0``) below one sample. The
    polynomials give exactly a unit tap at integer delays, so no branch is needed.
    """
    whole = np.int64(np.floor(delay))
    first = whole - 1 if whole >= 1 else np.int64(0)
    u = delay - first
    return (first, -(u - 1.0) * (u - 2.0) * (u - 3.0) / 6.0, u * (u - 2.0) * (u - 3.0) / 2.0,
            -u * (u - 1.0) * (u - 3.0) / 2.0, u * (u - 1.0) * (u - 2.0) / 6.0)


@njit(cache=True)
def all_finite(blocks: np.ndarray) -> bool:
    """Whether every sample of a float32 (S, B) array is finite (``x - x`` is 0 only then)."""
    for s in range(blocks.shape[0]):
        row = blocks[s]
        bad = False
        for n in range(row.shape[0]):
            bad |= row[n] - row[n] != np.float32(0.0)
        if bad:
            return False
    return True


@njit(cache=True)
def delay_lines(blocks: np.ndarray, ring: np.ndarray, write_pos: int, delay_start: np.ndarray, delay_end: np.ndarray, gain_start: np.ndarray,
                gain_end: np.ndarray, frames: np.ndarray, start: int) -> None:
    """Write each source's block into its ring and its delayed, scaled input into its frame.

    The common delay ``c`` and the gain glide linearly from ``*_start`` to
    ``*_end`` over the block, reaching the end value on the last sample; while
    both are constant the four Lagrange taps are fixed (a plain copy at integer
    delays): ``y[n] = g sum_k w_k x[n - first - k]``.

    Loops index 1-D views from 0 so that Numba can prove the indices
    non-negative and LLVM vectorises them.

    Parameters
    ----------
    blocks : float32 (S, B)
    ring : float32 (S, R), R a power of two >= B + max delay + 4
    write_pos : int64, absolute index of ``blocks[:, 0]``
    delay_start, delay_end : float64 (S,), samples
    gain_start, gain_end : float64 (S,)
    frames : float32 (S, L); ``frames[:, start:start + B]`` is overwritten
    start : int64
    """
    num_sources, block = blocks.shape
    size = ring.shape[1]
    mask = size - 1
    span = np.empty(block + 3, np.float32)
    position = write_pos & mask
    head = min(block, size - position)
    for s in range(num_sources):
        line = ring[s]
        x = blocks[s]
        first_part = line[position:position + head]
        for n in range(head):
            first_part[n] = x[n]
        wrapped = line[:block - head]
        rest = x[head:]
        for n in range(block - head):
            wrapped[n] = rest[n]
        out = frames[s, start:start + block]
        d0 = delay_start[s]
        g0 = gain_start[s]
        if d0 == delay_end[s] and g0 == gain_end[s]:
            first, w0, w1, w2, w3 = _lagrange_taps(d0)
            base = (write_pos - first - 3) & mask
            if base + block + 3 <= size:
                window = line[base:base + block + 3]
            else:
                for n in range(block + 3):
                    span[n] = line[(base + n) & mask]
                window = span
            x0, x1, x2, x3 = window[3:], window[2:], window[1:], window[:block]
            c0, c1 = np.float32(g0 * w0), np.float32(g0 * w1)
            c2, c3 = np.float32(g0 * w2), np.float32(g0 * w3)
            for n in range(block):
                out[n] = c0 * x0[n] + c1 * x1[n] + c2 * x2[n] + c3 * x3[n]
        else:
            _glide(line, write_pos, d0, delay_end[s], g0, gain_end[s], out, span)


@njit(cache=True)
def _glide(line: np.ndarray, write_pos: int, d0: float, d1: float, g0: float, g1: float, out: np.ndarray,
           span: np.ndarray) -> None:
    """``out[n] = g(n) x[write_pos + n - d(n)]``, ``d`` and ``g`` linear, cubic Lagrange taps.

    ``d`` and ``g`` reach ``d1``, ``g1`` at the last sample; the Lagrange taps of
    ``d(n)`` are computed at every sample.

    The block is cut into runs where the first Lagrange node ``floor(d) - 1`` is
    constant (usually one to three), so each run reads a contiguous window and
    the per-sample interpolation (Farrow/Horner form, float32) vectorises. Run ends are computed, not searched; where
    rounding moves one by a sample, that sample's nodes are a sample off centre
    (still a cubic through four neighbours of the delay).
    """
    block = out.shape[0]
    size = line.shape[0]
    mask = size - 1
    step = (d1 - d0) / block
    gstep = (g1 - g0) / block
    n = 0
    while n < block:
        whole = np.floor(d0 + step * (n + 1))
        first = np.int64(whole) - 1 if whole >= 1 else np.int64(0)
        if step > 0:
            end = np.int64(np.ceil((whole + 1.0 - d0) / step)) - 1
        elif step < 0:
            end = np.int64(np.floor((whole - d0) / step))
        else:
            end = block
        end = min(max(end, n + 1), block)
        count = end - n
        base = (write_pos + n - first - 3) & mask
        if base + count + 3 <= size:
            window = line[base:base + count + 3]
        else:
            for i in range(count + 3):
                span[i] = line[(base + i) & mask]
            window = span[:count + 3]
        x0, x1, x2, x3 = window[3:], window[2:], window[1:], window[:count]
        run = out[n:end]
        for i in range(count):
            # Farrow form of the same cubic: nodes x0..x3 at mu = -1, 0, 1, 2
            mu = np.float32(d0 + step * (n + i + 1) - first - 1.0)
            a, b, c, d = x0[i], x1[i], x2[i], x3[i]
            c1 = c - a * np.float32(1 / 3) - b * np.float32(0.5) - d * np.float32(1 / 6)
            c2 = (a + c) * np.float32(0.5) - b
            c3 = (d - a) * np.float32(1 / 6) + (b - c) * np.float32(0.5)
            run[i] = np.float32(g0 + gstep * (n + i + 1)) * (((c3 * mu + c2) * mu + c1) * mu + b)
        n = end


@njit(cache=True, inline="always")
def _mac(acc: np.ndarray, row: int, xr: np.ndarray, xi: np.ndarray, hlr: np.ndarray, hli: np.ndarray, hrr: np.ndarray, hri: np.ndarray) -> None:
    """``acc[row:row + 4] += X H`` for both ears (re, im of ear 0, then of ear 1)."""
    for f in range(xr.shape[0]):
        a = xr[f]
        b = xi[f]
        acc[row, f] += a * hlr[f] - b * hli[f]
        acc[row + 1, f] += a * hli[f] + b * hlr[f]
        acc[row + 2, f] += a * hrr[f] - b * hri[f]
        acc[row + 3, f] += a * hri[f] + b * hrr[f]


@njit(cache=True)
def accumulate(spectra: np.ndarray, fdl_re: np.ndarray, fdl_im: np.ndarray, head: int, filt_re: np.ndarray, filt_im: np.ndarray, slot: np.ndarray,
               changed: np.ndarray, acc: np.ndarray) -> None:
    """Uniformly partitioned overlap-save convolution, accumulated across sources.

    Frequency-domain delay line (Garcia 2002; Wefers 2015, §5.3): source ``s``'s
    newest input spectrum goes into slot ``head``; the output spectrum of ear
    ``e`` is ``Y_e = sum_s sum_k X_s[head - k] H_s,e[k]``, so one forward FFT per
    source and two inverse FFTs per block serve every source. Sources whose
    filter changes this block (``changed``) are accumulated twice, with the old
    filter (``acc[4:8]``) and the new one (``acc[8:12]``), the others once
    (``acc[0:4]``); the caller crossfades. Each source's filters are double
    buffered: ``filt[s, slot[s]]`` is current, the other slot the next one, and
    ``slot`` flips (``changed`` clears) once a change has been rendered.

    Parameters
    ----------
    spectra : float32 (S, 2 F), interleaved re/im of the frames' rFFT (complex64 viewed)
    fdl_re, fdl_im : float32 (S, K, F)
    head : int, slot of the newest spectrum
    filt_re, filt_im : float32 (S, 2, 2, K, F), [source, buffer, ear, partition, bin]
    slot : int64 (S,), current buffer, flipped for changed sources
    changed : bool (S,), cleared
    acc : float32 (12, F), added to: re, im of ear 0 and ear 1 for unchanged
        sources, for changed sources' old filters, for their new filters
    """
    num_sources, parts, bins = fdl_re.shape
    for s in range(num_sources):
        pairs = spectra[s]
        newest_re = fdl_re[s, head]
        newest_im = fdl_im[s, head]
        for f in range(bins):
            newest_re[f] = pairs[2 * f]
            newest_im[f] = pairs[2 * f + 1]
        now = slot[s]
        moving = changed[s]
        for k in range(parts):
            index = head - k
            if index < 0:
                index += parts
            xr = fdl_re[s, index]
            xi = fdl_im[s, index]
            _mac(acc, 4 if moving else 0, xr, xi, filt_re[s, now, 0, k], filt_im[s, now, 0, k],
                 filt_re[s, now, 1, k], filt_im[s, now, 1, k])
            if moving:
                _mac(acc, 8, xr, xi, filt_re[s, 1 - now, 0, k], filt_im[s, 1 - now, 0, k],
                     filt_re[s, 1 - now, 1, k], filt_im[s, 1 - now, 1, k])
        if moving:
            slot[s] = 1 - now
            changed[s] = False


@njit(cache=True)
def filter_spectra(set_re: np.ndarray, set_im: np.ndarray, pre_re: np.ndarray, pre_im: np.ndarray, indices: np.ndarray, weights: np.ndarray,
                   first: np.ndarray, taps: np.ndarray, pre_first: np.ndarray, pre_taps: np.ndarray, phasor_re: np.ndarray, phasor_im: np.ndarray,
                   rows: np.ndarray, buffers: np.ndarray, out_re: np.ndarray, out_im: np.ndarray) -> None:
    """Filter spectra of sources: interpolated aligned IR delayed per ear, plus the prefix.

    ``H_s,e[k] = D_s,e sum_i w_i A_i,e[k] + P_s sum_i w_i Q_i,e[k]``: the barycentric
    mix of measured partition spectra (linear, so equal to the spectrum of the mixed
    aligned IR) times ``D[f] = sum_j taps_j exp(-2 pi i (first + j) f / M)``, the
    frequency response of the cubic Lagrange delay by the ear's residual delay;
    plus the mixed pre-onset prefix spectra ``Q`` times the Lagrange response ``P``
    of the prefix's residual delay (the propagation delay the common delay leaves).
    With one-hot weights and whole-sample delays this is the measured IR itself.
    The FFT size ``M`` leaves room for the longest residual, so the product is the
    exact overlap-save filter of the shifted partitions.

    Parameters
    ----------
    set_re, set_im : float32 (m, 2, K, F), partition spectra of every measurement
    pre_re, pre_im : float32 (m, 2, Kp, F), partition spectra of the prefixes (Kp <= K, may be 0)
    indices : int64 (C, 3); weights : float64 (C, 3)
    first : int64 (C, 2); taps : float64 (C, 2, 4), Lagrange delays of each ear
    pre_first : int64 (C,); pre_taps : float64 (C, 4), Lagrange delay of the prefix
    phasor_re, phasor_im : float32 (J, F), ``exp(-2 pi i j f / M)`` for ``j < J``
    rows : int64 (C,), the source row each result goes to
    buffers : int64 (C,), the filter buffer it goes to
    out_re, out_im : float32 (S, 2, 2, K, F), [source, buffer, ear, partition, bin], written in place
    """
    parts, bins = set_re.shape[2], set_re.shape[3]
    pre_parts = pre_re.shape[2]
    d_re = np.empty(bins, np.float32)
    d_im = np.empty(bins, np.float32)
    p_re = np.empty(bins, np.float32)
    p_im = np.empty(bins, np.float32)
    for c in range(rows.shape[0]):
        s = rows[c]
        i0, i1, i2 = indices[c, 0], indices[c, 1], indices[c, 2]
        w0 = np.float32(weights[c, 0])
        w1 = np.float32(weights[c, 1])
        w2 = np.float32(weights[c, 2])
        if pre_parts:
            _delay_response(pre_first[c], pre_taps[c], phasor_re, phasor_im, p_re, p_im)
        for ear in range(2):
            _delay_response(first[c, ear], taps[c, ear], phasor_re, phasor_im, d_re, d_im)
            for k in range(parts):
                a0r, a1r, a2r = set_re[i0, ear, k], set_re[i1, ear, k], set_re[i2, ear, k]
                a0i, a1i, a2i = set_im[i0, ear, k], set_im[i1, ear, k], set_im[i2, ear, k]
                hr = out_re[s, buffers[c], ear, k]
                hi = out_im[s, buffers[c], ear, k]
                for f in range(bins):
                    ar = w0 * a0r[f] + w1 * a1r[f] + w2 * a2r[f]
                    ai = w0 * a0i[f] + w1 * a1i[f] + w2 * a2i[f]
                    hr[f] = ar * d_re[f] - ai * d_im[f]
                    hi[f] = ar * d_im[f] + ai * d_re[f]
            for k in range(pre_parts):
                q0r, q1r, q2r = pre_re[i0, ear, k], pre_re[i1, ear, k], pre_re[i2, ear, k]
                q0i, q1i, q2i = pre_im[i0, ear, k], pre_im[i1, ear, k], pre_im[i2, ear, k]
                hr = out_re[s, buffers[c], ear, k]
                hi = out_im[s, buffers[c], ear, k]
                for f in range(bins):
                    qr = w0 * q0r[f] + w1 * q1r[f] + w2 * q2r[f]
                    qi = w0 * q0i[f] + w1 * q1i[f] + w2 * q2i[f]
                    hr[f] += qr * p_re[f] - qi * p_im[f]
                    hi[f] += qr * p_im[f] + qi * p_re[f]


@njit(cache=True, inline="always")
def _delay_response(j: int, taps: np.ndarray, phasor_re: np.ndarray, phasor_im: np.ndarray, d_re: np.ndarray, d_im: np.ndarray) -> None:
    """``D[f] = sum_k taps_k exp(-2 pi i (j + k) f / M)``: a cubic Lagrange delay's response."""
    t0, t1 = np.float32(taps[0]), np.float32(taps[1])
    t2, t3 = np.float32(taps[2]), np.float32(taps[3])
    p0r, p1r, p2r, p3r = phasor_re[j], phasor_re[j + 1], phasor_re[j + 2], phasor_re[j + 3]
    p0i, p1i, p2i, p3i = phasor_im[j], phasor_im[j + 1], phasor_im[j + 2], phasor_im[j + 3]
    for f in range(d_re.shape[0]):
        d_re[f] = t0 * p0r[f] + t1 * p1r[f] + t2 * p2r[f] + t3 * p3r[f]
        d_im[f] = t0 * p0i[f] + t1 * p1i[f] + t2 * p2i[f] + t3 * p3i[f]


@njit(cache=True)
def nearest_points(points: np.ndarray, queries: np.ndarray, out: np.ndarray) -> None:
    """Index of the row of ``points`` (m, 3) with the largest dot product with each query (q, 3)."""
    for q in range(queries.shape[0]):
        x, y, z = queries[q, 0], queries[q, 1], queries[q, 2]
        best = -np.inf
        index = 0
        for i in range(points.shape[0]):
            dot = points[i, 0] * x + points[i, 1] * y + points[i, 2] * z
            if dot > best:
                best = dot
                index = i
        out[q] = index


@njit(cache=True, inline="always")
def _gains(inverse: np.ndarray, t: int, x: float, y: float, z: float) -> tuple[float, float, float]:
    """VBAP gains ``g = p^T V^-1`` of triangle ``t`` (Pulkki 1997, eq. 7)."""
    m = inverse[t]
    return (x * m[0, 0] + y * m[1, 0] + z * m[2, 0], x * m[0, 1] + y * m[1, 1] + z * m[2, 1],
            x * m[0, 2] + y * m[1, 2] + z * m[2, 2])


@njit(cache=True)
def locate_triangles(queries: np.ndarray, inverse: np.ndarray, neighbors: np.ndarray, simplices: np.ndarray, start: np.ndarray, eps: float,
                     snap: float, indices: np.ndarray, weights: np.ndarray) -> int:
    """Containing triangle, vertices and barycentric weights of each query on a convex-hull triangulation.

    Visibility walk (Devillers, Pion & Teillaud 2002, §2): from ``start[q]``, step
    across the edge opposite the vertex with the most negative gain until no gain
    is below ``-eps``; after ``_MAX_WALK`` steps every triangle is tested and the
    one whose smallest gain is largest is taken (what a brute-force search returns).
    Moving sources pass the previous block's triangle, so the walk is usually 0-1 steps.
    The VBAP gains are clipped at 0 and normalised to sum 1 (Pulkki 1997, eq. 7);
    a weight within ``snap`` of 1 becomes exactly one-hot.

    Parameters
    ----------
    queries : float64 (q, 3), unit vectors
    inverse : float64 (T, 3, 3), per-triangle inverse vertex matrices
    neighbors : int64 (T, 3), triangle across the edge opposite each vertex
    simplices : int64 (T, 3), vertex indices of each triangle
    start : int64 (q,), starting triangles; overwritten with the containing ones
    eps, snap : float
    indices : int64 (q, 3); weights : float64 (q, 3), overwritten

    Returns
    -------
    int
        The first query outside every triangle (gains summing to ~0), or -1.
    """
    outside = -1
    for q in range(queries.shape[0]):
        x, y, z = queries[q, 0], queries[q, 1], queries[q, 2]
        t = start[q]
        found = False
        for _ in range(_MAX_WALK):
            g0, g1, g2 = _gains(inverse, t, x, y, z)
            if g0 >= -eps and g1 >= -eps and g2 >= -eps:
                found = True
                break
            if g0 <= g1 and g0 <= g2:
                t = neighbors[t, 0]
            elif g1 <= g2:
                t = neighbors[t, 1]
            else:
                t = neighbors[t, 2]
        if not found:
            best = -np.inf
            for u in range(inverse.shape[0]):
                g0, g1, g2 = _gains(inverse, u, x, y, z)
                worst = min(g0, g1, g2)
                if worst > best:
                    best = worst
                    t = u
            g0, g1, g2 = _gains(inverse, t, x, y, z)
        start[q] = t
        g0, g1, g2 = max(g0, 0.0), max(g1, 0.0), max(g2, 0.0)
        total = g0 + g1 + g2
        if not total > eps:
            if outside < 0:
                outside = q
            total = 1.0
        g0, g1, g2 = g0 / total, g1 / total, g2 / total
        if g0 >= 1.0 - snap:
            g0, g1, g2 = 1.0, 0.0, 0.0
        elif g1 >= 1.0 - snap:
            g0, g1, g2 = 0.0, 1.0, 0.0
        elif g2 >= 1.0 - snap:
            g0, g1, g2 = 0.0, 0.0, 1.0
        for v in range(3):
            indices[q, v] = simplices[t, v]
        weights[q, 0] = g0
        weights[q, 1] = g1
        weights[q, 2] = g2
    return outside


@njit(cache=True)
def head_directions(position: np.ndarray, rows: np.ndarray, yaw_rad: float, pitch_rad: float, out: np.ndarray) -> None:
    """Head-relative unit vectors of sources (see :func:`audiokit.spatial.rotate_to_head`).

    ``v`` (x front, y left, z up) from azimuth and elevation, then the inverse
    yaw about z and the inverse pitch about the turned interaural axis.

    Parameters
    ----------
    position : float64 (S, 4), azimuth_deg, elevation_deg, distance_m, gain per row
    rows : int64 (C,)
    yaw_rad, pitch_rad : float
    out : float64 (C, 3), overwritten
    """
    cz, sz = np.cos(yaw_rad), np.sin(yaw_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    for c in range(rows.shape[0]):
        az = np.radians(position[rows[c], 0])
        el = np.radians(position[rows[c], 1])
        vx, vy, vz = np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)
        x = cz * vx + sz * vy
        out[c, 1] = -sz * vx + cz * vy
        out[c, 0] = cp * x + sp * vz
        out[c, 2] = -sp * x + cp * vz


@njit(cache=True)
def plan_delays(position: np.ndarray, rows: np.ndarray, indices: np.ndarray, weights: np.ndarray, set_delays: np.ndarray, reference_m: float,
                near_m: float, samples_per_m: float, immediate: bool, max_first: int, ear_delays: np.ndarray,
                common: np.ndarray, first: np.ndarray, taps: np.ndarray, pre_first: np.ndarray, pre_taps: np.ndarray, gain: np.ndarray) -> None:
    """Per-ear delays, the common delay, the residual Lagrange delays and the gain of sources.

    ``d_e = sum_i w_i delay_i,e + p`` with ``p = max(r - r_ref, 0) * samples_per_m``
    the propagation delay. The common delay carries only propagation, so the
    measured IR's pre-onset samples (the prefix, at time 0 of the IR) stay causal:
    ``c = floor(p) - 1`` for a new source (whole samples, so a static source at a
    measured direction is exactly its measured IR) and ``p - 1`` while it moves,
    at least 0. Each ear's residual ``d_e - c`` and the prefix's ``p - c`` get cubic
    Lagrange taps (nodes placed as in :func:`_lagrange_taps`, the first clipped to
    ``max_first``); gain ``g r_ref / max(r, r_near)``.

    Parameters
    ----------
    position : float64 (S, 4); rows : int64 (C,)
    indices : int64 (C, 3); weights : float64 (C, 3)
    set_delays : float64 (m, 2), samples
    reference_m, near_m, samples_per_m : float (``samples_per_m`` 0 without propagation delay)
    immediate : bool; max_first : int
    ear_delays : float64 (S, 2); common : float64 (S,); gain : float64 (S,), rows written
    first : int64 (C, 2); taps : float64 (C, 2, 4); pre_first : int64 (C,);
    pre_taps : float64 (C, 4), overwritten
    """
    for c in range(rows.shape[0]):
        s = rows[c]
        distance = position[s, 2]
        extra = max(distance - reference_m, 0.0) * samples_per_m
        for ear in range(2):
            ear_delays[s, ear] = (weights[c, 0] * set_delays[indices[c, 0], ear]
                                  + weights[c, 1] * set_delays[indices[c, 1], ear]
                                  + weights[c, 2] * set_delays[indices[c, 2], ear] + extra)
        shared = max(np.floor(extra) - 1.0 if immediate else extra - 1.0, 0.0)
        common[s] = shared
        for ear in range(2):
            j, w0, w1, w2, w3 = _residual_taps(ear_delays[s, ear] - shared, max_first)
            first[c, ear] = j
            taps[c, ear, 0] = w0
            taps[c, ear, 1] = w1
            taps[c, ear, 2] = w2
            taps[c, ear, 3] = w3
        j, w0, w1, w2, w3 = _residual_taps(extra - shared, max_first)
        pre_first[c] = j
        pre_taps[c, 0] = w0
        pre_taps[c, 1] = w1
        pre_taps[c, 2] = w2
        pre_taps[c, 3] = w3
        gain[s] = position[s, 3] * reference_m / max(distance, near_m)


@njit(cache=True, inline="always")
def _residual_taps(residual: float, max_first: int) -> tuple[int, float, float, float, float]:
    """First node and cubic Lagrange taps of a residual delay (first node clipped to ``max_first``)."""
    whole = np.int64(np.floor(residual))
    j = min(whole - 1 if whole >= 1 else np.int64(0), max_first)
    w0, w1, w2, w3 = _lagrange_taps_at(residual, j)
    return j, w0, w1, w2, w3


@njit(cache=True, inline="always")
def _lagrange_taps_at(delay: float, first: int) -> tuple[float, float, float, float]:
    """Cubic Lagrange taps for nodes ``first .. first + 3`` (Laakso et al. 1996, eq. 42)."""
    u = delay - first
    return (-(u - 1.0) * (u - 2.0) * (u - 3.0) / 6.0, u * (u - 2.0) * (u - 3.0) / 2.0,
            -u * (u - 1.0) * (u - 3.0) / 2.0, u * (u - 1.0) * (u - 2.0) / 6.0)
