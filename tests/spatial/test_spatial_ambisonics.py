"""Ambisonic bus: ACN/SN3D/N3D harmonics, rotation, LS and MagLS binaural decoders, the block renderer."""

from __future__ import annotations

import numpy as np
import pytest
from _signals import noise
from _spatial_helpers import kemar, relative_error_db, spherical

from audiokit.errors import ParameterError
from audiokit.spatial.ambisonics import (
    AmbisonicOptions,
    AmbisonicRenderer,
    binaural_decoder,
    rotation_matrix,
    sh_matrix,
)
from audiokit.spatial.metrics import compare_hrirs


def _directions(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 360, count), np.degrees(np.arcsin(rng.uniform(-1, 1, count)))


def test_first_and_second_order_match_the_ambix_closed_forms():
    az, el = _directions(50, 1)
    a, e = np.radians(az), np.radians(el)
    y = sh_matrix(2, az, el)
    # AmbiX (Nachbar et al. 2011, table 1), SN3D, ACN 0..8
    expected = np.stack([np.ones_like(a), np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e),
                         np.sqrt(3) / 2 * np.sin(2 * a) * np.cos(e) ** 2, np.sqrt(3) / 2 * np.sin(a) * np.sin(2 * e),
                         (3 * np.sin(e) ** 2 - 1) / 2, np.sqrt(3) / 2 * np.cos(a) * np.sin(2 * e),
                         np.sqrt(3) / 2 * np.cos(2 * a) * np.cos(e) ** 2], axis=1)
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_n3d_is_orthonormal_and_sn3d_is_n3d_scaled():
    from audiokit.spatial.ambisonics import _fibonacci_directions

    grid = _fibonacci_directions(20000)
    n3d = sh_matrix(5, grid[:, 0], grid[:, 1], normalization="n3d")
    gram = n3d.T @ n3d / len(grid)                 # (1 / 4 pi) integral of Y_i Y_j over the sphere
    np.testing.assert_allclose(gram, np.eye(36), atol=2e-3)
    degree = np.floor(np.sqrt(np.arange(36)))
    sn3d = sh_matrix(5, grid[:100, 0], grid[:100, 1])
    np.testing.assert_allclose(n3d[:100], sn3d * np.sqrt(2 * degree + 1), atol=1e-12)


@pytest.mark.parametrize("normalization", ["sn3d", "n3d"])
def test_rotation_moves_every_direction(normalization):
    az, el = _directions(40, 2)
    turn = rotation_matrix(5, yaw_deg=30.0, normalization=normalization)
    np.testing.assert_allclose(sh_matrix(5, az, el, normalization=normalization) @ turn.T,
                               sh_matrix(5, az - 30.0, el, normalization=normalization), atol=1e-9)
    # pitch (nose up) lowers a frontal source; roll (left ear up) lowers a source on the left
    front = sh_matrix(5, 0.0, 0.0, normalization=normalization) @ rotation_matrix(
        5, pitch_deg=20.0, normalization=normalization).T
    np.testing.assert_allclose(front, sh_matrix(5, 0.0, -20.0, normalization=normalization), atol=1e-9)
    left = sh_matrix(5, 90.0, 0.0, normalization=normalization) @ rotation_matrix(
        5, roll_deg=25.0, normalization=normalization).T
    np.testing.assert_allclose(left, sh_matrix(5, 90.0, -25.0, normalization=normalization), atol=1e-9)
    combined = rotation_matrix(3, yaw_deg=40.0, pitch_deg=-15.0, roll_deg=10.0, normalization=normalization)
    if normalization == "n3d":                    # orthonormal basis: rotations are orthogonal matrices
        np.testing.assert_allclose(combined @ combined.T, np.eye(16), atol=1e-9)


def _bus_hrirs(hrtf, order: int, decoder: str, rows: np.ndarray) -> np.ndarray:
    renderer = AmbisonicRenderer(hrtf, hrtf.sample_rate, block_size=512,
                                 options=AmbisonicOptions(order=order, decoder=decoder))
    impulse = np.zeros((1, 512), np.float32)
    impulse[0, 0] = 1.0
    out = []
    for row in rows:
        source = renderer.add_source(azimuth_deg=hrtf.directions_deg[row, 0], elevation_deg=hrtf.directions_deg[row, 1])
        out.append(np.concatenate([renderer.process(impulse), renderer.flush()], axis=1)[:, :renderer.tail_frames + 1])
        renderer.remove_source(source)
    return np.stack(out)


