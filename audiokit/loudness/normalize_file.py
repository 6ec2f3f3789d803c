"""Normalize a file into another in bounded memory: :func:`normalize_file`.

The programme is never held whole: each pass decodes it block by block and
feeds the blocks to consumers through the streaming engine
(:func:`audiokit.transcode.engine.run_pass`). One pass measures the input; in
``limit`` mode each gain step of :func:`.normalize._iterate_gain` is one more
pass through the streaming limiter (usually two to four; a rare true-peak
overshoot adds one); a last pass writes the output atomically and measures
what it hands the encoder, and the written file is decoded and measured. The
encoder runs in a :class:`~audiokit.transcode.engine.BlockWorker` thread, so
encoding (PyAV releases the GIL) overlaps the decode, the gain and the
limiter. The output is the one :func:`.normalize.normalize` gives on the whole
decoded signal, sample for sample: the meter and the limiter carry their state
between blocks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..channels import LAYOUTS
from ..errors import ParameterError
from .kweighting import MIN_SAMPLE_RATE
from .level_match import encode_at_level
from .limiter import HOLD_MS, LOOKAHEAD_MS, RELEASE_MS, _hold_ceiling, _LimiterStream, _settings
from .meter import RELATIVE_GATE_LU, AlbumReport, LoudnessMeter, LoudnessReport, _gated_loudness, album_of
from .normalize import NormalizationReport, _apply_gain, _initial_gain, _iterate_gain, _resolve, _Target
from .truepeak import TruePeakMeter

if TYPE_CHECKING:
    from ..channels import ChannelLayout
    from ..io.probe import MediaInfo
    from ..io.writer import AudioWriter
    from ..transcode.cover import CoverArt
    from ..transcode.engine import BlockConsumer, BlockWorker

__all__ = ["CEILING_TOLERANCE_DB", "measure_file", "measure_files", "normalize_file", "output_options",
           "pass_block_frames"]

#: How far a decoded lossy file may peak over the ceiling before it is encoded again
#: from a lower limiter ceiling, dB.
CEILING_TOLERANCE_DB = 0.1
#: Most extra normalizations under a lowered ceiling.
CEILING_PASSES = 3


#: Decoder codec names -> the writer codec that re-creates them, where the extension allows it.
_SAME_CODEC = {"alac": "alac", "pcm_f32le": "pcm_f32le", "aac": "aac"}
#: Bit depths each lossless writer codec accepts (audiokit.io.writer).
_LOSSLESS_DEPTHS = {"pcm": (16, 24, 32), "flac": (16, 24), "alac": (16, 24)}
#: Writer encoder names -> the codec names tags and cover art are laid out for (:mod:`audiokit.transcode.encode`).
_SHORT_CODECS = {"libmp3lame": "mp3", "libopus": "opus"}
#: Codecs whose files carry an embedded picture.
_COVER_CODECS = ("flac", "mp3", "aac", "alac", "opus")


def output_options(info: MediaInfo, output_path: str | os.PathLike[str]) -> tuple[str | None, int | None, int | None]:
    """(codec, bit_depth, bitrate_bps) that keep a probed input's format where the output's extension allows.

    Parameters
    ----------
    info : MediaInfo
        The input, as :func:`audiokit.probe` reads it.
    output_path : str or os.PathLike

    Returns
    -------
    codec : str or None
        The input's codec if the output container takes it, else the
        container's default; None for an extension audiokit does not write
        (the writer then names the problem).
    bit_depth : int or None
        For lossless codecs: the input's depth, or the nearest the codec takes.
    bitrate_bps : int or None
        For lossy codecs from a lossy input: the input's bitrate (6-640 kbit/s).
    """
    from ..io.writer import FORMATS

    suffix = Path(os.fspath(output_path)).suffix.lower()
    allowed = FORMATS[suffix].codecs if suffix in FORMATS else ()
    codec = _SAME_CODEC.get(info.codec)
    codec = codec if codec in allowed else (allowed[0] if allowed else None)
    bit_depth = bitrate_bps = None
    if codec in _LOSSLESS_DEPTHS:
        depths = _LOSSLESS_DEPTHS[codec]
        depth = info.bit_depth or 16
        bit_depth = depth if depth in depths else min(depths, key=lambda d: (abs(d - depth), -d))
    elif codec is not None and codec != "pcm_f32le":
        bitrate_bps = _input_bitrate(info)
    return codec, bit_depth, bitrate_bps


def _input_bitrate(info: MediaInfo) -> int | None:
    """A lossy input's bitrate, within the writers' 6-640 kbit/s; None for a lossless one."""
    if info.bit_depth is not None or not info.bitrate_bps:
        return None
    return int(min(640_000, max(6000, info.bitrate_bps)))


def _short_codec(output_path: str | os.PathLike[str], codec: str | None) -> str:
    """The codec the output will have, named as the tag and cover-art writers name it."""
    from ..io.writer import _CODEC_ALIASES, FORMATS

    if codec is None:
        suffix = Path(os.fspath(output_path)).suffix.lower()
        codec = FORMATS[suffix].codecs[0] if suffix in FORMATS else ""
    name = _CODEC_ALIASES.get(codec.lower(), codec.lower())
    return _SHORT_CODECS.get(name, name)


def _cover_of(path: str | os.PathLike[str]) -> CoverArt | None:
    from ..transcode.cover import read_cover_art

    return read_cover_art(path)


def file_layout(info: MediaInfo) -> str | None:
    """The channel layout of a probed file for the meter; None (the default for its count) when unnamed."""
    return info.channel_layout if info.channel_layout in LAYOUTS else None


class _Feed:
    """A consumer that hands each block to ``add`` (a meter, a progress count); nothing to flush."""

    def __init__(self, add: Callable[[np.ndarray], object]) -> None:
        self._add = add

    def process(self, block: np.ndarray) -> None:
        """Hand the block on."""
        self._add(block)

    def flush(self) -> None:
        """Nothing is buffered: the owner reads its result after the pass."""


def _progress_feed(progress: Callable[[float], None] | None, sample_rate: int) -> list[_Feed]:
    """The consumers that report each block's seconds of audio to ``progress`` (none without it)."""
    if progress is None:
        return []
    return [_Feed(lambda block: progress(block.shape[1] / sample_rate))]


