"""The chorale GRU in numpy: loads the committed safetensors, runs one grid step at a time.

Generation needs neither torch nor music21: this module reproduces
:class:`~.model.ChoraleModel`'s forward pass (torch's GRU equations, gate
order r, z, n) from the same tensors, in float32. The layer-0 input projection
is folded into per-token lookup tables at load time, so a step costs three
``(3H, H)`` matrix-vector products plus the four voice heads.

Examples
--------
>>> network = load_network()
>>> state = network.initial_state()
>>> state, hidden = network.step(state, previous=[0, 0, 0, 0], position=0, key=2)
>>> network.voice_logits(hidden, voice=0, key=2, chosen=[]).shape
(59,)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiokit.errors import ModelError

from .._registry import WeightsSpec, require
from .config import ModelConfig

__all__ = ["WEIGHTS_PATH", "WEIGHTS", "SAMPLE_RATE", "ChoraleNetwork", "load_network"]

#: The committed weights (written by ``python -m audiokit.models.musicgen.train``).
WEIGHTS_PATH = Path(__file__).with_name("chorale_gru.safetensors")
#: Sample rate of rendered pieces, Hz.
SAMPLE_RATE = 48_000
#: Provenance of the committed weights.
WEIGHTS = WeightsSpec(
    name="musicgen-chorale-gru",
    source="repository: models/musicgen/chorale_gru.safetensors (trained by audiokit.models.musicgen.train)",
    sha256="d69516f5bbbb39d2a3c5e21eebf9836af83b460ec5cf683b8b9285b1afee01c9",
    license="BSD-3-Clause",
    sample_rate=SAMPLE_RATE,
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ChoraleNetwork:
    """Numpy forward pass of the chorale GRU.

    Parameters
    ----------
    tensors : dict of str to np.ndarray
        The safetensors contents (parameter names of :class:`~.model.ChoraleModel`).
    metadata : dict of str to str
        The safetensors metadata (``config``, ``training``, ``metrics``, ...).
    """

    def __init__(self, tensors: dict, metadata: dict) -> None:
        self.metadata = {name: json.loads(value) for name, value in metadata.items()}
        self.config = c = ModelConfig(**self.metadata["config"])
        t = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in tensors.items()}
        self.tensors = t
        w_ih = t["gru.weight_ih_l0"]  # (3H, input_dim)
        e, v = c.token_dim, c.vocab_size
        # Layer-0 input projection folded into lookup tables (rows: token, position, key).
        self._token_tables = [
            t["token_embedding.weight"][i * v : (i + 1) * v] @ w_ih[:, i * e : (i + 1) * e].T
            for i in range(c.num_voices)
        ]
        p0 = c.num_voices * e
        self._position_table = t["position_embedding.weight"] @ w_ih[:, p0 : p0 + c.position_dim].T
        k0 = p0 + c.position_dim
        self._key_table = t["key_embedding.weight"] @ w_ih[:, k0 : k0 + c.key_dim].T
        self._layers = [
            tuple(t[f"gru.{name}_l{n}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            for n in range(c.num_layers)
        ]

    def initial_state(self) -> np.ndarray:
        """Zero hidden state.

        Returns
        -------
        np.ndarray [shape=(num_layers, hidden_dim), dtype=float32]
        """
        return np.zeros((self.config.num_layers, self.config.hidden_dim), np.float32)

    def step(self, state: np.ndarray, *, previous: Sequence[int], position: int,
             key: int) -> tuple[np.ndarray, np.ndarray]:
        """Advance the GRU by one grid step.

        Parameters
        ----------
        state : np.ndarray [shape=(num_layers, hidden_dim)]
        previous : sequence of int [shape=(4,)]
            The four tokens of the previous step (REST before the first).
        position : int
            Position in the bar of the step being predicted.
        key : int
            Key id (:attr:`~.tokens.Key.index`).

        Returns
        -------
        state : np.ndarray [shape=(num_layers, hidden_dim)]
        hidden : np.ndarray [shape=(hidden_dim,)]
            The top layer's output for this step.
        """
        h_dim = self.config.hidden_dim
        new_state = np.empty_like(state)
        x = np.empty(0, np.float32)  # the layer below's output; layer 0 reads the lookup tables instead
        for n, (w_ih, w_hh, b_ih, b_hh) in enumerate(self._layers):
            if n == 0:
                gi = self._position_table[position] + self._key_table[key] + b_ih
                for voice, token in enumerate(previous):
                    gi = gi + self._token_tables[voice][token]
            else:
                gi = w_ih @ x + b_ih
            gh = w_hh @ state[n] + b_hh
            r = _sigmoid(gi[:h_dim] + gh[:h_dim])
            z = _sigmoid(gi[h_dim : 2 * h_dim] + gh[h_dim : 2 * h_dim])
            candidate = np.tanh(gi[2 * h_dim :] + r * gh[2 * h_dim :])
            x = (1.0 - z) * candidate + z * state[n]
            new_state[n] = x
        return new_state, x

    def voice_logits(self, hidden: np.ndarray, *, voice: int, key: int, chosen: Sequence[int]) -> np.ndarray:
        """Logits of one voice's token at this step.

        Parameters
        ----------
        hidden : np.ndarray [shape=(hidden_dim,)]
        voice : int
        key : int
            Key id (:attr:`~.tokens.Key.index`).
        chosen : sequence of int
            Tokens already chosen at this step for voices ``0..voice-1``.

        Returns
        -------
        np.ndarray [shape=(vocab_size,), dtype=float32]
        """
        c, t = self.config, self.tensors
        z = (hidden + t["voice_embedding.weight"][voice]
             + t["head_key_embedding.weight"][key * c.num_voices + voice])
        for other, token in enumerate(chosen):
            z = z + t["context_embedding.weight"][(voice * c.num_voices + other) * c.vocab_size + token]
        a = np.maximum(t["head.weight"] @ z + t["head.bias"], 0.0)
        return t["out.weight"] @ a + t["out.bias"]

    def log_probs(self, grid: np.ndarray, *, positions: np.ndarray, key: int) -> np.ndarray:
        """Teacher-forced log-probabilities of every token of ``grid``.

        Parameters
        ----------
        grid : np.ndarray [shape=(4, steps), dtype=integer]
        positions : np.ndarray [shape=(steps,)]
        key : int

        Returns
        -------
        np.ndarray [shape=(4, steps), dtype=float64]
            ``log P(grid[v, t] | everything before it)``.
        """
        grid = np.asarray(grid, np.int64)
        state = self.initial_state()
        previous = [0] * grid.shape[0]
        out = np.empty(grid.shape)
        for step in range(grid.shape[1]):
            state, hidden = self.step(state, previous=previous, position=int(positions[step]), key=key)
            column = grid[:, step].tolist()
            for voice in range(grid.shape[0]):
                logits = self.voice_logits(hidden, voice=voice, key=key, chosen=column[:voice])
                logits = logits.astype(np.float64)
                shifted = logits - logits.max()
                out[voice, step] = shifted[column[voice]] - np.log(np.exp(shifted).sum())
            previous = column
        return out

    @property
    def pitch_classes(self) -> np.ndarray:
        """Training corpus pitch-class histogram relative to the tonic, shape (2, 12): major, minor."""
        return self.tensors["eval.pitch_classes"].astype(np.float64)


@functools.lru_cache(maxsize=4)
def load_network(path: str | os.PathLike[str] | None = None) -> ChoraleNetwork:
    """Load (once per process) the committed weights, or another file written by train.py.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Default :data:`WEIGHTS_PATH`, whose sha256 is checked against :data:`WEIGHTS`.

    Raises
    ------
    ModelError
        If the file is missing or the committed weights do not match their sha256.
    MissingDependencyError
        If safetensors is not installed (``pip install 'audiokit[ml]'``).
    """
    safetensors_numpy = require("safetensors.numpy")
    safetensors = require("safetensors")
    path = Path(path) if path is not None else WEIGHTS_PATH
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(f"cannot read chorale weights {path}: {error.strerror}; "
                         "train them with: python -m audiokit.models.musicgen.train") from None
    if path == WEIGHTS_PATH and WEIGHTS.sha256 and hashlib.sha256(data).hexdigest() != WEIGHTS.sha256:
        raise ModelError(f"{path} has sha256 {hashlib.sha256(data).hexdigest()}; expected "
                         f"{WEIGHTS.sha256}. Restore the committed file (git checkout) or update WEIGHTS")
    tensors = safetensors_numpy.load(data)
    with safetensors.safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata()
    return ChoraleNetwork(tensors, metadata)
