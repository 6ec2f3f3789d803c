"""The chorale model's shape, shared by the torch model and the numpy sampler."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .tokens import VOCAB_SIZE, VOICES

__all__ = ["ModelConfig", "NUM_KEYS", "NUM_POSITIONS"]

#: Key ids: 12 major tonics then 12 minor tonics (tokens.Key.index).
NUM_KEYS = 24
#: Position-in-bar ids: sixteenth steps 0..15 (a 3/4 bar uses 0..11).
NUM_POSITIONS = 16


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the chorale GRU.

    One step of the grid is one GRU step. Its input is the previous step's four
    tokens (a learned embedding per voice), the position in the bar of the step
    being predicted, and the key (which also feeds every voice head directly).
    Within a step the voices are predicted in
    order soprano, alto, tenor, bass, each head also seeing the voices already
    chosen at this step.
    """

    #: tokens per voice (REST, HOLD, one per pitch)
    vocab_size: int = VOCAB_SIZE
    #: voices per step
    num_voices: int = len(VOICES)
    #: width of each voice's token embedding at the GRU input
    token_dim: int = 48
    #: width of the position-in-bar embedding
    position_dim: int = 16
    #: width of the key embedding
    key_dim: int = 16
    #: GRU hidden width (also the width of the voice heads)
    hidden_dim: int = 192
    #: stacked GRU layers
    num_layers: int = 2

    @property
    def input_dim(self) -> int:
        """Width of the GRU input: voice embeddings, position, key."""
        return self.num_voices * self.token_dim + self.position_dim + self.key_dim

    def to_dict(self) -> dict:
        """The config as a JSON-able dict."""
        return asdict(self)