def pass_block_frames() -> int:
    """Frames per block of this module's passes: a block's float64 temporaries take half the engine's mmap threshold.

    A pass fixes glibc's mmap threshold (:data:`audiokit.transcode.engine.MMAP_THRESHOLD_BYTES`),
    so every allocation at least that large is mapped, faulted in page by
    page and unmapped each time. The meter and the limiter make several
    float64 arrays of a block's length per block: at 65,536 frames (512 KB
    each) a 3-minute stereo normalize took 0.86 million page faults and 2.1 s
    in the kernel, against 0.02 million and 0.2 s when the threshold floats.
    Blocks of this size keep those arrays on the heap.

    Returns
    -------
    int
        Frames per block.

    Examples
    --------
    >>> from audiokit.transcode.engine import MMAP_THRESHOLD_BYTES
    >>> pass_block_frames() * 8 * 2 == MMAP_THRESHOLD_BYTES
    True
    """
    from ..transcode.engine import MMAP_THRESHOLD_BYTES

    return MMAP_THRESHOLD_BYTES // (2 * np.dtype(np.float64).itemsize)


def _checked_block_frames(block_frames: int | None) -> int:
    if block_frames is None:
        return pass_block_frames()
    if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames < 1:
        raise ParameterError(f"block_frames is {block_frames!r}; expected a positive integer")
    return block_frames


def _meter_file(path: str | os.PathLike[str], channel_layout: ChannelLayout | None, block_frames: int | None,
                progress: Callable[[float], None] | None = None) -> LoudnessMeter:
    from ..io.reader import open as open_audio
    from ..transcode.engine import run_pass

    block_frames = _checked_block_frames(block_frames)
    with open_audio(path) as reader:
        layout = channel_layout if channel_layout is not None else file_layout(reader.info)
        if reader.sample_rate < MIN_SAMPLE_RATE:  # e.g. 1 or 6 kHz files: band-limited, so upsampling is exact
            reader = reader.resampled_to(MIN_SAMPLE_RATE)
        meter = LoudnessMeter(reader.sample_rate, reader.num_channels, channel_layout=layout)
        run_pass(reader.blocks(block_frames), [_Feed(meter.process), *_progress_feed(progress, reader.sample_rate)])
    return meter


