"""Directions on the sphere: conversions, triangulation and interpolation weights.

Convention (AES69 SOFA's): azimuth counter-clockwise seen from above, 0° straight
ahead, 90° = left; elevation up, -90°..90°. Cartesian axes: x front, y left, z up.

Barycentric interpolation follows the VBAP construction (Pulkki 1997, eq. 7):
the measurement directions are triangulated by their convex hull (scipy's
Qhull), and a query direction ``p`` inside the spherical triangle (v1, v2, v3)
gets the weights ``g = p^T [v1 v2 v3]^-1``, normalised to sum 1 (the gnomonic
projection of ``p`` onto the triangle's plane).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = [
    "METHODS",
    "spherical_to_cartesian",
    "cartesian_to_spherical",
    "rotate_to_head",
    "Triangulation",
]

#: Interpolation methods accepted by :meth:`audiokit.spatial.HRTF.ir`.
METHODS = ("barycentric", "nearest")

#: A barycentric weight this close to 1 is snapped to exactly 1 (the query is
#: a measured direction to within ~1e-9 rad), so measured IRs come back bit-exact.
_SNAP = 1e-9
#: Slack on "inside the triangle" for queries on an edge or vertex.
_INSIDE_EPS = 1e-10


def spherical_to_cartesian(azimuth_deg, elevation_deg) -> np.ndarray:
    """Unit vectors for SOFA spherical directions.

    Parameters
    ----------
    azimuth_deg, elevation_deg : float or np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(n, 3) or (3,), dtype=float64]
        ``(x, y, z)``: x front, y left, z up.
    """
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def cartesian_to_spherical(xyz) -> np.ndarray:
    """SOFA spherical coordinates of cartesian points.

    Parameters
    ----------
    xyz : np.ndarray [shape=(n, 3)]

    Returns
    -------
    np.ndarray [shape=(n, 3), dtype=float64]
        ``(azimuth_deg in [0, 360), elevation_deg, radius)``.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    radius = np.linalg.norm(xyz, axis=-1)
    azimuth = np.degrees(np.arctan2(xyz[..., 1], xyz[..., 0])) % 360.0
    safe = np.where(radius > 0, radius, 1.0)
    elevation = np.degrees(np.arcsin(np.clip(xyz[..., 2] / safe, -1.0, 1.0)))
    return np.stack([azimuth, elevation, radius], axis=-1)


def rotate_to_head(azimuth_deg, elevation_deg, *, yaw_deg: float, pitch_deg: float):
    """Head-relative direction of a world direction for a listener's orientation.

    The listener turns ``yaw_deg`` counter-clockwise (to the left) about z, then
    tilts ``pitch_deg`` up (nose up) about the turned interaural axis; the
    head-relative direction is the world direction under the inverse rotation.

    Parameters
    ----------
    azimuth_deg, elevation_deg : float or np.ndarray [shape=(q,)]

    Returns
    -------
    (azimuth_deg, elevation_deg) : floats or np.ndarray [shape=(q,)]
    """
    v = spherical_to_cartesian(azimuth_deg, elevation_deg)
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    cz, sz = np.cos(yaw), np.sin(yaw)
    x = cz * v[..., 0] + sz * v[..., 1]          # inverse yaw: rotate by -yaw about z
    y = -sz * v[..., 0] + cz * v[..., 1]
    cp, sp = np.cos(pitch), np.sin(pitch)
    x, z = cp * x + sp * v[..., 2], -sp * x + cp * v[..., 2]   # inverse pitch about y
    spherical = cartesian_to_spherical(np.stack([x, y, z], axis=-1))
    if np.ndim(azimuth_deg) == 0:
        return float(spherical[0]), float(spherical[1])
    return spherical[:, 0], spherical[:, 1]