@pytest.mark.slow
def test_kemar_decoders_magls_fits_magnitudes_better_and_order_helps():
    """At measured KEMAR directions (every 7th above -40°, 94), against the measured HRIRs."""
    hrtf = kemar()
    rows = np.flatnonzero(hrtf.directions_deg[:, 1] > -40.0)[::7]
    measured = hrtf.measured_irs()[rows]
    errors = {(order, decoder): compare_hrirs(_bus_hrirs(hrtf, order, decoder, rows), measured, 44100).summary()
              for order in (1, 3, 5) for decoder in ("ls", "magls")}
    lsd = {key: value["lsd_db"]["mean"] for key, value in errors.items()}
    ild = {key: value["ild_db"]["mean"] for key, value in errors.items()}
    band = {key: value["lsd_band_db"]["8000"]["mean"] for key, value in errors.items()}
    print({k: (round(lsd[k], 2), round(ild[k], 2), round(errors[k]["itd_us"]["mean"], 1)) for k in errors})
    for order in (1, 3, 5):
        assert lsd[(order, "magls")] < 0.6 * lsd[(order, "ls")]       # the point of MagLS
        assert band[(order, "magls")] < 0.5 * band[(order, "ls")]
        assert ild[(order, "magls")] < ild[(order, "ls")]
    assert lsd[(5, "magls")] < lsd[(3, "magls")] < lsd[(1, "magls")]
    assert errors[(5, "ls")]["itd_us"]["mean"] < errors[(1, "ls")]["itd_us"]["mean"] / 3
    # below the crossover the two decoders are the same least-squares fit
    assert errors[(5, "ls")]["lsd_band_db"]["250"]["mean"] < 0.5


def test_renderer_is_linear_rotates_and_ignores_the_normalization():
    hrtf = spherical(16000)
    x = noise(16000, duration_s=0.2, seed=40)[:, :256 * 12].repeat(2, axis=0)
    x[1] = noise(16000, duration_s=0.2, seed=41)[0, :256 * 12]

    def render(sources, normalization="sn3d", yaw=0.0):
        renderer = AmbisonicRenderer(hrtf, 16000, block_size=256,
                                     options=AmbisonicOptions(order=3, normalization=normalization))
        renderer.set_listener(yaw_deg=yaw)
        for az, el in sources:
            renderer.add_source(azimuth_deg=az, elevation_deg=el)
        rows = x[:len(sources)]
        return np.concatenate([renderer.process(rows[:, i:i + 256]) for i in range(0, rows.shape[1], 256)], axis=1)

    both = render([(20.0, 0.0), (200.0, 30.0)])
    first = render([(20.0, 0.0)])
    renderer = AmbisonicRenderer(hrtf, 16000, block_size=256, options=AmbisonicOptions(order=3))
    renderer.add_source(azimuth_deg=200.0, elevation_deg=30.0)
    second = np.concatenate([renderer.process(x[1:2, i:i + 256]) for i in range(0, x.shape[1], 256)], axis=1)
    assert relative_error_db(both, first + second) < -100
    assert relative_error_db(render([(20.0, 0.0)], "n3d"), first) < -100
    # a head turned 40° left hears a source at 60° where an unturned one hears 20° (after the first block's glide)
    turned = render([(60.0, 0.0)], yaw=40.0)
    assert relative_error_db(turned[:, 1024:], first[:, 1024:]) < -100


def test_moving_source_glides_without_clicks():
    hrtf = spherical(16000)
    renderer = AmbisonicRenderer(hrtf, 16000, block_size=128, options=AmbisonicOptions(order=3))
    source = renderer.add_source(azimuth_deg=0.0, elevation_deg=0.0)
    tone = np.sin(2 * np.pi * 300 * np.arange(128 * 60) / 16000).astype(np.float32)[np.newaxis]
    pieces = []
    for k in range(60):
        renderer.move_sources([source], azimuth_deg=6.0 * (k + 1), elevation_deg=0.0)
        pieces.append(renderer.process(tone[:, 128 * k:128 * (k + 1)]))
    out = np.concatenate(pieces, axis=1)[:, 512:]
    # a 300 Hz tone at 16 kHz changes by at most 2 pi 300 / 16000 of its peak per sample; gains glide within a block
    peak = np.abs(out).max(axis=1, keepdims=True)
    assert (np.abs(np.diff(out, axis=1)) <= 1.5 * 2 * np.pi * 300 / 16000 * peak).all()