class _Leveller:
    """The normalizing chain as a pass's consumer: gain, then (limit mode) the streaming limiter, then the sinks.

    Parameters
    ----------
    num_channels : int
    gain_db : float
        Applied to every source block (:func:`.normalize._apply_gain`).
    limiter : _LimiterStream or None
        Limit mode's limiter, fed the gained blocks; its output lags by its
        look-ahead, and :meth:`flush` drains it.
    sinks : sequence of BlockConsumer
        Each gets every non-empty output block (a fresh array, never written
        again, so a sink in another thread may keep it) and ``flush()``.
    """

    def __init__(self, num_channels: int, gain_db: float, limiter: _LimiterStream | None,
                 sinks: Sequence[BlockConsumer]) -> None:
        self._num_channels, self._gain_db, self.limiter, self._sinks = num_channels, gain_db, limiter, tuple(sinks)

    def process(self, block: np.ndarray) -> None:
        """Take one source block ``(channels, frames)``."""
        out = _apply_gain(block, self._gain_db)
        self._send(out if self.limiter is None else self.limiter.process(out))

    def flush(self) -> None:
        """Send the limiter's last frames, then flush every sink."""
        if self.limiter is not None:
            self._send(self.limiter.process(np.zeros((self._num_channels, 0), np.float32), final=True))
        for sink in self._sinks:
            sink.flush()

    def _send(self, out: np.ndarray) -> None:
        if out.shape[1]:
            for sink in self._sinks:
                sink.process(out)


def _write_blocks(writer: AudioWriter, blocks: Iterator[np.ndarray]) -> None:
    """A :class:`BlockWorker`'s work: encode every block of the pass (the pass's owner closes the writer)."""
    for block in blocks:
        writer.write(block)


def _run_encoding_pass(blocks: Iterator[np.ndarray], consumers: Sequence[BlockConsumer], worker: BlockWorker) -> None:
    """:func:`run_pass` feeding ``worker``; returns or raises only once the worker's thread has ended.

    The worker's error (e.g. :class:`~audiokit.errors.FormatError` from the
    encoder) is raised as it was raised in the thread; on an error anywhere
    the thread is waited for, so nothing writes the output after this returns.
    """
    from ..transcode.engine import run_pass

    try:
        run_pass(blocks, consumers, [worker])
    except BaseException:
        with contextlib.suppress(BaseException):  # cancelled, or the error already raising here
            worker.result()
        raise
    worker.result()


def measure_files(paths: Sequence[str | os.PathLike[str]], *, channel_layout: ChannelLayout | None = None,
                  block_frames: int | None = None) -> AlbumReport:
    """Measure files one by one and as one programme (album loudness), streamed.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
    channel_layout : str or sequence of str, optional
        Default: the layout each file names.
    block_frames : int, optional
        Frames decoded per block; default :func:`pass_block_frames`.

    Returns
    -------
    AlbumReport
        As :func:`measure_album` gives for the decoded files, in bounded memory.
    """
    return album_of([_meter_file(path, channel_layout, block_frames) for path in paths])


def measure_file(path: str | os.PathLike[str], *, channel_layout: ChannelLayout | None = None,
                 block_frames: int | None = None) -> LoudnessReport:
    """BS.1770 / EBU R128 measurements of a file, streamed block by block.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`audiokit.open` reads.
    channel_layout : str or sequence of str, optional
        Default: the layout the file names (:mod:`audiokit.channels`).
    block_frames : int, optional
        Frames decoded per block; memory does not grow with the duration.
        Default :func:`pass_block_frames`.

    Returns
    -------
    LoudnessReport
        Undefined values (silence, too short) are -inf; no warning is issued.
        A file below the K-weighting's lowest rate (8 kHz) is measured after
        upsampling to it (its content lies below 4 kHz, where the resampler
        passes it unchanged).

    Examples
    --------
    >>> from audiokit.loudness import measure_file
    >>> round(measure_file("examples/example.flac").integrated_lufs, 1)
    -13.7
    """
    return _meter_file(path, channel_layout, block_frames).report(warn=False)


