"""The analytic spherical-head HRTF: Brown & Duda (1998) head shadow + Woodworth ITD.

C. P. Brown and R. O. Duda, "A structural model for binaural sound synthesis",
IEEE Trans. Speech Audio Process. 6(5), 1998:

- head shadow, eq. (2): ``H(w, theta) = (1 + j alpha(theta) w / (2 w0)) / (1 + j w / (2 w0))``
  with ``w0 = c / a`` and ``alpha(theta) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(theta/theta_min * 180°)``,
  ``alpha_min = 0.1``, ``theta_min = 150°``; ``theta`` is the angle between the
  source direction and the ear's axis. Discretised with the bilinear transform.
- per-ear delay, eq. (3) (Woodworth & Schlosberg 1954):
  ``T(theta) = -(a/c) cos(theta)`` for ``|theta| < 90°`` and ``(a/c)(|theta| - 90°)``
  otherwise; the interaural difference is Woodworth's ``(a/c)(phi + sin phi)``
  for a source at lateral angle ``phi``.

The ears sit at azimuth ±90°, elevation 0 (Brown & Duda use ±100°; ±90° keeps the
model left/right mirror-symmetric and its ITD exactly Woodworth's). The pinna
and torso echoes of the full structural model are not included.
"""

from __future__ import annotations

import numpy as np

from .interpolation import spherical_to_cartesian

__all__ = [
    "SPEED_OF_SOUND_M_S",
    "DEFAULT_HEAD_RADIUS_M",
    "GRID_STEP_DEG",
    "woodworth_delay_s",
    "head_shadow_ir",
    "direction_grid",
    "spherical_head_set",
]

#: Speed of sound used by the model and by distance delays, m/s (20 °C air).
SPEED_OF_SOUND_M_S = 343.0
#: Brown & Duda's average adult head radius, metres.
DEFAULT_HEAD_RADIUS_M = 0.0875
#: Spacing of the embedded direction grid, degrees (about 1650 directions).
GRID_STEP_DEG = 5.0
#: Brown & Duda eq. (2) constants.
ALPHA_MIN = 0.1
THETA_MIN_DEG = 150.0
#: Length of each head-shadow IR at 48 kHz; the one-pole decays below -150 dB.
TAPS_AT_48K = 128


def woodworth_delay_s(incidence_rad: np.ndarray, *, head_radius_m: float,
                      speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S) -> np.ndarray:
    """Per-ear arrival time relative to the head centre, Brown & Duda eq. (3).

    Parameters
    ----------
    incidence_rad : np.ndarray
        Angle between the source direction and the ear's axis, radians in [0, pi].

    Returns
    -------
    np.ndarray
        Seconds; negative when the ear is nearer the source than the centre.
    """
    theta = np.abs(np.asarray(incidence_rad, dtype=np.float64))
    scale = head_radius_m / speed_of_sound_m_s
    return np.where(theta < np.pi / 2, -scale * np.cos(theta), scale * (theta - np.pi / 2))


def head_shadow_ir(incidence_rad: float, sample_rate: int, *, head_radius_m: float,
                   num_taps: int, speed_of_sound_m_s: float = SPEED_OF_SOUND_M_S) -> np.ndarray:
    """Impulse response of Brown & Duda's one-pole/one-zero head shadow, eq. (2).

    Bilinear transform of ``H(s) = (alpha s + 2 w0) / (s + 2 w0)``.

    Returns
    -------
    np.ndarray [shape=(num_taps,), dtype=float64]
    """
    from scipy.signal import lfilter

    theta_deg = np.degrees(incidence_rad)
    alpha = (1 + ALPHA_MIN / 2) + (1 - ALPHA_MIN / 2) * np.cos(np.radians(theta_deg / THETA_MIN_DEG * 180.0))
    beta = 2.0 * speed_of_sound_m_s / head_radius_m
    k = 2.0 * sample_rate
    b = np.array([beta + alpha * k, beta - alpha * k])
    a = np.array([beta + k, beta - k])
    impulse = np.zeros(num_taps)
    impulse[0] = 1.0
    return lfilter(b / a[0], a / a[0], impulse)


def direction_grid(step_deg: float = GRID_STEP_DEG) -> np.ndarray:
    """Roughly uniform directions: rings every ``step_deg`` of elevation.

    Returns
    -------
    np.ndarray [shape=(m, 2)]
        Azimuth and elevation in degrees, the poles once each.
    """
    rows = []
    for elevation in np.arange(-90.0, 90.0 + step_deg / 2, step_deg):
        count = max(1, int(round(360.0 * np.cos(np.radians(elevation)) / step_deg)))
        if abs(abs(elevation) - 90.0) < 1e-9:
            count = 1
        for azimuth in np.arange(count) * (360.0 / count):
            rows.append((azimuth, elevation))
    return np.array(rows)


def spherical_head_set(sample_rate: int, *, head_radius_m: float,
                       step_deg: float = GRID_STEP_DEG) -> dict:
    """The spherical-head model sampled on :func:`direction_grid`.

    Returns
    -------
    dict
        ``directions_deg`` (m, 2); ``aligned`` (m, 2, taps) float32 head-shadow
        IRs (no delay); ``delays_samples`` (m, 2) float64, Woodworth delay plus
        ``a/c`` so that every delay is >= 0.
    """
    directions = direction_grid(step_deg)
    vectors = spherical_to_cartesian(directions[:, 0], directions[:, 1])
    # ear axes: left = +y, right = -y
    incidence = np.stack([np.arccos(np.clip(vectors[:, 1], -1, 1)),
                          np.arccos(np.clip(-vectors[:, 1], -1, 1))], axis=1)
    taps = max(16, int(np.ceil(TAPS_AT_48K * sample_rate / 48000)))
    aligned = np.empty((len(directions), 2, taps), np.float32)
    for m in range(len(directions)):
        for ear in range(2):
            aligned[m, ear] = head_shadow_ir(incidence[m, ear], sample_rate,
                                             head_radius_m=head_radius_m, num_taps=taps)
    delays = (woodworth_delay_s(incidence, head_radius_m=head_radius_m)
              + head_radius_m / SPEED_OF_SOUND_M_S) * sample_rate
    return {"directions_deg": directions, "aligned": aligned, "delays_samples": delays}
