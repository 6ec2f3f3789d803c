"""The chorale GRU in torch (training only; sampling runs it in numpy, see runtime.py).

Importing this module imports torch: only the training script and the tests do.
Parameter names are the safetensors keys that :mod:`.runtime` reads.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import NUM_KEYS, NUM_POSITIONS, ModelConfig

__all__ = ["ChoraleModel"]


class ChoraleModel(nn.Module):
    """Autoregressive model of a four-voice token grid.

    Parameters
    ----------
    config : ModelConfig
    dropout : float
        Dropout between the GRU layers (training only).
    """

    def __init__(self, config: ModelConfig, *, dropout: float = 0.0) -> None:
        super().__init__()
        c = config
        self.config = config
        # Row v * vocab_size + token: each voice has its own input embedding.
        self.token_embedding = nn.Embedding(c.num_voices * c.vocab_size, c.token_dim)
        self.position_embedding = nn.Embedding(NUM_POSITIONS, c.position_dim)
        self.key_embedding = nn.Embedding(NUM_KEYS, c.key_dim)
        self.gru = nn.GRU(c.input_dim, c.hidden_dim, num_layers=c.num_layers, batch_first=True,
                          dropout=dropout)
        self.voice_embedding = nn.Embedding(c.num_voices, c.hidden_dim)
        # The key also enters every head directly (row key * num_voices + v).
        self.head_key_embedding = nn.Embedding(NUM_KEYS * c.num_voices, c.hidden_dim)
        # Row (v * num_voices + u) * vocab_size + token: voice u's token at this
        # step as seen by voice v's head (used for u < v only).
        self.context_embedding = nn.Embedding(c.num_voices**2 * c.vocab_size, c.hidden_dim)
        self.head = nn.Linear(c.hidden_dim, c.hidden_dim)
        self.out = nn.Linear(c.hidden_dim, c.vocab_size)

    def forward(self, previous: torch.Tensor, current: torch.Tensor, positions: torch.Tensor,
                keys: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits for every voice of every step.

        Parameters
        ----------
        previous : torch.Tensor [shape=(batch, voices, steps), dtype=int64]
            Tokens of the step before each step (REST before the first).
        current : torch.Tensor [shape=(batch, voices, steps), dtype=int64]
            Tokens of each step (the targets; lower voices condition on higher ones).
        positions : torch.Tensor [shape=(batch, steps), dtype=int64]
            Position in the bar of each step.
        keys : torch.Tensor [shape=(batch,), dtype=int64]

        Returns
        -------
        torch.Tensor [shape=(batch, voices, steps, vocab_size)]
        """
        c = self.config
        batch, voices, steps = previous.shape
        offsets = torch.arange(voices, device=previous.device).view(1, voices, 1) * c.vocab_size
        tokens = self.token_embedding(previous + offsets)  # (B, V, T, E)
        x = torch.cat([
            tokens.permute(0, 2, 1, 3).reshape(batch, steps, voices * c.token_dim),
            self.position_embedding(positions),
            self.key_embedding(keys)[:, None, :].expand(batch, steps, c.key_dim),
        ], dim=-1)
        hidden, _ = self.gru(x)  # (B, T, H)
        logits = []
        for v in range(voices):
            key_bias = self.head_key_embedding(keys * voices + v)[:, None, :]
            z = hidden + self.voice_embedding.weight[v] + key_bias
            for u in range(v):
                z = z + self.context_embedding(current[:, u] + (v * voices + u) * c.vocab_size)
            logits.append(self.out(torch.relu(self.head(z))))
        return torch.stack(logits, dim=1)