def normalize_file(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *, preset: str | None = None, target_lufs: float | None = None,
                   true_peak_dbtp: float | None = None, mode: str | None = None,
                   channel_layout: ChannelLayout | None = None,
                   codec: str | None = None, bit_depth: int | None = None, bitrate_bps: int | None = None,
                   tags: dict[str, str] | None = None, cover_art: bool = True, match_level: bool = True,
                   block_frames: int | None = None,
                   progress: Callable[[float], None] | None = None) -> NormalizationReport:
    """Bring a file to a loudness target under a true-peak ceiling and write the result, block by block.

    Parameters
    ----------
    input_path, output_path : str or os.PathLike
        Any file :func:`audiokit.open` reads; the output's extension picks its
        container (see :func:`audiokit.write`). The output is written to a
        temporary name and renamed into place, so it may be the input itself.
    preset, target_lufs, true_peak_dbtp, mode, channel_layout
        As for :func:`.normalize.normalize`; the layout defaults to the one
        the input file names.
    codec, bit_depth, bitrate_bps
        As for :class:`audiokit.io.writer.AudioWriter`. Default: the input's
        codec, bit depth and bitrate where the output's extension allows them
        (:func:`output_options`); with ``codec`` the input's own lossy codec
        and no ``bitrate_bps``, the input's bitrate.
    tags : dict of str to str, optional
        Tags to write. Default: the input's, less those made stale by the
        change of level (ReplayGain, R128, encoder).
    cover_art : bool
        Carry the input's embedded picture over (FLAC, MP3, M4A, Ogg Opus).
    match_level : bool
        Decode the written file, measure it, and encode again with the
        difference as gain while a lossy codec left it more than 0.1 LU from
        the level it was given (:func:`.level_match.encode_at_level`).
    block_frames : int, optional
        Frames decoded per block; memory does not grow with the duration.
        Default :func:`pass_block_frames`.
    progress : callable(seconds), optional
        Called after each decoded block with the seconds of audio it held, in
        every pass: the input's measurement, each limiter pass (limit mode),
        each encode, and each written file decoded back to measure it. A file
        goes through 3 passes in headroom mode and usually 5 or 6 in limit
        mode; each extra encode of level matching adds 2.

    Returns
    -------
    NormalizationReport
        ``output`` is measured on the samples handed to the encoder;
        ``delivered`` on the written file as decoded.

    Raises
    ------
    FormatError
        If the input cannot be decoded or the output cannot be encoded.
    ParameterError
        For a bad option, or a non-finite sample in the input.

    Examples
    --------
    >>> from audiokit.loudness import normalize_file
    >>> report = normalize_file("examples/example.flac", "example.mp3", preset="podcast")
    >>> round(report.delivered.integrated_lufs, 1)
    -16.0
    """
    from ..io.reader import open as open_audio
    from ..io.writer import AudioWriter
    from ..transcode.encode import add_metadata_after_muxing, canonical_tags, muxer_metadata
    from ..transcode.engine import BlockWorker, run_pass

    target = _resolve(preset, target_lufs, true_peak_dbtp, mode)
    block_frames = _checked_block_frames(block_frames)
    with open_audio(input_path) as reader:
        info, sample_rate, num_channels = reader.info, reader.sample_rate, reader.num_channels
    layout = channel_layout if channel_layout is not None else file_layout(info)
    if codec is None and bit_depth is None and bitrate_bps is None:
        codec, bit_depth, bitrate_bps = output_options(info, output_path)
    elif bitrate_bps is None and codec is not None and _SHORT_CODECS.get(codec, codec) == info.codec:
        bitrate_bps = _input_bitrate(info)  # the input's codec named again: its bitrate too
    short_codec = _short_codec(output_path, codec)
    cover = _cover_of(info.path) if cover_art and short_codec in _COVER_CODECS else None
    metadata, freeform = muxer_metadata(canonical_tags(info.tags) if tags is None else dict(tags), short_codec, cover)
    counted = _progress_feed(progress, sample_rate)

    def source_pass(consumers: Sequence[BlockConsumer], encoder: BlockWorker | None = None) -> None:
        """Decode the input once, feeding ``consumers`` (and ``encoder``, through them) and the progress count."""
        with open_audio(input_path) as reader:
            if encoder is None:
                run_pass(reader.blocks(block_frames), [*consumers, *counted])
            else:
                _run_encoding_pass(reader.blocks(block_frames), [*consumers, *counted], encoder)

    def meter() -> LoudnessMeter:
        return LoudnessMeter(sample_rate, num_channels, channel_layout=layout)

    source = meter()
    source_pass([_Feed(source.process)])  # validates every sample once
    before = source.report(warn=False)
    settings = _settings(sample_rate, LOOKAHEAD_MS, HOLD_MS, RELEASE_MS)
    destination = Path(os.fspath(output_path))

    def normalize_to(target: _Target, destination: Path) -> NormalizationReport:
        """Find the gain (and limiter threshold) for ``target``, then encode to ``destination``, measure, match."""
        gain, iterate = _initial_gain(target, before.integrated_lufs, before.true_peak_dbtp)
        threshold = None  # the limiter's detector threshold, once limit mode has found the gain

        def leveller(gain_db: float, detector_threshold: float | None, sinks: Sequence[BlockConsumer]) -> _Leveller:
            limiter = (None if detector_threshold is None
                       else _LimiterStream(sample_rate, num_channels, detector_threshold, settings))
            return _Leveller(num_channels, gain_db, limiter, sinks)

        if target.mode == "limit":
            def run(gain_db: float) -> float:
                nonlocal threshold

                def attempt(detector_threshold: float) -> tuple[float, tuple[float, LoudnessMeter]]:
                    peaks, loudness = TruePeakMeter(sample_rate, num_channels), meter()

                    def measure(out: np.ndarray) -> None:
                        peaks._process_validated(out)
                        loudness._process_validated(out, with_peaks=False)

                    source_pass([leveller(gain_db, detector_threshold, [_Feed(measure)])])
                    return float(np.max(peaks.true_peak_dbtp)), (detector_threshold, loudness)

                threshold, loudness = _hold_ceiling(target.true_peak_dbtp, attempt)
                return _gated_loudness(loudness._gating_blocks(), RELATIVE_GATE_LU)[0]

            gain = _iterate_gain(gain, iterate, target, run)

        # What each encode handed over and what its file reads, by the extra gain it was made with.
        handed: dict[float, tuple[LoudnessReport, float, float]] = {}
        delivered: dict[float, LoudnessReport] = {}
        latest_gain_db = 0.0

        def encode(extra_gain_db: float, path: Path) -> float:
            """Write the normalized programme (``extra_gain_db`` on top) to ``path``; its loudness as handed over."""
            nonlocal latest_gain_db
            latest_gain_db = extra_gain_db
            output = meter()
            with AudioWriter(path, sample_rate, num_channels, codec=codec, bit_depth=bit_depth,
                             bitrate_bps=bitrate_bps, tags=metadata) as writer:
                encoder = BlockWorker(functools.partial(_write_blocks, writer), name=f"encode {path.name}")
                handed_meter = _Feed(functools.partial(output._process_validated, with_peaks=True))
                chain = leveller(gain + extra_gain_db, threshold, [handed_meter, encoder])
                source_pass([chain], encoder)
            add_metadata_after_muxing(path, short_codec, freeform, cover)
            limiter = chain.limiter
            reduction, fraction = (0.0, 0.0) if limiter is None else (limiter.max_reduction_db, limiter.limited_fraction)
            handed[extra_gain_db] = (output.report(warn=False), reduction, fraction)
            delivered[extra_gain_db] = _meter_file(path, layout, block_frames, progress).report(warn=False)
            return handed[extra_gain_db][0].integrated_lufs

        if match_level:
            match = encode_at_level(destination, encode, lambda path: delivered[latest_gain_db].integrated_lufs)
            kept = match.gain_db
        else:
            match, kept = None, 0.0
            encode(0.0, destination)
        output, reduction, fraction = handed[0.0]  # the normalized programme as meant; level_match has the rest
        return NormalizationReport(target.preset, target.target_lufs, target.true_peak_dbtp, target.mode, float(gain),
                                   reduction, fraction, before, output, delivered=delivered[kept], level_match=match)

    return _within_ceiling(normalize_to, target, destination) if match_level else normalize_to(target, destination)


