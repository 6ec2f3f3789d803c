"""Normalize a file into another in bounded memory: :func:`normalize_file`.

The programme is never held whole: each pass decodes it block by block. One
pass measures the input; in ``limit`` mode each gain step of
:func:`.normalize._iterate_gain` is one more pass through the streaming
limiter (usually two to four; a rare true-peak overshoot adds one); a last
pass writes the output atomically and measures it. The output is the one
:func:`.normalize.normalize` gives on the whole decoded signal, sample for
sample: the meter and the limiter carry their state between blocks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._arrays import BLOCK_FRAMES
from ..errors import ParameterError
from .limiter import HOLD_MS, LOOKAHEAD_MS, RELEASE_MS, _hold_ceiling, _LimiterStream, _settings
from ..channels import LAYOUTS
from .meter import RELATIVE_GATE_LU, LoudnessMeter, LoudnessReport, _gated_loudness
from .normalize import NormalizationReport, _apply_gain, _initial_gain, _iterate_gain, _resolve
from .truepeak import TruePeakMeter

__all__ = ["measure_file", "normalize_file"]


def file_layout(info) -> str | None:
    """The channel layout of a probed file for the meter; None (the default for its count) when unnamed."""
    return info.channel_layout if info.channel_layout in LAYOUTS else None


def measure_file(path, *, channel_layout=None, block_frames: int = BLOCK_FRAMES) -> LoudnessReport:
    """BS.1770 / EBU R128 measurements of a file, streamed block by block.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`audiokit.open` reads.
    channel_layout : str or sequence of str, optional
        Default: the layout the file names (:mod:`audiokit.channels`).
    block_frames : int
        Frames decoded per block; memory does not grow with the duration.

    Returns
    -------
    LoudnessReport
        Undefined values (silence, too short) are -inf; no warning is issued.

    Examples
    --------
    >>> from audiokit.loudness import measure_file
    >>> round(measure_file("examples/example.flac").integrated_lufs, 1)  # doctest: +SKIP
    -16.3
    """
    from ..io.reader import open as open_audio

    with open_audio(path) as reader:
        layout = channel_layout if channel_layout is not None else file_layout(reader.info)
        meter = LoudnessMeter(reader.sample_rate, reader.num_channels, channel_layout=layout)
        for block in reader.blocks(block_frames):
            meter.process(block)
    return meter.report(warn=False)


def normalize_file(input_path, output_path, *, preset: str | None = None, target_lufs: float | None = None,
                   true_peak_dbtp: float | None = None, mode: str | None = None, channel_layout=None,
                   codec: str | None = None, bit_depth: int | None = None, bitrate_bps: int | None = None,
                   tags: dict | None = None, block_frames: int = BLOCK_FRAMES) -> NormalizationReport:
    """Bring a file to a loudness target under a true-peak ceiling and write the result, block by block.

    Parameters
    ----------
    input_path, output_path : str or os.PathLike
        Any file :func:`audiokit.open` reads; the output's extension picks its
        container (see :func:`audiokit.write`). The output is written to a
        temporary name and renamed into place, so it may be the input itself.
    preset, target_lufs, true_peak_dbtp, mode, channel_layout
        As for :func:`.normalize.normalize`.
    codec, bit_depth, bitrate_bps, tags
        As for :class:`audiokit.io.writer.AudioWriter`.
    block_frames : int
        Frames decoded per block.

    Returns
    -------
    NormalizationReport
        ``output`` is measured on the samples handed to the encoder (a lossy
        codec can move the decoded true peak a little).

    Raises
    ------
    FormatError
        If the input cannot be decoded or the output cannot be encoded.
    ParameterError
        For a bad option, or a non-finite sample in the input.

    Examples
    --------
    >>> from audiokit.loudness import normalize_file
    >>> report = normalize_file("episode.wav", "episode.flac", preset="podcast")  # doctest: +SKIP
    >>> round(report.output.integrated_lufs, 1)                                    # doctest: +SKIP
    -16.0
    """
    from ..io.reader import open as open_audio
    from ..io.writer import AudioWriter

    target = _resolve(preset, target_lufs, true_peak_dbtp, mode)
    if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames < 1:
        raise ParameterError(f"block_frames is {block_frames!r}; expected a positive integer")
    with open_audio(input_path) as reader:
        sample_rate, num_channels = reader.sample_rate, reader.num_channels

    def each_block(process: Callable[[np.ndarray, bool], None]) -> None:
        """Decode the input once, calling ``process(block, final)``; the last call has an empty block."""
        with open_audio(input_path) as reader:
            for block in reader.blocks(block_frames):
                process(block, False)
        process(np.zeros((num_channels, 0), np.float32), True)

    def meter() -> LoudnessMeter:
        return LoudnessMeter(sample_rate, num_channels, channel_layout=channel_layout)

    source = meter()
    each_block(lambda block, final: source.process(block))  # validates every sample once
    before = source.report(warn=False)
    gain, iterate = _initial_gain(target, before.integrated_lufs, before.true_peak_dbtp)
    settings = _settings(sample_rate, LOOKAHEAD_MS, HOLD_MS, RELEASE_MS)
    threshold = None  # the limiter's detector threshold, once limit mode has found the gain

    def limited(gain_db: float, detector_threshold: float, sink: Callable[[np.ndarray], None]) -> _LimiterStream:
        limiter = _LimiterStream(sample_rate, num_channels, detector_threshold, settings)
        each_block(lambda block, final: sink(limiter.process(_apply_gain(block, gain_db), final=final)))
        return limiter

    if target.mode == "limit":
        def run(gain_db: float) -> float:
            nonlocal threshold

            def attempt(detector_threshold: float):
                peaks, loudness = TruePeakMeter(sample_rate, num_channels), meter()

                def measure(out: np.ndarray) -> None:
                    peaks._process_validated(out)
                    loudness._process_validated(out, with_peaks=False)

                limited(gain_db, detector_threshold, measure)
                return float(np.max(peaks.true_peak_dbtp)), (detector_threshold, loudness)

            threshold, loudness = _hold_ceiling(target.true_peak_dbtp, attempt)
            return _gated_loudness(loudness._gating_blocks(), RELATIVE_GATE_LU)[0]

        gain = _iterate_gain(gain, iterate, target, run)

    output = meter()
    with AudioWriter(output_path, sample_rate, num_channels, codec=codec, bit_depth=bit_depth,
                     bitrate_bps=bitrate_bps, tags=tags) as writer:
        def write(out: np.ndarray) -> None:
            if out.shape[1]:
                output._process_validated(out, with_peaks=True)
                writer.write(out)

        if threshold is None:
            each_block(lambda block, final: write(_apply_gain(block, gain)))
            reduction, fraction = 0.0, 0.0
        else:
            limiter = limited(gain, threshold, write)
            reduction, fraction = limiter.max_reduction_db, limiter.limited_fraction
    return NormalizationReport(target.preset, target.target_lufs, target.true_peak_dbtp, target.mode, float(gain),
                               reduction, fraction, before, output.report(warn=False))
