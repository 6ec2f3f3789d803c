"""audiokit: audio processing and content intelligence for streaming platforms.

``import audiokit`` is cheap: it loads the error classes only, so that
``audiokit --help`` starts in a blink. :class:`Audio` (numpy), the I/O functions
(PyAV, soundfile) and the subpackages load on first use.

Examples
--------
>>> import audiokit
>>> audio = audiokit.read("examples/example.flac")
>>> audio.num_channels, audio.sample_rate
(2, 44100)

Every function that takes audio accepts a file path or an :class:`Audio`
(:data:`AudioSource`); :func:`as_audio` is that one conversion.
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .errors import (
    AudiokitError,
    FormatError,
    MissingDependencyError,
    ModelError,
    ParameterError,
)

__all__ = [
    "__version__",
    "Audio",
    "AudiokitError",
    "FormatError",
    "MissingDependencyError",
    "ModelError",
    "ParameterError",
    "AudioSource",
    "MediaInfo",
    "as_audio",
    "open",
    "probe",
    "read",
    "write",
]

# Names resolved on first access (PEP 562) so that `import audiokit` and
# `audiokit --help` do not pay for PyAV, soundfile, scipy or numba.
_LAZY_CORE = {"Audio": ".audio"}
_LAZY_IO = {"open", "read", "write", "probe", "MediaInfo", "AudioReader"}
_LAZY_SOURCE = {"as_audio", "AudioSource"}
_SUBPACKAGES = {"io", "channels", "loudness", "transcode", "spatial", "analysis", "synth", "pipeline", "models", "cli"}


def __getattr__(name: str):
    if name in _LAZY_CORE:
        value = getattr(importlib.import_module(_LAZY_CORE[name], __name__), name)
    elif name in _LAZY_IO:
        value = getattr(importlib.import_module(".io", __name__), name)
    elif name in _LAZY_SOURCE:
        value = getattr(importlib.import_module(".io.source", __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'audiokit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_CORE) | _LAZY_IO | _LAZY_SOURCE)
