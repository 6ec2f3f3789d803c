"""BinauralRenderer: static accuracy vs float64 direct convolution, moving sources, distance, rotation."""

from __future__ import annotations

import numpy as np
import pytest
from _signals import noise, sine
from _spatial_helpers import convolve_measured, kemar, kemar_file, relative_error_db, spherical

from audiokit.errors import ParameterError
from audiokit.spatial import BinauralRenderer, RendererOptions, fractional_delay, render_bed, render_static

#: float32 rendering vs a float64 reference convolution, relative error energy
STATIC_TOLERANCE_DB = -100.0
#: measured KEMAR directions (rows of SourcePosition): 0°/-40° (lowest ring), 264°/-30°,
#: 200°/0°, 144°/30°, 90°/80°, the pole
MEASURED_ROWS = (0, 100, 300, 500, 700, 709)


def _split_reference(x: np.ndarray, hrtf, az: float, el: float) -> np.ndarray:
    """Float64 convolution with the interpolated split filter: the barycentric mix of
    aligned IRs delayed by the mixed per-ear delays, plus the mixed prefixes."""
    indices, weights = hrtf.weights(az, el)
    aligned = np.einsum("k,ket->et", weights, hrtf.aligned[indices].astype(np.float64))
    delays = weights @ hrtf.delays_samples[indices]
    prefix = np.einsum("k,ket->et", weights, hrtf.prefix[indices].astype(np.float64))
    length = hrtf.aligned_taps + int(np.ceil(delays.max())) + 4
    ir = np.stack([fractional_delay(aligned[e], delays[e], length) for e in range(2)])
    ir[:, :prefix.shape[1]] += prefix
    return convolve_measured(x, ir)


@pytest.mark.parametrize("block_size", [64, 100, 512])
def test_measured_direction_equals_convolution_with_the_sofa_ir(block_size):
    """A static source at a measured direction is the direct convolution with the
    SOFA file's own IR (read with h5py, not through audiokit), tail included."""
    irs, positions, rate = kemar_file()
    hrtf = kemar()
    x = noise(rate, duration_s=0.23456, seed=2)[0]
    for row in MEASURED_ROWS:
        az, el = positions[row, :2]
        out = render_static(x, rate, hrtf, azimuth_deg=az, elevation_deg=el, block_size=block_size)
        ref = convolve_measured(x, irs[row])
        assert out.shape == ref.shape == (2, len(x) + irs.shape[2] - 1)
        for ear in range(2):
            error = relative_error_db(out[ear], ref[ear])
            assert error <= STATIC_TOLERANCE_DB, (row, ear, error)


def test_sources_at_measured_directions_sum_to_their_convolutions():
    """Four sources, block by block, one of them farther by a whole number of samples of propagation."""
    irs, positions, rate = kemar_file()
    rows, block, frames = (0, 300, 500, 709), 256, 256 * 20
    renderer = BinauralRenderer(kemar(), rate, block_size=block)
    extra = 100                                    # samples of propagation beyond the 1 m reference
    far = 1.0 + extra * renderer.options.speed_of_sound_m_s / rate
    signals = np.concatenate([noise(rate, duration_s=frames / rate + 0.01, seed=20 + k)[:, :frames]
                              for k in range(4)])
    for k, row in enumerate(rows):
        renderer.add_source(azimuth_deg=positions[row, 0], elevation_deg=positions[row, 1],
                            distance_m=far if k == 3 else 1.0)
    out = np.concatenate([renderer.process(signals[:, i:i + block]) for i in range(0, frames, block)]
                         + [renderer.flush()], axis=1)
    ref = np.zeros((2, frames + irs.shape[2] - 1 + extra))
    for k, row in enumerate(rows):
        shift, scale = (extra, 1.0 / far) if k == 3 else (0, 1.0)
        ref[:, shift:shift + frames + irs.shape[2] - 1] += scale * convolve_measured(signals[k], irs[row])
    assert renderer.tail_frames == irs.shape[2] - 1 + extra
    assert np.abs(out[:, ref.shape[1]:]).max(initial=0.0) < 1e-7
    assert relative_error_db(out[:, :ref.shape[1]], ref) <= STATIC_TOLERANCE_DB


