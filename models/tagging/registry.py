"""The tagging models: labels, architectures, converted weights and their provenance.

The weights are musicnn 0.1.0's TF1 checkpoints (PyPI ``musicnn==0.1.0``,
https://github.com/jordipons/musicnn, ISC license) converted by
:mod:`.convert` and committed as safetensors under ``weights/``. Loading checks
each file's sha256 against this registry before any tensor is read.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audiokit.errors import ModelError, ParameterError

from .._registry import WeightsSpec, require
from .frontend import SAMPLE_RATE

if TYPE_CHECKING:
    import torch

__all__ = [
    "LICENSE_NOTICE",
    "MODELS",
    "MSD_LABELS",
    "MTT_LABELS",
    "WEIGHTS_DIR",
    "ModelSpec",
    "build_network",
    "load_network",
]

#: where the converted ``<name>.safetensors`` files live
WEIGHTS_DIR = Path(__file__).parent / "weights"

#: musicnn's license (``LICENSE.md`` of musicnn 0.1.0), kept with the converted weights
LICENSE_NOTICE = (
    "Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by "
    "Jordi Pons (www.jordipons.me).\n\n"
    "Permission to use, copy, modify, and/or distribute this software for any purpose with or "
    "without fee is hereby granted, provided that the above copyright notice and this permission "
    "notice appear in all copies.\n\n"
    'THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS '
    "SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL "
    "THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY "
    "DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF "
    "CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE "
    "OR PERFORMANCE OF THIS SOFTWARE."
)

#: the 50 MagnaTagATune tags, in output order (musicnn ``configuration.MTT_LABELS``)
MTT_LABELS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip

#: the 50 Million Song Dataset tags, in output order (musicnn ``configuration.MSD_LABELS``)
MSD_LABELS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy",
)  # fmt: skip

_SOURCE = "PyPI musicnn==0.1.0 (ISC), wheel path musicnn/{name}/.index + .data-00000-of-00001"


@dataclass(frozen=True)
class ModelSpec:
    """One tagging model: what it is, what it outputs, where its weights come from."""

    #: registry name, e.g. "MTT_musicnn"
    name: str
    #: "musicnn" or "vgg" (which :mod:`.networks` class)
    architecture: str
    #: output tags in order
    labels: tuple[str, ...]
    #: size of the embedding :func:`audiokit.models.tag` returns
    embedding_size: int
    #: provenance and checksum of the converted weights
    weights: WeightsSpec

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return asdict(self)


def _spec(name: str, architecture: str, labels: tuple[str, ...], embedding_size: int, sha256: str) -> ModelSpec:
    weights = WeightsSpec(name=name, source=_SOURCE.format(name=name), sha256=sha256, license="ISC",
                          sample_rate=SAMPLE_RATE)
    return ModelSpec(name, architecture, labels, embedding_size, weights)


#: every model :func:`audiokit.models.tag` knows, by name
MODELS = {
    spec.name: spec
    for spec in (
        _spec("MTT_musicnn", "musicnn", MTT_LABELS, 200, "ee93394789d6bd688563e004025581a73e664753a0ec7bdc772451150ed8f130"),
        _spec("MSD_musicnn", "musicnn", MSD_LABELS, 200, "832947974aab89da477780a07262dd03b407076ea79afe3b96ead0d713c28109"),
        _spec("MTT_vgg", "vgg", MTT_LABELS, 256, "4a5fc461e1d70105977155fa4d397feef6ade63299260ea344ee43ea317e5c79"),
        _spec("MSD_vgg", "vgg", MSD_LABELS, 256, "822c2ef51534771f86257aae02e1e3ae3d338629d908600ab289e2d08da1b6cb"),
    )
}


def _spec_for(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ParameterError(f"model is {name!r}; expected one of {', '.join(MODELS)}")
    return MODELS[name]


def build_network(name: str) -> torch.nn.Module:
    """An untrained torch module with the architecture of model ``name``."""
    require("torch")
    from .networks import Musicnn, Vgg

    spec = _spec_for(name)
    network = Vgg(num_classes=len(spec.labels)) if spec.architecture == "vgg" else Musicnn(num_classes=len(spec.labels))
    return network.eval()


@functools.lru_cache(maxsize=None)
def load_network(name: str, device: str = "cpu") -> torch.nn.Module:
    """The torch module of model ``name`` with its converted weights, in eval mode, on ``device`` (cached).

    Raises
    ------
    ParameterError
        If ``name`` is not in :data:`MODELS`.
    ModelError
        If the weights file is missing or its sha256 differs from the registry.
    MissingDependencyError
        If torch or safetensors is not installed.
    """
    spec = _spec_for(name)
    require("safetensors")
    from safetensors.torch import load

    path = WEIGHTS_DIR / f"{name}.safetensors"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(f"weights for {name} not found at {path} ({error.strerror}); "
                         "regenerate them with python -m audiokit.models.tagging.convert") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.weights.sha256:
        raise ModelError(f"{path} has sha256 {digest}; the registry expects {spec.weights.sha256}. "
                         "The file is corrupt or from another conversion")
    network = build_network(name)
    missing, unexpected = network.load_state_dict(load(data), strict=False)
    missing = [key for key in missing if not key.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ModelError(f"{path} does not fit {name}: missing {missing}, unexpected {unexpected}")
    return network.to(device)
