"""Torch models and their weights registry, installed as ``audiokit.models``.

Nothing here imports torch at import time: each model imports it inside the
function that needs it and raises :class:`~audiokit.errors.MissingDependencyError`
naming the extra (``pip install 'audiokit[ml]'``) when it is missing.
"""

from ._registry import WeightsSpec, cache_dir, require

__all__ = ["WeightsSpec", "cache_dir", "require"]