@pytest.mark.parametrize("make", [kemar, lambda: spherical(48000)], ids=["kemar", "spherical"])
@pytest.mark.parametrize("block_size", [64, 512])
def test_interpolated_direction_renders_the_split_filter(make, block_size):
    """Between measurements the renderer convolves with the ITD-split interpolation
    (its distance from the true HRIR is measured by the leave-one-out metrics)."""
    hrtf = make()
    x = noise(hrtf.sample_rate, duration_s=0.23456, seed=2)[0]
    out = render_static(x, hrtf.sample_rate, hrtf, azimuth_deg=37.3, elevation_deg=12.5, block_size=block_size)
    ref = _split_reference(x, hrtf, 37.3, 12.5)
    n = out.shape[1]
    assert n <= ref.shape[1] and np.abs(ref[:, n:]).max(initial=0.0) == 0.0
    assert relative_error_db(out, ref[:, :n]) <= STATIC_TOLERANCE_DB


def test_sources_add_linearly_and_rows_follow_insertion_order():
    hrtf = spherical(48000)
    a, b = noise(48000, duration_s=0.1, seed=1)[0], noise(48000, duration_s=0.1, seed=2)[0]
    renderer = BinauralRenderer(hrtf, 48000, block_size=128)
    renderer.add_source(azimuth_deg=10.0, elevation_deg=0.0)
    renderer.add_source(azimuth_deg=250.0, elevation_deg=30.0)
    pad = lambda x: np.pad(x, (0, 128 * 38 - len(x)))  # noqa: E731
    both = np.stack([pad(a), pad(b)])
    out = np.concatenate([renderer.process(both[:, i:i + 128]) for i in range(0, both.shape[1], 128)], axis=1)
    single = [render_static(x, 48000, hrtf, azimuth_deg=az, elevation_deg=el, block_size=128)
              for x, az, el in ((a, 10.0, 0.0), (b, 250.0, 30.0))]
    n = out.shape[1]
    assert relative_error_db(out, single[0][:, :n] + single[1][:, :n]) < -100


def test_distance_gain_and_propagation_delay():
    hrtf = spherical(48000)
    x = noise(48000, duration_s=0.1, seed=4)[0]
    near = render_static(x, 48000, hrtf, azimuth_deg=0.0, elevation_deg=0.0, distance_m=1.0, block_size=256)
    distance = 1.0 + 140 * 343.0 / 48000     # 140 samples of propagation beyond the 1 m reference
    far = render_static(x, 48000, hrtf, azimuth_deg=0.0, elevation_deg=0.0, distance_m=distance, block_size=256)
    expected = np.zeros_like(far)
    expected[:, 140:] = near[:, :far.shape[1] - 140] / distance
    assert relative_error_db(far, expected) < -100
    clamped = render_static(x, 48000, hrtf, azimuth_deg=0.0, elevation_deg=0.0, distance_m=0.01, block_size=256)
    np.testing.assert_allclose(clamped, 4 * near, rtol=1e-5, atol=1e-6)   # 1 m / 0.25 m near clamp


def test_head_rotation_equals_counter_rotated_source():
    hrtf = spherical(48000)
    x = noise(48000, duration_s=0.05, seed=5)[0]
    turned = BinauralRenderer(hrtf, 48000, block_size=256)
    turned.set_listener(yaw_deg=40.0)
    turned.add_source(azimuth_deg=70.0, elevation_deg=0.0)
    plain = render_static(x, 48000, hrtf, azimuth_deg=30.0, elevation_deg=0.0, block_size=256)
    blocks = np.pad(x, (0, 256 * 10 - len(x)))[np.newaxis]
    out = np.concatenate([turned.process(blocks[:, i:i + 256]) for i in range(0, 2560, 256)], axis=1)
    assert relative_error_db(out[:, :2400], plain[:, :2400]) < -100


def _moving_render(hrtf, x, block, trajectory):
    renderer = BinauralRenderer(hrtf, hrtf.sample_rate, block_size=block)
    source = renderer.add_source(azimuth_deg=trajectory(block - 1) % 360, elevation_deg=0.0)
    pieces = []
    for start in range(0, len(x), block):
        renderer.move_source(source, azimuth_deg=trajectory(start + block - 1) % 360, elevation_deg=0.0)
        pieces.append(renderer.process(x[np.newaxis, start:start + block]))
    return np.concatenate(pieces, axis=1)


