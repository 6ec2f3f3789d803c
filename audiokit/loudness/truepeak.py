"""True peak per BS.1770-5 Annex 2: oversample, take the absolute maximum.

The Annex's 48-tap, 4-phase interpolation filter is used as published. Below
96 kHz all four phases run (4x); from 96 kHz to under 192 kHz two phases half
a sample apart (2x, as the Annex allows for such rates); from 192 kHz on the
samples are already dense enough and the sample peak is the true peak. The
result is always the larger of the interpolated and the sample peak: the
Annex filter's phases sit between the samples and its pass band droops, so
on its own it under-reads an fs/4 tone sampled at its crests by 0.22 dB.
"""

from __future__ import annotations

import numpy as np

from .._arrays import as_samples, check_finite, check_sample_rate
from ..errors import ParameterError
from ._kernels import _true_peak

__all__ = ["ANNEX2_TAPS", "TruePeakMeter", "oversampling_factor", "true_peak"]

#: BS.1770-5 Annex 2 interpolation filter, 4 phases x 12 taps (order 48).
ANNEX2_TAPS = np.array(
    [
        [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000,
         -0.0594482421875, 0.1373291015625, 0.9721679687500, -0.1022949218750,
         0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
        [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250,
         -0.1665039062500, 0.4650878906250, 0.7797851562500, -0.2003173828125,
         0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
        [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000,
         -0.2003173828125, 0.7797851562500, 0.4650878906250, -0.1665039062500,
         0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
        [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750,
         -0.1022949218750, 0.9721679687500, 0.1373291015625, -0.0594482421875,
         0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
    ]
)
#: Frames of history an interpolated value needs (taps per phase - 1).
_HISTORY = ANNEX2_TAPS.shape[1] - 1
#: Relative slack on the branch-and-bound gain: covers float32 accumulation.
_BOUND_SLACK = 1e-5


def oversampling_factor(sample_rate: int) -> int:
    """4 below 96 kHz, 2 below 192 kHz, else 1 (BS.1770-5 Annex 2 clause 2)."""
    sample_rate = check_sample_rate(sample_rate)
    if sample_rate < 96000:
        return 4
    if sample_rate < 192000:
        return 2
    return 1


def _phase_taps(factor: int) -> np.ndarray:
    """Kernel layout (12, 4): column p is a phase; 2x repeats phases 0 and 2."""
    phases = (0, 1, 2, 3) if factor == 4 else (0, 2, 0, 2)
    return np.ascontiguousarray(ANNEX2_TAPS[list(phases)].T, dtype=np.float32)


def _to_db(linear: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(linear)


class TruePeakMeter:
    """Streaming true-peak and sample-peak meter.

    Parameters
    ----------
    sample_rate : int
        Hz.
    num_channels : int
        Rows of every block.

    Examples
    --------
    >>> import numpy as np
    >>> meter = TruePeakMeter(48000, 2)
    >>> meter.process(np.zeros((2, 480), np.float32))
    >>> meter.true_peak_dbtp
    array([-inf, -inf])
    """

    def __init__(self, sample_rate: int, num_channels: int) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(num_channels, bool) or not isinstance(num_channels, (int, np.integer)) or num_channels < 1:
            raise ParameterError(f"num_channels is {num_channels!r}; expected a positive integer")
        self.num_channels = int(num_channels)
        self.factor = oversampling_factor(self.sample_rate)
        self._taps = _phase_taps(self.factor)
        self._bound_gain = float(np.abs(ANNEX2_TAPS).sum(axis=1).max()) * (1.0 + _BOUND_SLACK)
        self._history = np.zeros((self.num_channels, _HISTORY), np.float32)
        self._peaks = np.zeros(self.num_channels)
        self._sample_peaks = np.zeros(self.num_channels)

    def process(self, block: np.ndarray) -> None:
        """Add a block.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames) or (frames,)]
            Finite float or integer PCM.
        """
        block = as_samples(block, name="block")
        if block.shape[0] != self.num_channels:
            raise ParameterError(
                f"block has {block.shape[0]} channels; this meter was made for {self.num_channels}"
            )
        check_finite(block, name="block")
        self._process_validated(block)

    def _process_validated(self, block: np.ndarray) -> None:
        if block.shape[1] == 0:
            return
        extended = np.concatenate([self._history, block], axis=1)
        _true_peak(extended, self._taps, self._bound_gain, self.factor > 1, self._peaks, self._sample_peaks)
        self._history = np.ascontiguousarray(extended[:, -_HISTORY:])

    def flush(self) -> None:
        """Nothing is buffered: the peaks are final after every block."""

    @property
    def true_peak_dbtp(self) -> np.ndarray:
        """Per-channel true peak (the larger of interpolated and sample peak), dBTP, shape (channels,)."""
        return _to_db(self._peaks)

    @property
    def sample_peak_dbfs(self) -> np.ndarray:
        """Per-channel sample peak, dBFS, shape (channels,)."""
        return _to_db(self._sample_peaks)


def true_peak(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-channel true-peak level (BS.1770-5 Annex 2).

    Parameters
    ----------
    samples : np.ndarray [shape=(channels, frames) or (frames,)]
        Finite float or integer PCM.
    sample_rate : int
        Hz; sets the oversampling (4x below 96 kHz, 2x below 192 kHz).

    Returns
    -------
    np.ndarray [shape=(channels,), dtype=float64]
        dBTP, ``-inf`` for a silent channel.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000) / 48000
    >>> x = 0.5 * np.sin(2 * np.pi * 12000 * t + np.pi / 4)   # samples at +-0.354 (-9.03 dBFS)
    >>> round(float(true_peak(x, 48000)[0]), 2)   # the sine peaks at -6.02; Annex 2's FIR reads 0.08 dB over
    -5.94
    """
    samples = as_samples(samples)
    check_finite(samples)
    meter = TruePeakMeter(sample_rate, samples.shape[0])
    meter._process_validated(samples)
    return meter.true_peak_dbtp
