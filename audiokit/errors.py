"""The audiokit exception family.

Every error audiokit raises on purpose is an :class:`AudiokitError`. Subclasses
also derive from the matching builtin so that ``except ValueError`` keeps
working for callers that do not know audiokit.
"""

from __future__ import annotations

__all__ = [
    "AudiokitError",
    "ParameterError",
    "FormatError",
    "DurationLimitError",
    "CatalogError",
    "ModelError",
    "MissingDependencyError",
]


class AudiokitError(Exception):
    """Base class of every error audiokit raises on purpose."""


class ParameterError(AudiokitError, ValueError):
    """An argument has a bad value, type or shape."""


class FormatError(AudiokitError):
    """A file or stream cannot be read or written as audio."""


class DurationLimitError(FormatError):
    """A file is longer than the caller's limit (``max_duration_s``): a policy refusal, not damage."""


class CatalogError(FormatError):
    """The ingest catalog (``OUT/catalog.sqlite``) cannot be opened, read or written.

    Another process holds it past the busy timeout, the file is not a catalog
    or is damaged, or its folder or disk cannot take a write. The message names
    the file and the fix.
    """


class ModelError(AudiokitError):
    """A model or its weights cannot be loaded or run."""


class MissingDependencyError(AudiokitError, ImportError):
    """An optional dependency is not installed.

    The message names the extra to install, e.g. ``pip install 'audiokit[ml]'``.
    """