def _moving_reference(hrtf, x, trajectory):
    """Float64: the interpolated split HRIR (delayed aligned IR plus prefix) at every sample."""
    n = np.arange(len(x))
    azimuth = trajectory(n) % 360
    indices, weights = hrtf.weights_many(azimuth, np.zeros(len(x)))
    delays = np.einsum("qk,qke->qe", weights, hrtf.delays_samples[indices])
    from audiokit.spatial import lagrange_weights
    out = np.zeros((2, len(x)))
    for ear in range(2):
        delayed = np.zeros(len(x))
        for t in range(len(x)):
            first, w = lagrange_weights(delays[t, ear])
            for k in range(4):
                if w[k] and t - first - k >= 0:
                    delayed[t] += w[k] * x[t - first - k]
        for i in np.unique(indices):
            response = np.convolve(delayed, hrtf.aligned[i, ear].astype(float))[:len(x)]
            mix = np.where(indices == i, weights, 0.0).sum(axis=1)
            out[ear] += mix * response
            out[ear] += mix * np.convolve(x, hrtf.prefix[i, ear].astype(float))[:len(x)]
    return out


def test_moving_source_matches_per_sample_reference():
    hrtf = kemar()
    x = noise(44100, duration_s=0.15, seed=6)[0][:128 * 51]
    orbit = lambda t: 20.0 + 90.0 * np.asarray(t) / 44100  # noqa: E731  (90°/s)
    out = _moving_render(hrtf, x, 128, orbit)
    ref = _moving_reference(hrtf, x.astype(float), orbit)
    error = relative_error_db(out[:, 1000:], ref[:, 1000:])
    print(f"moving source (90°/s, B=128) vs per-sample reference: {error:.1f} dB")
    assert error < -30