class Triangulation:
    """Convex-hull triangulation of measurement directions with a weight lookup.

    Parameters
    ----------
    directions_deg : np.ndarray [shape=(m, 2)]
        Azimuth and elevation of each measurement, degrees. Needs at least four
        directions that are not all on one plane through the centre.

    Raises
    ------
    ParameterError
        If the directions cannot be triangulated.
    """

    def __init__(self, directions_deg: np.ndarray) -> None:
        from scipy.spatial import ConvexHull, QhullError

        points = spherical_to_cartesian(directions_deg[:, 0], directions_deg[:, 1])
        self.points = points
        if len(points) < 4:
            raise ParameterError(
                f"barycentric interpolation needs at least 4 directions, the set has "
                f"{len(points)}; use method='nearest'"
            )
        try:
            hull = ConvexHull(points)
        except QhullError as error:
            raise ParameterError(
                "the measurement directions cannot be triangulated (all on one great "
                f"circle?); use method='nearest' ({str(error).splitlines()[0]})"
            ) from None
        self.simplices = hull.simplices.astype(np.int64)
        matrices = points[self.simplices]                    # (t, 3 vertices, 3 xyz)
        # g = p^T V^-1 with V's rows the vertices (Pulkki 1997, eq. 7)
        self._inverse = np.linalg.pinv(matrices)              # (t, 3 xyz, 3 vertices)
        # triangles around each vertex, padded with -1: (m, max degree)
        owners = np.repeat(np.arange(len(self.simplices)), 3)
        vertices = self.simplices.ravel()
        order = np.argsort(vertices, kind="stable")
        counts = np.bincount(vertices, minlength=len(points))
        around = np.full((len(points), max(1, counts.max())), -1, np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(order)) - np.repeat(starts, counts)
        around[vertices[order], slot] = owners[order]
        self._around = around

    def weights(self, azimuth_deg, elevation_deg) -> tuple[np.ndarray, np.ndarray]:
        """Barycentric vertices and weights for one or many directions.

        The containing triangle is searched among those around the nearest
        measurement first, then among all triangles for the queries left over.

        Parameters
        ----------
        azimuth_deg, elevation_deg : float or np.ndarray [shape=(q,)]

        Returns
        -------
        indices : np.ndarray [shape=(3,) or (q, 3), dtype=int64]
        weights : np.ndarray [shape=(3,) or (q, 3), dtype=float64]
            Non-negative, summing to 1; one-hot at a measured direction.
        """
        scalar = np.ndim(azimuth_deg) == 0
        p = np.atleast_2d(spherical_to_cartesian(azimuth_deg, elevation_deg))     # (q, 3)
        nearest = np.argmax(p @ self.points.T, axis=1)
        candidates = self._around[nearest]                                       # (q, degree)
        gains = np.einsum("qj,qtjk->qtk", p, self._inverse[candidates])           # (q, degree, 3)
        worst = gains.min(axis=2)
        worst[candidates < 0] = -np.inf
        pick = np.argmax(worst, axis=1)
        rows = np.arange(len(p))
        triangle = candidates[rows, pick]
        g = gains[rows, pick]
        missed = np.flatnonzero(worst[rows, pick] < -_INSIDE_EPS)
        if len(missed):
            every = np.einsum("qj,tjk->qtk", p[missed], self._inverse)
            best = np.argmax(every.min(axis=2), axis=1)
            triangle[missed] = best
            g[missed] = every[np.arange(len(missed)), best]
        g = np.clip(g, 0.0, None)
        total = g.sum(axis=1)
        if np.any(~(total > _INSIDE_EPS)):
            bad = int(np.argmax(~(total > _INSIDE_EPS)))
            raise ParameterError(
                f"direction ({np.atleast_1d(azimuth_deg)[bad]}, {np.atleast_1d(elevation_deg)[bad]}) "
                "is outside every triangle of the measurement set; use method='nearest'"
            )
        g = g / total[:, np.newaxis]
        top = np.argmax(g, axis=1)
        snap = g[rows, top] >= 1.0 - _SNAP
        g[snap] = 0.0
        g[rows[snap], top[snap]] = 1.0
        indices = self.simplices[triangle]
        if scalar:
            return indices[0], g[0]
        return indices, g

    def nearest(self, azimuth_deg: float, elevation_deg: float) -> int:
        """Index of the measurement with the smallest great-circle distance."""
        return nearest_index(self.points, azimuth_deg, elevation_deg)


def nearest_index(points: np.ndarray, azimuth_deg: float, elevation_deg: float) -> int:
    """Index of the row of ``points`` [shape=(m, 3)] closest to a direction."""
    p = spherical_to_cartesian(azimuth_deg, elevation_deg)
    return int(np.argmax(points @ p))
