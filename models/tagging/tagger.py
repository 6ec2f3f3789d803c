"""``tag()``: music tags, a 3 s timeline and an embedding from musicnn's models.

The file is decoded and resampled to 16 kHz block by block, folded to mono,
turned into log-mel rows by the streaming :class:`.frontend.MelFrontEnd` and
cut into 3 s patches, which run through the networks in batches of
:data:`BATCH_PATCHES` under ``torch.inference_mode()``: memory stays bounded
for any length, and the front end runs once however many models are asked for
(``model="all"`` or a list of names). Torch's intra-op thread count is set
once, on the first call (:func:`configure_threads`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from audiokit.errors import ParameterError

from .._registry import require, torch_device
from .frontend import PATCH_DURATION_S, PATCH_FRAMES, SAMPLE_RATE, MelFrontEnd, patches
from .registry import MODELS, load_network

if TYPE_CHECKING:
    from audiokit.io.source import AudioSource

__all__ = ["DEFAULT_MODEL", "ALL_MODELS", "BATCH_PATCHES", "TagResult", "configure_threads", "tag"]

#: the model :func:`tag` uses when none is named
DEFAULT_MODEL = "MTT_musicnn"
#: the name that selects every model in :data:`.registry.MODELS`
ALL_MODELS = "all"
#: patches per forward pass (32 x 3 s): bounds the largest activation, the first timbral
#: convolution's output (32 x 204 x 187 x 59 float32 = 288 MB), and keeps the convolutions batched
#: (both networks on 5 minutes: 13.8 CPU s at 32, 18.1 at 16, 22.0 at 8; tagging_profile.json)
BATCH_PATCHES = 32
#: environment variable that overrides the torch thread count :func:`configure_threads` picks
THREADS_ENV = "AUDIOKIT_TORCH_THREADS"
#: samples decoded per block (10 s at 16 kHz)
_BLOCK_FRAMES = 10 * SAMPLE_RATE


@dataclass(frozen=True, eq=False)
class TagResult:
    """What one model says about one signal.

    Examples
    --------
    >>> result = tag("examples/example.flac")   # doctest: +SKIP
    >>> result.tags[0]                           # doctest: +SKIP
    ('piano', 0.686169)
    """

    #: registry name of the model, e.g. "MTT_musicnn"
    model: str
    #: the model's tag vocabulary, in output order
    labels: tuple[str, ...]
    #: track-level likelihood of each label: the timeline's mean, shape (labels,), float32 in [0, 1]
    scores: np.ndarray
    #: the top_k (label, score) pairs, highest score first
    tags: tuple[tuple[str, float], ...]
    #: per-patch likelihoods, shape (patches, labels): musicnn's "taggram"
    timeline: np.ndarray
    #: start of each patch in seconds, shape (patches,)
    patch_starts_s: np.ndarray
    #: length of every patch in seconds (187 frames = 2.992 s)
    patch_duration_s: float
    #: mean over patches of the layer before the output, shape (embedding_size,), for similarity search
    embedding: np.ndarray
    #: standard deviation over patches of that layer, shape (embedding_size,); zeros for one patch
    embedding_std: np.ndarray

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {
            "model": self.model,
            "tags": [{"label": label, "score": score} for label, score in self.tags],
            "scores": {label: float(score) for label, score in zip(self.labels, self.scores)},
            "timeline": {
                "start_s": [float(start) for start in self.patch_starts_s],
                "duration_s": self.patch_duration_s,
                "scores": self.timeline.tolist(),
            },
            "embedding": self.embedding.tolist(),
            "embedding_std": self.embedding_std.tolist(),
        }


def _model_names(model: object) -> list[str]:
    if isinstance(model, str):
        if model == ALL_MODELS:
            return list(MODELS)
        names = [model]
    elif isinstance(model, (list, tuple)) and model:
        names = list(model)
    else:
        raise ParameterError(f"model is {model!r}; expected a model name, a list of names or {ALL_MODELS!r}")
    for name in names:
        if name not in MODELS:
            raise ParameterError(f"model is {name!r}; expected one of {', '.join(MODELS)} or {ALL_MODELS!r}")
    if len(set(names)) != len(names):
        raise ParameterError(f"model lists {names!r}; name each model once")
    return names


_threads_set: int | None = None


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count once per process; return it.

    Parameters
    ----------
    threads : int, optional
        The count. By default ``$AUDIOKIT_TORCH_THREADS`` or the number of CPUs
        this process may run on (``os.sched_getaffinity``), which is what a
        container or a Ray worker was given, not the machine's core count that
        torch assumes. Later calls without ``threads`` keep the first choice.

    Returns
    -------
    int
        The thread count in force.
    """
    global _threads_set
    torch = require("torch")
    if threads is None and _threads_set is not None:
        return _threads_set
    if threads is None:
        value = os.environ.get(THREADS_ENV, "")
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ParameterError(f"${THREADS_ENV} is {value!r}; expected a positive integer")
            threads = int(value)
        else:
            threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ParameterError(f"threads is {threads!r}; expected a positive integer")
    if torch.get_num_threads() != threads:
        torch.set_num_threads(int(threads))
    _threads_set = int(threads)
    return _threads_set


