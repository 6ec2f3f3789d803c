"""Music tagging with musicnn's pretrained models, ported from TensorFlow 1 to torch.

``tag()`` returns track-level tag scores, a per-3 s timeline and an embedding.
The weights are musicnn 0.1.0's checkpoints (ISC license), read without
TensorFlow by :mod:`.bundle`, converted by :mod:`.convert` and committed under
``weights/`` (see :mod:`.registry`). Importing this package does not import
torch; the first ``tag()`` call does.

Examples
--------
>>> from audiokit.models.tagging import tag
>>> result = tag("examples/example.flac", top_k=3)   # doctest: +SKIP
>>> result.tags                                       # doctest: +SKIP
"""

from .registry import MODELS, ModelSpec
from .tagger import ALL_MODELS, DEFAULT_MODEL, TagResult, tag

__all__ = ["ALL_MODELS", "DEFAULT_MODEL", "MODELS", "ModelSpec", "TagResult", "tag"]
