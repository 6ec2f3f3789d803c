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

from typing import overload

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


def spherical_to_cartesian(azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray) -> np.ndarray:
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


def cartesian_to_spherical(xyz: np.ndarray) -> np.ndarray:
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


def rotate_to_head(azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray, *, yaw_deg: float,
                   pitch_deg: float) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
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
        #: triangle across the edge opposite each vertex (Qhull's facet neighbours)
        self.neighbors = hull.neighbors.astype(np.int64)
        matrices = points[self.simplices]                    # (t, 3 vertices, 3 xyz)
        # g = p^T V^-1 with V's rows the vertices (Pulkki 1997, eq. 7)
        self._inverse = np.ascontiguousarray(np.linalg.pinv(matrices))   # (t, 3 xyz, 3 vertices)
        # a triangle at each measurement, where a walk from its nearest measurement starts
        first = np.zeros(len(points), np.int64)
        first[self.simplices.ravel()] = np.repeat(np.arange(len(self.simplices)), 3)
        self._first_triangle = first

    def weights(self, azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray, *, start: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Barycentric vertices and weights for one or many directions.

        The containing triangle is found by a visibility walk on the triangulation
        (:func:`audiokit.spatial._kernels.locate_triangles`), from ``start`` or
        else from a triangle at the nearest measurement.

        Parameters
        ----------
        azimuth_deg, elevation_deg : float or np.ndarray [shape=(q,)]
        start : np.ndarray [shape=(q,), dtype=int64], optional
            Triangles to start the walk from (e.g. the previous ones of moving
            sources; < 0: unknown); overwritten with the containing triangles.

        Returns
        -------
        indices : np.ndarray [shape=(3,) or (q, 3), dtype=int64]
        weights : np.ndarray [shape=(3,) or (q, 3), dtype=float64]
            Non-negative, summing to 1; one-hot at a measured direction.
        """
        scalar = np.ndim(azimuth_deg) == 0
        p = np.atleast_2d(spherical_to_cartesian(azimuth_deg, elevation_deg))     # (q, 3)
        indices, weights, outside = self.locate(p, start=start)
        if outside >= 0:
            raise ParameterError(
                f"direction ({np.atleast_1d(azimuth_deg)[outside]}, {np.atleast_1d(elevation_deg)[outside]}) "
                "is outside every triangle of the measurement set; use method='nearest'"
            )
        if scalar:
            return indices[0], weights[0]
        return indices, weights

    def locate(self, p: np.ndarray, *, start: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, int]:
        """:meth:`weights` for unit vectors (no validation, no error).

        Parameters
        ----------
        p : np.ndarray [shape=(q, 3), dtype=float64]
        start : np.ndarray [shape=(q,), dtype=int64], optional
            As in :meth:`weights`; entries < 0 start at the nearest measurement.

        Returns
        -------
        indices : np.ndarray [shape=(q, 3), dtype=int64]
        weights : np.ndarray [shape=(q, 3), dtype=float64]
        outside : int
            The first query outside every triangle, or -1.
        """
        from ._kernels import locate_triangles, nearest_points

        if start is None:
            start = np.full(len(p), -1, np.int64)
        cold = np.flatnonzero(start < 0)
        if len(cold):
            nearest = np.empty(len(cold), np.int64)
            nearest_points(self.points, np.ascontiguousarray(p[cold]), nearest)
            start[cold] = self._first_triangle[nearest]
        indices = np.empty((len(p), 3), np.int64)
        weights = np.empty((len(p), 3))
        outside = locate_triangles(p, self._inverse, self.neighbors, self.simplices, start,
                                   _INSIDE_EPS, _SNAP, indices, weights)
        return indices, weights, int(outside)

    def nearest(self, azimuth_deg: float, elevation_deg: float) -> int:
        """Index of the measurement with the smallest great-circle distance."""
        return nearest_index(self.points, azimuth_deg, elevation_deg)


@overload
def nearest_index(points: np.ndarray, azimuth_deg: float, elevation_deg: float) -> int: ...
@overload
def nearest_index(points: np.ndarray, azimuth_deg: np.ndarray, elevation_deg: np.ndarray) -> np.ndarray: ...
def nearest_index(points: np.ndarray, azimuth_deg: float | np.ndarray,
                  elevation_deg: float | np.ndarray) -> int | np.ndarray:
    """Index of the row of ``points`` [shape=(m, 3)] closest to each direction.

    Parameters
    ----------
    points : np.ndarray [shape=(m, 3)]
    azimuth_deg, elevation_deg : float or np.ndarray [shape=(q,)]

    Returns
    -------
    int or np.ndarray [shape=(q,), dtype=int64]
    """
    from ._kernels import nearest_points

    p = np.atleast_2d(spherical_to_cartesian(azimuth_deg, elevation_deg))
    index = np.empty(len(p), np.int64)
    nearest_points(np.ascontiguousarray(points), p, index)
    return int(index[0]) if np.ndim(azimuth_deg) == 0 else index
