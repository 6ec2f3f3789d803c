"""Spatial audio: HRTF sets (SOFA or analytic), binaural rendering, scenes.

``import audiokit.spatial`` compiles nothing: the Numba kernels compile (or load
from their cache) on the first block a renderer processes.

Examples
--------
>>> import numpy as np
>>> from audiokit.spatial import HRTF, render_static
>>> hrtf = HRTF.spherical_head(48000)
>>> out = render_static(np.zeros(4800, np.float32), 48000, hrtf, azimuth_deg=30.0, elevation_deg=0.0)
>>> out.shape[0]
2
"""

from .hrtf import HRTF, fractional_delay, lagrange_weights
from .interpolation import rotate_to_head
from .renderer import BinauralRenderer, RendererOptions, render_bed, render_static
from .scene import Scene, load_scene, render_scene
from .sofa import SofaData, read_sofa

__all__ = [
    "HRTF",
    "BinauralRenderer",
    "RendererOptions",
    "render_static",
    "render_bed",
    "Scene",
    "load_scene",
    "render_scene",
    "SofaData",
    "read_sofa",
    "fractional_delay",
    "lagrange_weights",
    "rotate_to_head",
]