def test_errors_name_the_argument():
    with pytest.raises(ParameterError, match="order is 6"):
        sh_matrix(6, 0.0, 0.0)
    with pytest.raises(ParameterError, match="normalization is 'fuma'"):
        sh_matrix(1, 0.0, 0.0, normalization="fuma")
    with pytest.raises(ParameterError, match="decoder is 'allrad'"):
        AmbisonicOptions(decoder="allrad")
    with pytest.raises(ParameterError, match="order is 0"):
        binaural_decoder(spherical(16000), 0)
    renderer = AmbisonicRenderer(spherical(16000), 16000, block_size=64, options=AmbisonicOptions(order=1))
    with pytest.raises(ParameterError, match="blocks has shape"):
        renderer.process(np.zeros((1, 64), np.float32))
    with pytest.raises(ParameterError, match="not a live source"):
        renderer.move_sources([3], azimuth_deg=0.0, elevation_deg=0.0)


def _blocks(renderer, x: np.ndarray, block: int) -> np.ndarray:
    return np.concatenate([renderer.process(x[:, i:i + block]) for i in range(0, x.shape[1], block)], axis=1)


def test_hybrid_with_every_source_direct_is_the_direct_renderer_and_with_none_the_bus():
    from audiokit.spatial import BinauralRenderer, RendererOptions
    from audiokit.spatial.ambisonics import HybridRenderer

    hrtf = spherical(16000)
    x = np.concatenate([noise(16000, duration_s=0.2, seed=50 + k)[:, :128 * 20] for k in range(3)])
    places = [(10.0, 0.0, 1.0), (130.0, 20.0, 2.0), (250.0, -10.0, 0.5)]
    hybrid = HybridRenderer(hrtf, 16000, block_size=128, direct_sources=3, options=AmbisonicOptions(order=2))
    direct = BinauralRenderer(hrtf, 16000, block_size=128, options=RendererOptions(propagation_delay=False))
    bus_only = HybridRenderer(hrtf, 16000, block_size=128, direct_sources=0, options=AmbisonicOptions(order=2))
    bus = AmbisonicRenderer(hrtf, 16000, block_size=128, options=AmbisonicOptions(order=2))
    for renderer in (hybrid, direct, bus_only, bus):
        for az, el, dist in places:
            renderer.add_source(azimuth_deg=az, elevation_deg=el, distance_m=dist)
    np.testing.assert_array_equal(_blocks(bus_only, x, 128), _blocks(bus, x, 128))
    assert relative_error_db(_blocks(hybrid, x, 128), _blocks(direct, x, 128)) < -100
    assert hybrid.direct_ids == [0, 1, 2] and bus_only.direct_ids == []


def test_hybrid_switches_the_loudest_source_with_a_crossfade():
    """K = 1: the output is the direct renderer fed w x plus the bus fed (1 - w) x, with w
    each source's direct weight (raised-cosine over the block where the loudest changes)."""
    from audiokit.spatial import BinauralRenderer, RendererOptions
    from audiokit.spatial.ambisonics import HybridRenderer

    hrtf = spherical(16000)
    block, blocks = 128, 24
    x = np.concatenate([noise(16000, duration_s=0.2, seed=60 + k)[:, :block * blocks] for k in range(2)])
    x[0, block * 10:] *= 0.05                     # source 0 is the louder for 10 blocks, then source 1
    x[1, :block * 10] *= 0.05
    hybrid = HybridRenderer(hrtf, 16000, block_size=block, direct_sources=1, select="loudest",
                            options=AmbisonicOptions(order=2))
    for az in (30.0, 300.0):
        hybrid.add_source(azimuth_deg=az, elevation_deg=0.0)
    chosen = []
    pieces = []
    for k in range(blocks):
        pieces.append(hybrid.process(x[:, block * k:block * (k + 1)]))
        chosen.append(hybrid.direct_ids)
    out = np.concatenate(pieces, axis=1)
    assert chosen[0] == [0] and chosen[9] == [0] and chosen[10] == [1] and chosen[-1] == [1]
    fade = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, block + 1) / block)
    w = np.zeros_like(x)
    w[0, :block * 10] = 1.0
    w[0, block * 10:block * 11] = 1.0 - fade
    w[1, block * 10:block * 11] = fade
    w[1, block * 11:] = 1.0
    direct = BinauralRenderer(hrtf, 16000, block_size=block, options=RendererOptions(propagation_delay=False))
    bus = AmbisonicRenderer(hrtf, 16000, block_size=block, options=AmbisonicOptions(order=2))
    for renderer in (direct, bus):
        for az in (30.0, 300.0):
            renderer.add_source(azimuth_deg=az, elevation_deg=0.0)
    expected = _blocks(direct, (x * w).astype(np.float32), block) + _blocks(bus, (x * (1 - w)).astype(np.float32), block)
    assert relative_error_db(out, expected) < -100
    # the departed source rang out in the direct renderer and then left it
    assert hybrid.direct.num_sources == 1