def _within_ceiling(normalize_to: Callable[[_Target, Path], NormalizationReport], target: _Target,
                    destination: Path) -> NormalizationReport:
    """Normalize to ``destination``; while the decoded file peaks over the ceiling, again under a lower one.

    A lossy codec's output is not its input: the decoded file can peak over
    the ceiling the limiter held. Each retry limits under the ceiling by what
    the codec added and a margin (AES TD1004 asks for such headroom in lossy
    delivery), up to :data:`CEILING_PASSES` times. The encoder is not
    monotonic in its input, so every attempt is kept until a better one is made.
    """
    best = normalize_to(target, destination)
    candidates: list[Path] = []
    try:
        latest = best
        while len(candidates) < CEILING_PASSES and _overshoot_db(best, target) > CEILING_TOLERANCE_DB:
            added_db = _delivered(latest).true_peak_dbtp - (latest.encoder_ceiling_dbtp or target.true_peak_dbtp)
            ceiling = target.true_peak_dbtp - added_db - CEILING_TOLERANCE_DB
            candidate = destination.with_name(f".{destination.stem}.ceiling{len(candidates)}{destination.suffix}")
            candidates.append(candidate)
            latest = dataclasses.replace(normalize_to(dataclasses.replace(target, true_peak_dbtp=ceiling), candidate),
                                         true_peak_dbtp=target.true_peak_dbtp, encoder_ceiling_dbtp=ceiling)
            if _overshoot_db(latest, target) < _overshoot_db(best, target):
                os.replace(candidate, destination)
                best = latest
    finally:
        for candidate in candidates:
            candidate.unlink(missing_ok=True)
    return best


def _delivered(report: NormalizationReport) -> LoudnessReport:
    """The written file's measurements, which file-to-file normalization always makes."""
    if report.delivered is None:
        raise AssertionError("normalize_file's reports always carry the delivered measurements")
    return report.delivered


def _overshoot_db(report: NormalizationReport, target: _Target) -> float:
    """How far the delivered file peaks over the requested ceiling, dB."""
    return _delivered(report).true_peak_dbtp - target.true_peak_dbtp
