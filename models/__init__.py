"""Torch models and their weights registry, installed as ``audiokit.models``.

Nothing here imports torch at import time: each model imports it inside the
function that needs it and raises :class:`~audiokit.errors.MissingDependencyError`
naming the extra (``pip install 'audiokit[ml]'``) when it is missing.
"""

import importlib
from typing import Any

from ._registry import WeightsSpec, cache_dir, require

# Public model entry points, resolved on first access (PEP 562) so that
# `import audiokit.models` stays light: name -> submodule that defines it.
_LAZY = {"generate": "musicgen", "moderate": "moderation", "tag": "tagging", "transcribe": "whisper"}

__all__ = ["WeightsSpec", "cache_dir", "require", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'audiokit.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
