"""Train the chorale GRU: ``python -m audiokit.models.musicgen.train``.

Reproducible: the same ``--seed``, ``--threads`` and package versions give the
same weights on the same machine. Needs the ``train`` extra (torch, music21,
safetensors). Writes the weights (safetensors, with the config, the training
settings and the measured metrics in its metadata), the held-out chorales used
for validation and priming, and prints one JSON report on stdout.

Run it as::

    python -m audiokit.models.musicgen.train --seed 0 --threads 1

Examples
--------
>>> report = main(["--updates", "10"])   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._registry import require
from .config import ModelConfig
from .data import HELDOUT_PATH, Chorales, load_corpus
from .metrics import baseline_nll, bigram_table, pitch_class_histogram, unigram_table
from .runtime import WEIGHTS_PATH
from .tokens import REST, TRANSPOSITIONS, transpose_grid

if TYPE_CHECKING:
    from .model import ChoraleModel

__all__ = ["TrainOptions", "train", "main"]


@dataclass(frozen=True)
class TrainOptions:
    """Training settings (all recorded in the weights' metadata)."""

    #: seeds torch and the batch sampler
    seed: int = 0
    #: optimizer updates
    updates: int = 320
    #: chorale crops per update
    batch_size: int = 24
    #: steps (sixteenths) per crop
    crop_steps: int = 192
    #: peak Adam learning rate (linear warm-up over a tenth of the updates, cosine decay to 0)
    learning_rate: float = 3e-3
    #: dropout between the GRU layers
    dropout: float = 0.2
    #: gradient norm clip
    clip_norm: float = 1.0
    #: torch CPU threads for training (results depend on it: keep it fixed to reproduce);
    #: the corpus is parsed by 2 processes either way
    threads: int = 1

    def to_dict(self) -> dict:
        """The options as a JSON-able dict."""
        return asdict(self)


def _batch(chorales: Chorales, rng: np.random.Generator,
           options: TrainOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One batch of transposed crops: previous, current, positions, keys, mask (numpy)."""
    b, length = options.batch_size, options.crop_steps
    previous = np.full((b, 4, length), REST, np.int64)
    current = np.full((b, 4, length), REST, np.int64)
    positions = np.zeros((b, length), np.int64)
    keys = np.zeros(b, np.int64)
    mask = np.zeros((b, length), bool)
    for row in range(b):
        index = int(rng.integers(len(chorales)))
        shift = int(rng.choice(TRANSPOSITIONS))
        grid = transpose_grid(chorales.grids[index], shift)
        steps = grid.shape[1]
        start = 0 if rng.random() < 0.25 or steps <= length else int(rng.integers(steps - length + 1))
        piece = grid[:, start : start + length]
        n = piece.shape[1]
        current[row, :, :n] = piece
        previous[row, :, 0] = grid[:, start - 1] if start > 0 else REST
        previous[row, :, 1:n] = piece[:, :-1]
        positions[row, :n] = chorales.positions(index)[start : start + n]
        keys[row] = chorales.key(index).transposed(shift).index
        mask[row, :n] = True
    return previous, current, positions, keys, mask


def _validation_nll(model: ChoraleModel, chorales: Chorales) -> float:
    """Mean teacher-forced NLL (nats/token) of whole chorales in their original keys."""
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for index, grid in enumerate(chorales.grids):
            current = torch.from_numpy(grid.astype(np.int64))[None]
            previous = torch.cat([torch.full((1, 4, 1), REST), current[:, :, :-1]], dim=2)
            positions = torch.from_numpy(chorales.positions(index))[None]
            keys = torch.tensor([chorales.key(index).index])
            logits = model(previous, current, positions, keys)
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), current.reshape(-1), reduction="sum").item()
            count += current.numel()
    model.train()
    return total / count


def train(train_set: Chorales, valid_set: Chorales, options: TrainOptions, *,
          log: Callable[[str], None] | None = None) -> tuple[ChoraleModel, dict]:
    """Train a :class:`~.model.ChoraleModel` and measure it.

    Returns
    -------
    model : ChoraleModel
    metrics : dict
        Validation NLL of the model (nats/token), the training loss curve and
        wall-clock seconds.
    """
    torch = require("torch", extra="train")
    from .model import ChoraleModel

    torch.manual_seed(options.seed)
    torch.set_num_threads(options.threads)
    rng = np.random.default_rng(options.seed)
    config = ModelConfig()
    model = ChoraleModel(config, dropout=options.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=options.learning_rate)

    def rate(update: int) -> float:
        warm = min(1.0, (update + 1) / max(1, options.updates // 10))
        return warm * 0.5 * (1 + math.cos(math.pi * update / options.updates))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    started = time.perf_counter()
    curve = []
    for update in range(options.updates):
        previous, current, positions, keys, mask = map(torch.from_numpy, _batch(train_set, rng, options))
        logits = model(previous, current, positions, keys)
        losses = torch.nn.functional.cross_entropy(
            logits.permute(0, 3, 1, 2), current, reduction="none")  # (B, V, T)
        weights = mask[:, None, :].expand_as(losses).float()
        loss = (losses * weights).sum() / weights.sum()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), options.clip_norm)
        optimizer.step()
        scheduler.step()
        if (update + 1) % 100 == 0 or update + 1 == options.updates:
            elapsed = time.perf_counter() - started
            curve.append({"update": update + 1, "train_loss": round(loss.item(), 4),
                          "elapsed_s": round(elapsed, 1)})
            if log:
                log(f"update {update + 1}/{options.updates} loss {loss.item():.4f} {elapsed:.0f} s")
    train_s = time.perf_counter() - started
    metrics = {
        "valid_nll": _validation_nll(model, valid_set),
        "train_seconds": round(train_s, 1),
        "curve": curve,
    }
    return model, metrics


def save(model: ChoraleModel, path: Path, *, train_set: Chorales, tables: tuple, options: TrainOptions,
         metrics: dict, corpus_summary: dict) -> None:
    """Write the weights, evaluation tables and metadata as safetensors (atomically).

    ``tables`` is (unigram, bigram) from :mod:`.metrics`, stored as ``eval.*``
    tensors so the baselines can be re-scored without the training data.
    """
    torch = require("torch", extra="train")
    save_file = require("safetensors.torch", extra="train").save_file

    tensors = {name: value.detach().contiguous() for name, value in model.state_dict().items()}
    keys = [train_set.key(i) for i in range(len(train_set))]
    tensors["eval.unigram"] = torch.from_numpy(tables[0].astype(np.float32))
    tensors["eval.bigram"] = torch.from_numpy(tables[1].astype(np.float32))
    tensors["eval.pitch_classes"] = torch.from_numpy(
        pitch_class_histogram(train_set.grids, keys).astype(np.float32))
    metadata = {
        "config": json.dumps(model.config.to_dict()),
        "training": json.dumps(options.to_dict()),
        "metrics": json.dumps(metrics),
        "corpus": json.dumps(corpus_summary),
        "versions": json.dumps(_versions()),
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _versions() -> dict:
    import music21
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "music21": music21.__version__}


def main(argv: Sequence[str] | None = None) -> dict:
    """Command-line entry point; returns the report it prints."""
    defaults = TrainOptions()
    parser = argparse.ArgumentParser(prog="python -m audiokit.models.musicgen.train",
                                     description=__doc__.split("\n\n")[0])
    for field, value in defaults.to_dict().items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="weights file to write")
    parser.add_argument("--heldout", type=Path, default=HELDOUT_PATH,
                        help="where to write the held-out chorales")
    args = vars(parser.parse_args(argv))
    out, heldout = args.pop("out"), args.pop("heldout")
    options = TrainOptions(**args)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    load_before = os.getloadavg()
    corpus = load_corpus(workers=2)
    data_s = time.perf_counter() - started
    log(f"corpus: {corpus.to_dict()} in {data_s:.0f} s")
    train_set, valid_set = corpus.split()
    model, metrics = train(train_set, valid_set, options, log=log)
    unigram, bigram = unigram_table(train_set), bigram_table(train_set)
    metrics["unigram_nll"] = baseline_nll(unigram, valid_set)
    metrics["bigram_nll"] = baseline_nll(bigram, valid_set)
    metrics["data_seconds"] = round(data_s, 1)
    metrics["total_seconds"] = round(time.perf_counter() - started, 1)
    metrics["load_average_1min"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    corpus_summary = {"all": corpus.to_dict(), "train": train_set.to_dict(),
                      "validation": valid_set.to_dict()}
    save(model, out, train_set=train_set, tables=(unigram, bigram), options=options,
         metrics=metrics, corpus_summary=corpus_summary)
    valid_set.save(heldout)
    report = {"weights": str(out), "heldout": str(heldout), "options": options.to_dict(),
              "corpus": corpus_summary, "metrics": metrics, "versions": _versions()}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