def test_moving_source_has_no_clicks_at_block_boundaries():
    from scipy.signal import butter, sosfiltfilt

    hrtf = kemar()
    block = 256
    x = sine(500.0, 44100, duration_s=1.0)[0][:256 * 172]
    out = _moving_render(hrtf, x, block, lambda t: 360.0 * np.asarray(t) / 44100)   # 360°/s
    high = sosfiltfilt(butter(8, 6000, "highpass", fs=44100, output="sos"), out.astype(float), axis=1)
    energy = (high ** 2).sum(axis=0)[2048:-2048]
    phase = (np.arange(len(energy)) + 2048) % block
    boundary = energy[(phase < 8) | (phase >= block - 8)].mean()
    middle = energy[(phase >= block // 2 - 8) & (phase < block // 2 + 8)].mean()
    # "No higher than mid-block", above a floor 80 dB under the output power (the
    # piecewise-linear delay glide leaves ~-105 dB of modulation at boundaries).
    floor = 1e-8 * (out.astype(float) ** 2).sum(axis=0).mean()
    print(f"HF energy at boundaries {boundary:.2e}, mid-block {middle:.2e}, floor {floor:.2e}")
    assert boundary <= 1.5 * middle + floor
    # a hard filter switch (no crossfade) is caught by the same measure
    hrtf_b = hrtf.ir(0.0, 0.0).astype(float)
    hrtf_a = hrtf.ir(90.0, 0.0).astype(float)
    switched = np.concatenate([np.convolve(x, hrtf_a[0])[:20480], np.convolve(x, hrtf_b[0])[20480:len(x)]])
    spike = sosfiltfilt(butter(8, 6000, "highpass", fs=44100, output="sos"), switched) ** 2
    assert spike[20480 - 8:20480 + 8].mean() > 100 * (1.5 * middle + floor)


def test_remove_source_and_errors():
    renderer = BinauralRenderer(spherical(48000), 48000, block_size=64)
    a = renderer.add_source(azimuth_deg=0.0, elevation_deg=0.0)
    b = renderer.add_source(azimuth_deg=90.0, elevation_deg=0.0)
    renderer.remove_source(a)
    assert renderer.source_ids == [b]
    assert renderer.process(np.zeros((1, 64), np.float32)).shape == (2, 64)
    with pytest.raises(ParameterError, match="blocks has shape"):
        renderer.process(np.zeros((2, 64), np.float32))
    with pytest.raises(ParameterError, match="dtype float64"):
        renderer.process(np.zeros((1, 64)))
    with pytest.raises(ParameterError, match="not a live source"):
        renderer.move_source(a, azimuth_deg=0.0, elevation_deg=0.0)
    with pytest.raises(ParameterError, match="distance_m is 50"):
        renderer.add_source(azimuth_deg=0.0, elevation_deg=0.0, distance_m=50.0)
    with pytest.raises(ParameterError, match="block_size"):
        BinauralRenderer(spherical(48000), 48000, block_size=0)
    with pytest.raises(ParameterError, match="method"):
        RendererOptions(method="cubic")


def test_resamples_the_hrtf_to_the_render_rate():
    renderer = BinauralRenderer(kemar(), 48000, block_size=256)
    assert renderer.hrtf.sample_rate == 48000
    assert abs(renderer.hrtf.num_taps - round(512 * 48000 / 44100)) <= 1
    assert abs(renderer.hrtf.itd_s(90.0, 0.0) - kemar().itd_s(90.0, 0.0)) < 25e-6


def test_five_one_bed_renders_and_centre_is_symmetric():
    hrtf = spherical(48000)
    bed = np.zeros((6, 4800), np.float32)
    bed[2] = noise(48000, duration_s=0.1, seed=7)[0]   # centre only
    out = render_bed(bed, 48000, hrtf, layout="5.1")
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    with pytest.raises(ParameterError, match="layout 7.1 needs 8"):
        render_bed(bed, 48000, hrtf, layout="7.1")


def test_move_sources_equals_move_source_per_source():
    hrtf = spherical(16000)
    x = noise(16000, duration_s=0.1, seed=8)[:, :128 * 12].repeat(3, axis=0)
    outputs = []
    for batch in (False, True):
        renderer = BinauralRenderer(hrtf, 16000, block_size=128)
        ids = [renderer.add_source(azimuth_deg=a, elevation_deg=10.0) for a in (0.0, 120.0, 240.0)]
        pieces = []
        for k in range(12):
            azimuth = np.array([0.0, 120.0, 240.0]) + 7.0 * k
            if batch:
                renderer.move_sources(ids, azimuth_deg=azimuth, elevation_deg=10.0, distance_m=1.0 + 0.05 * k)
            else:
                for source, a in zip(ids, azimuth):
                    renderer.move_source(source, azimuth_deg=a, elevation_deg=10.0, distance_m=1.0 + 0.05 * k)
            pieces.append(renderer.process(x[:, 128 * k:128 * (k + 1)]))
        outputs.append(np.concatenate(pieces, axis=1))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    with pytest.raises(ParameterError, match=r"elevation_deg\[1\] is 95"):
        renderer.move_sources(ids, azimuth_deg=0.0, elevation_deg=[0.0, 95.0, 0.0])
    with pytest.raises(ParameterError, match="not a live source"):
        renderer.move_sources([ids[0], 99], azimuth_deg=0.0, elevation_deg=0.0)
    with pytest.raises(ParameterError, match="distance_m has shape"):
        renderer.move_sources(ids, azimuth_deg=0.0, elevation_deg=0.0, distance_m=[1.0, 2.0])


def test_unchanged_position_keeps_the_static_render_exact():
    """Moving a source to where it is changes nothing (the exact static path stays)."""
    hrtf = kemar()
    x = noise(44100, duration_s=0.05, seed=9)[0][:256 * 8]
    reference = render_static(x, 44100, hrtf, azimuth_deg=37.3, elevation_deg=12.5, block_size=256)
    renderer = BinauralRenderer(hrtf, 44100, block_size=256)
    source = renderer.add_source(azimuth_deg=37.3, elevation_deg=12.5)
    pieces = []
    for k in range(8):
        renderer.move_source(source, azimuth_deg=37.3, elevation_deg=12.5)
        pieces.append(renderer.process(x[np.newaxis, 256 * k:256 * (k + 1)]))
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), reference[:, :256 * 8])


def test_nearest_method_renders_the_nearest_measurement():
    hrtf = kemar()
    x = noise(44100, duration_s=0.05, seed=10)[0]
    options = RendererOptions(method="nearest")
    near = render_static(x, 44100, hrtf, azimuth_deg=31.0, elevation_deg=1.0, block_size=256, options=options)
    exact = render_static(x, 44100, hrtf, azimuth_deg=30.0, elevation_deg=0.0, block_size=256)
    np.testing.assert_allclose(near, exact, atol=1e-6)


def test_tail_false_keeps_the_input_length():
    hrtf = spherical(48000)
    x = noise(48000, duration_s=0.0345678, seed=11)[0]
    full = render_static(x, 48000, hrtf, azimuth_deg=120.0, elevation_deg=-20.0, block_size=128)
    cut = render_static(x, 48000, hrtf, azimuth_deg=120.0, elevation_deg=-20.0, block_size=128, tail=False)
    assert cut.shape == (2, len(x)) and full.shape[1] > len(x)
    np.testing.assert_array_equal(cut, full[:, :len(x)])
    bed = render_bed(np.stack([x, x]), 48000, hrtf, layout="stereo", tail=False)
    assert bed.shape == (2, len(x))