def _mono_blocks(source: AudioSource) -> Iterator[np.ndarray]:
    """Yield 16 kHz mono float32 blocks of ``source`` (a path or an :class:`Audio`)."""
    from audiokit.channels import to_mono
    from audiokit.io.source import open_source

    with open_source(source) as reader:
        for block in reader.resampled_to(SAMPLE_RATE).blocks(_BLOCK_FRAMES):
            yield to_mono(block)[0]


# "all" is a str too, so the first overload overlaps the second; mypy takes the first match,
# which is the intended reading (PEP 484's usual Literal-overload pattern).
@overload
def tag(source: AudioSource, *, model: Literal["all"] | list[str] | tuple[str, ...],  # type: ignore[overload-overlap]
        top_k: int = 5, device: str = "auto") -> list[TagResult]: ...


@overload
def tag(source: AudioSource, *, model: str = DEFAULT_MODEL, top_k: int = 5, device: str = "auto") -> TagResult: ...


def tag(source: AudioSource, *, model: str | list[str] | tuple[str, ...] = DEFAULT_MODEL, top_k: int = 5,
        device: str = "auto") -> TagResult | list[TagResult]:
    """Tag music with musicnn's pretrained models (ported to torch).

    Parameters
    ----------
    source : str, os.PathLike or Audio
        A file anything :func:`audiokit.open` reads, or a signal at any rate
        (channels are averaged, the signal is resampled to 16 kHz).
    model : str or list of str
        "MTT_musicnn" (50 MagnaTagATune tags: instruments, genres, moods,
        vocals), "MSD_musicnn" (50 Million Song Dataset tags: genres, moods,
        decades), "MTT_vgg", "MSD_vgg", "all", or a list of names: every
        model named runs on the same front end in one pass.
    top_k : int
        How many (label, score) pairs :attr:`TagResult.tags` holds.
    device : {"auto", "cpu", "cuda"}
        Where the networks run; "auto" picks a CUDA GPU when torch sees one.

    Returns
    -------
    TagResult, or list of TagResult
        One result; a list for "all" (in :data:`.registry.MODELS` order) or
        for a list of names (in that order).

    Raises
    ------
    ParameterError
        On an unknown model or device, a bad ``top_k`` or a signal under 32 ms.
    FormatError
        If the file cannot be decoded.
    MissingDependencyError
        If torch or safetensors is missing (``pip install 'audiokit[ml]'``).

    Examples
    --------
    >>> from audiokit.models import tag
    >>> result = tag("examples/example.flac", model="MTT_musicnn", top_k=3)  # doctest: +SKIP
    >>> [label for label, _ in result.tags]                                    # doctest: +SKIP
    ['piano', 'slow', 'synth']
    """
    names = _model_names(model)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ParameterError(f"top_k is {top_k!r}; expected a positive integer")
    torch = require("torch")
    device = torch_device(device)
    configure_threads()
    networks = [load_network(name, device) for name in names]
    outputs: list[tuple[list[np.ndarray], list[np.ndarray]]] = [([], []) for _ in names]  # per model: logits, embeddings

    def run(batch: np.ndarray) -> None:
        with torch.inference_mode():
            inputs = torch.from_numpy(batch).to(device)
            for network, (logits, embeddings) in zip(networks, outputs):
                logit, embedding = network(inputs)
                logits.append(torch.sigmoid(logit).cpu().numpy())
                embeddings.append(embedding.cpu().numpy())

    front, rows = MelFrontEnd(), np.zeros((0, 96), np.float32)
    step = BATCH_PATCHES * PATCH_FRAMES
    for block in _mono_blocks(source):
        rows = np.concatenate([rows, front.process(block)])
        while rows.shape[0] >= step:
            run(patches(rows[:step]))
            rows = rows[step:]
    rows = np.concatenate([rows, front.flush()])
    if rows.shape[0] >= PATCH_FRAMES or not outputs[0][0]:  # repeat-pad only a track shorter than a patch
        run(patches(rows))

    results = []
    for name, (logits, embeddings) in zip(names, outputs):
        spec = MODELS[name]
        timeline = np.concatenate(logits)
        scores = timeline.mean(axis=0)
        order = np.argsort(-scores, kind="stable")[:top_k]
        results.append(TagResult(
            model=name,
            labels=spec.labels,
            scores=scores,
            tags=tuple((spec.labels[i], round(float(scores[i]), 6)) for i in order),
            timeline=timeline,
            patch_starts_s=np.arange(timeline.shape[0]) * PATCH_DURATION_S,
            patch_duration_s=PATCH_DURATION_S,
            embedding=np.concatenate(embeddings).mean(axis=0),
            embedding_std=np.concatenate(embeddings).std(axis=0),
        ))
    return results[0] if isinstance(model, str) and model != ALL_MODELS else results
