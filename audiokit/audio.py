"""The one core type that passes between stages, the CLI and the models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import as_samples, check_finite, check_sample_rate

__all__ = ["Audio"]


@dataclass(frozen=True, eq=False)
class Audio:
    """A signal and its sample rate.

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
        Float or integer PCM; stored as C-contiguous float32 ``(channels, frames)``.
        Every sample must be finite: NaN or infinity raises ParameterError
        (a WAV writer would store NaN as silence and a meter would return NaN).
    sample_rate : int
        Samples per second per channel (Hz).

    Examples
    --------
    >>> import numpy as np
    >>> audio = Audio(np.zeros((2, 48000), np.float32), 48000)
    >>> audio.num_channels, audio.num_frames, audio.duration_s
    (2, 48000, 1.0)
    """

    #: float32 samples, shape (channels, frames), nominal range [-1, 1]
    samples: np.ndarray
    #: samples per second per channel, Hz
    sample_rate: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", as_samples(self.samples))
        check_finite(self.samples)
        object.__setattr__(self, "sample_rate", check_sample_rate(self.sample_rate))

    @property
    def num_channels(self) -> int:
        """Number of channels (rows of :attr:`samples`)."""
        return self.samples.shape[0]

    @property
    def num_frames(self) -> int:
        """Number of frames (columns of :attr:`samples`)."""
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        """Duration in seconds: ``num_frames / sample_rate``."""
        return self.num_frames / self.sample_rate

    def __repr__(self) -> str:
        return (
            f"Audio(num_channels={self.num_channels}, num_frames={self.num_frames}, "
            f"sample_rate={self.sample_rate})"
        )
