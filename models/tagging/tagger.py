"""``tag()``: music tags, a 3 s timeline and an embedding from musicnn's models.

The file is decoded and resampled to 16 kHz block by block, folded to mono,
turned into log-mel rows by the streaming :class:`.frontend.MelFrontEnd` and
cut into 3 s patches, which run through the networks in batches under
``torch.inference_mode()``: memory stays bounded for any length, and the
front end runs once however many models are asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from audiokit.audio import Audio
from audiokit.errors import ParameterError

from .._registry import require, torch_device
from .frontend import PATCH_DURATION_S, PATCH_FRAMES, SAMPLE_RATE, MelFrontEnd, patches
from .registry import MODELS, load_network

__all__ = ["DEFAULT_MODEL", "ALL_MODELS", "TagResult", "tag"]

#: the model :func:`tag` uses when none is named
DEFAULT_MODEL = "MTT_musicnn"
#: the name that selects every model in :data:`.registry.MODELS`
ALL_MODELS = "all"
#: patches per forward pass (32 x 3 s); bounds memory, keeps the convolutions batched
BATCH_PATCHES = 32
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

    def to_dict(self) -> dict:
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
        }


def _model_names(model: str) -> list[str]:
    if model == ALL_MODELS:
        return list(MODELS)
    if model not in MODELS:
        raise ParameterError(f"model is {model!r}; expected one of {', '.join(MODELS)} or {ALL_MODELS!r}")
    return [model]


def _mono_blocks(source):
    """Yield 16 kHz mono float32 blocks of ``source`` (a path or an :class:`Audio`)."""
    if isinstance(source, Audio):
        samples = source.samples
        if source.sample_rate != SAMPLE_RATE:
            from audiokit.io.resample import resample

            samples = resample(samples, source.sample_rate, SAMPLE_RATE)
        yield samples.mean(axis=0, dtype=np.float32)
        return
    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError(f"source is a {type(source).__name__}; expected a path or an audiokit.Audio")
    import audiokit

    with audiokit.open(source) as reader:
        for block in reader.resampled_to(SAMPLE_RATE).blocks(_BLOCK_FRAMES):
            yield block.mean(axis=0, dtype=np.float32)


def tag(source, *, model: str = DEFAULT_MODEL, top_k: int = 5, device: str = "auto") -> TagResult | list[TagResult]:
    """Tag music with musicnn's pretrained models (ported to torch).

    Parameters
    ----------
    source : str, os.PathLike or Audio
        A file anything :func:`audiokit.open` reads, or a signal at any rate
        (channels are averaged, the signal is resampled to 16 kHz).
    model : str
        "MTT_musicnn" (50 MagnaTagATune tags: instruments, genres, moods,
        vocals), "MSD_musicnn" (50 Million Song Dataset tags: genres, moods,
        decades), "MTT_vgg", "MSD_vgg", or "all".
    top_k : int
        How many (label, score) pairs :attr:`TagResult.tags` holds.
    device : {"auto", "cpu", "cuda"}
        Where the networks run; "auto" picks a CUDA GPU when torch sees one.

    Returns
    -------
    TagResult, or list of TagResult
        One result; a list in :data:`.registry.MODELS` order for "all".

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
    networks = [load_network(name, device) for name in names]
    outputs = [([], []) for _ in names]  # per model: logits batches, embedding batches

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
        ))
    return results if model == ALL_MODELS else results[0]
