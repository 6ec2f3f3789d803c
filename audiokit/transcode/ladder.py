"""``build_ladder``: one source in, every streaming rendition out, each checked.

Flow (:mod:`.engine`): decode the source once, in blocks, and fan each block
out to the source's loudness meter and to one master chain per (rate,
channels) pair the rungs need (BS.775 downmix, then audiokit's streaming
resampler), which feeds that group's QA reference analysis and one encoder
thread per rung (a bounded queue each; PyAV releases the GIL while encoding)
with the source's tags and cover art (:mod:`.cover`). After the pass, each
encoder thread decodes its rendition back in blocks, measures it, gives it its
own gain tags and runs QA (:mod:`.qa`) -> HLS/DASH packaging of the renditions
that passed -> ``ladder.json`` -> rename the staging folder into place.

A gain that must be known before encoding costs a second streaming pass, never
the whole signal in memory: ``normalize=`` measures the source in a first pass;
a master over full scale (a hot 5.1 downmix), known only at the end of the pass,
has its group encoded again with headroom; ``qa="full"`` re-encodes an AAC rung
off its master's loudness, each time in a pass of its own.

A rendition that fails QA is left out (its file removed, its reasons kept in
``LadderResult.excluded``) and the ladder is ``degraded``; the others still
ship. Only a source that cannot be decoded (or bad parameters) raises.

Everything is written into a hidden staging folder beside ``out_dir`` and
renamed at the end: an error leaves nothing in ``out_dir``, and a complete
``out_dir`` is replaced only with ``force``.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import math
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._arrays import BLOCK_FRAMES
from .._files import file_sha256, replace_dir
from ..audio import Audio
from ..channels import ChannelLayout
from ..errors import FormatError, ParameterError
from ..io._packet_spill import MP4_INDEX_LOCK
from ..io.reader import AudioReader
from ..io.resample import output_length
from ..io.source import ArrayReader, AudioSource, open_source
from ..loudness import LoudnessMeter, LoudnessReport
from .cover import CoverArt, read_cover_art
from .encode import canonical_tags, encode_blocks, finish_rendition
from .engine import BlockConsumer, BlockWorker, MasterChain, run_pass
from .gain import ProgrammeLoudness, gain_tags
from .ladders import DEFAULT_LADDER, QA_MODES, ladder_rungs
from .normalize import apply_gain, check_normalize_preset, normalization_gain_db
from .qa import LOUDNESS_CHECK_MIN_BPS, Reference, ReferenceAnalysis, RenditionAnalysis, RenditionQA
from .rungs import ResolvedRung, Rung, RungsDocument, load_rungs, parse_rungs, resolve_rung

if TYPE_CHECKING:
    from ..io import MediaInfo

__all__ = ["LADDER_MANIFEST", "LadderResult", "Rendition", "build_ladder"]

#: Written last into the output folder: the result of :func:`build_ladder` as JSON.
LADDER_MANIFEST = "ladder.json"
#: ffmpeg's AAC encoder low-passes at low bitrates (about 12-15 kHz at 32 kbit/s per
#: channel), which lowered the loudness of real music by up to 0.37 LU at 64 kbit/s
#: stereo. Every QA'd rendition carries gain tags measured on itself, which makes up
#: for it; ``qa="full"`` also re-encodes AAC rungs more than this far off their master
#: with the difference as gain, so the samples themselves match.
LEVEL_MATCH_THRESHOLD_LU = 0.1
#: Most re-encodes of one rung while level matching.
LEVEL_MATCH_PASSES = 3
_LEVEL_MATCH_CODECS = ("aac",)
#: A master (the source downmixed, e.g. a hot 5.1 mix's BS.775 stereo) whose sample peak is over full
#: scale is turned down to this peak, dBFS, before encoding: encoders clip at full scale (ffmpeg's AAC
#: lost 0.4-0.7 LU that way). The gain tags, measured after, restore the level.
MASTER_PEAK_CEILING_DBFS = -1.0
#: Decoded frames a QA decode holds back until the rendition's exact length is known: more than an MP4 edit
#: list trims from the end (the AAC encoder's padding, under two 1024-frame packets).
_LENGTH_HOLDBACK_FRAMES = 8192
#: Codecs whose PyAV/ffmpeg sample formats are integers: source bit depth applies.
_LOSSLESS_SOURCE_CODECS = ("flac", "alac", "wavpack", "tta", "ape")


@dataclass(frozen=True)
class Rendition:
    """One encoded rendition and its QA measurements."""

    #: the rung's name
    name: str
    #: file path relative to the output folder
    path: str
    #: "opus", "aac", "mp3", "flac" or "alac"
    codec: str
    #: "ogg", "mp4", "mp3" or "flac"
    container: str
    #: target bitrate, bits per second, capped at the codec's limit for num_channels (None for lossless)
    bitrate_bps: int | None
    #: payload bitrate of the file, bits per second (container overhead excluded)
    measured_bitrate_bps: int
    #: Hz
    sample_rate: int
    #: channels
    num_channels: int
    #: integer bit depth of lossless renditions (None for lossy)
    bit_depth: int | None
    #: exact frames, at sample_rate (the source's duration at this rate)
    num_frames: int
    #: num_frames / sample_rate, seconds
    duration_s: float
    #: file size, bytes
    size_bytes: int
    #: SHA-256 of the file, hex
    sha256: str
    #: integrated loudness of the decoded rendition, LUFS (None when QA is off or undefined)
    integrated_lufs: float | None
    #: its true peak, dBTP (None when QA is off or undefined)
    true_peak_dbtp: float | None
    #: effective bandwidth against the source, Hz (None when QA is off)
    bandwidth_hz: float | None
    #: mean absolute log-mel difference from the source, dB (None when QA is off)
    mel_distance: float | None
    #: gain tags written (REPLAYGAIN_* or R128_TRACK_GAIN): measured on the rendition itself when QA ran,
    #: else on its master
    gain_tags: dict
    #: gain applied to the master before encoding, dB: headroom for a downmix over full scale, and with
    #: ``qa="full"`` an AAC rung's level match
    master_gain_db: float
    #: whether the source's cover art was embedded (False: the source had none)
    has_cover_art: bool
    #: every QA measurement and failure (None when QA is off)
    qa: RenditionQA | None

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (``qa`` nested)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["gain_tags"] = dict(self.gain_tags)
        out["qa"] = self.qa.to_dict() if self.qa is not None else None
        return out


@dataclass(frozen=True)
class LadderResult:
    """What :func:`build_ladder` made; ``to_dict()`` is what ``audiokit ladder --json`` prints."""

    #: the output folder
    out_dir: str
    #: the source file, as ``source_name`` gave it (None when an Audio was passed)
    source: str | None
    #: ladder name (see audiokit.transcode.ladders.LADDERS; None for custom rungs)
    ladder: str | None
    #: the rungs built, in order
    rungs: tuple[Rung, ...]
    #: source rate, Hz
    source_sample_rate: int
    #: source channels
    source_num_channels: int
    #: source frames
    source_num_frames: int
    #: integrated loudness of the (normalized) source, LUFS (None when undefined)
    source_integrated_lufs: float | None
    #: normalization preset applied before encoding (None: gain tags only)
    normalize: str | None
    #: the renditions, in rung order
    renditions: tuple[Rendition, ...]
    #: HLS master playlist, relative to out_dir (None without hls)
    hls_master: str | None
    #: DASH manifest, relative to out_dir (None without dash)
    dash_manifest: str | None
    #: packaged variants (empty without hls/dash)
    variants: tuple
    #: "off", "fast" or "full" (see audiokit.transcode.ladders.QA_MODES)
    qa_mode: str = "fast"
    #: renditions that failed QA, in rung order: not written, not packaged (their ``qa`` says why)
    excluded: tuple[Rendition, ...] = ()
    #: one line per thing left out: ``"<rung>: <failed check>"``, or why packaging was skipped
    degraded_reasons: tuple[str, ...] = ()
    #: the source's BS.1770 report (before normalization), measured in the encoding pass with its probed
    #: channel layout; not in :meth:`to_dict` (ingest writes it as its ``loudness`` section)
    source_loudness: LoudnessReport | None = field(default=None, compare=False)

    @property
    def degraded(self) -> bool:
        """True when something was left out (a rendition failed QA)."""
        return bool(self.degraded_reasons)

    @property
    def failures(self) -> tuple[str, ...]:
        """Every failed QA check, as ``"<rung>: <sentence>"``."""
        return tuple(f"{r.name}: {failure}" for r in self.excluded if r.qa for failure in r.qa.failures)

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return {
            "out_dir": self.out_dir,
            "source": self.source,
            "ladder": self.ladder,
            "rungs": [rung.to_dict() for rung in self.rungs],
            "source_sample_rate": self.source_sample_rate,
            "source_num_channels": self.source_num_channels,
            "source_num_frames": self.source_num_frames,
            "source_integrated_lufs": self.source_integrated_lufs,
            "normalize": self.normalize,
            "renditions": [rendition.to_dict() for rendition in self.renditions],
            "hls_master": self.hls_master,
            "dash_manifest": self.dash_manifest,
            "variants": [variant.to_dict() for variant in self.variants],
            "qa_mode": self.qa_mode,
            "degraded": self.degraded,
            "degraded_reasons": list(self.degraded_reasons),
            "excluded": [rendition.to_dict() for rendition in self.excluded],
        }


def _ladder_name(ladder: str | None, preset: str | None) -> str | None:
    """``ladder``, or the deprecated ``preset=`` spelling of it (with a FutureWarning)."""
    if preset is None:
        return ladder
    if ladder is not None:
        raise ParameterError(f"ladder={ladder!r} and preset={preset!r} were both given; preset= is the old name of "
                             "ladder=: pass ladder= only")
    warnings.warn("build_ladder(preset=) is deprecated: the named set of rungs is ladder= (a preset is a loudness "
                  "target, as in normalize=); pass ladder=", FutureWarning, stacklevel=3)
    return preset


def _requested_rungs(ladder: str | None,
                     rungs: str | os.PathLike[str] | RungsDocument | None) -> tuple[str | None, tuple[Rung, ...]]:
    if rungs is None:
        name = DEFAULT_LADDER if ladder is None else ladder
        return name, ladder_rungs(name)
    if ladder is not None:
        raise ParameterError(f"ladder={ladder!r} and rungs= were both given; pass one of them")
    if isinstance(rungs, (str, os.PathLike)):
        return None, load_rungs(rungs)
    return None, parse_rungs(list(rungs) if isinstance(rungs, tuple) else rungs)


@dataclass(frozen=True)
class _Source:
    """The source as the passes read it: a streaming reader and what travels with it."""

    #: AudioReader or ArrayReader; ``blocks()`` decodes again on each call
    reader: AudioReader | ArrayReader
    #: the file (None for an Audio without source_info)
    path: str | None
    #: canonical tags
    tags: dict
    #: integer bit depth of a PCM/lossless source, else None
    bit_depth: int | None
    #: the source's picture
    cover: CoverArt | None
    #: probed channel layout (None: the default for the channel count)
    layout: ChannelLayout | None


def _open_source(source: AudioSource, source_info: MediaInfo | None) -> _Source:
    """The source's reader, path, canonical tags, integer bit depth, cover art and channel layout.

    An :class:`Audio` source takes its tags, bit depth and layout from
    ``source_info`` (the MediaInfo of the file it was decoded from), when
    given, and its cover art from ``source_info.path``. The picture is read
    from the file whatever ``has_cover_art`` says (probe reports False for
    every file libsndfile opens).
    """
    from ..io import MediaInfo

    if not isinstance(source, (Audio, str, os.PathLike)):
        raise ParameterError(f"source is a {type(source).__name__}; expected a file path or audiokit.Audio")
    if source_info is not None and not isinstance(source_info, MediaInfo):
        raise ParameterError(f"source_info is a {type(source_info).__name__}; expected audiokit.MediaInfo")
    reader = open_source(source)
    info = reader.info if isinstance(reader, AudioReader) else source_info
    if info is None:
        return _Source(reader, None, {}, None, None, None)
    bit_depth = info.bit_depth if info.codec.startswith("pcm_s") or info.codec in _LOSSLESS_SOURCE_CODECS else None
    return _Source(reader, info.path, canonical_tags(info.tags), bit_depth, read_cover_art(info.path),
                   info.channel_layout or None)


def _check_destination(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{out_dir}: exists and is not a folder; choose another out_dir")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ParameterError(f"{out_dir}: already holds a ladder; pass force=True (--force) to replace it")


def _qa_mode(qa: str | bool) -> str:
    if qa is True or qa is False:  # the earlier boolean form
        return "fast" if qa else "off"
    if qa not in QA_MODES:
        raise ParameterError(f"qa is {qa!r}; expected one of {', '.join(QA_MODES)}")
    return qa


def _headroom_gain_db(peak: float) -> float:
    """Gain that brings a master whose sample peak is ``peak`` (> 1) to :data:`MASTER_PEAK_CEILING_DBFS`."""
    return round(MASTER_PEAK_CEILING_DBFS - 20.0 * math.log10(peak), 4)


def _whole_decode(resolved: ResolvedRung) -> contextlib.AbstractContextManager:
    """What a whole decode of the rung's file holds: MP4's lock (its demuxer reads the whole sample index).

    One MP4 index at a time (:data:`~audiokit.io._packet_spill.MP4_INDEX_LOCK`): a rendition decoded
    back does not hold its index while another AAC rendition's muxer holds its own.
    """
    return MP4_INDEX_LOCK if resolved.spec.container == "mp4" else contextlib.nullcontext()


def _file_loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file, decoded in blocks."""
    with open_source(path) as reader:
        programme = ProgrammeLoudness(reader.sample_rate, reader.num_channels)
        for block in reader.blocks(BLOCK_FRAMES):
            programme.process(block)
    return programme.flush()


class _Collect:
    """A sink that keeps the blocks it is given until :meth:`take`."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []

    def process(self, block: np.ndarray) -> None:
        self._blocks.append(block)

    def flush(self) -> None:
        """Nothing buffered beyond the kept blocks."""

    def take(self) -> list[np.ndarray]:
        blocks, self._blocks = self._blocks, []
        return blocks


class _Feed:
    """A sink that hands each block to ``add`` (a meter or QA analysis, read by its owner after the pass)."""

    def __init__(self, add: Callable[[np.ndarray], Any]) -> None:
        self.process = add

    def flush(self) -> None:
        """Nothing to do: the owner reads the result."""


@dataclass(frozen=True)
class _GroupOutcome:
    """What a pass found about one (rate, channels) master, for the threads of its rungs."""

    #: the master went over full scale: this pass's encodes are discarded and the group is encoded again
    redo: bool
    #: the master's loudness, peaks and (QA on) spectra
    reference: Reference
    #: gain the master was given before encoding, dB (headroom for a downmix over full scale)
    gain_db: float


class _Ladder:
    """One build: the source, the staging folder, the settings, and the passes over the source."""

    def __init__(self, source: _Source, staging: Path, mode: str, source_gain_db: float | None,
                 max_workers: int) -> None:
        self.source, self.staging, self.mode = source, staging, mode
        #: normalization gain applied to every source block (None: no normalization)
        self.source_gain_db = source_gain_db
        #: bounds the threads decoding renditions back at once (the encoders all run during the pass)
        self.after_pass = threading.Semaphore(max_workers)

    def source_blocks(self) -> Iterator[np.ndarray]:
        """The source (normalized if asked), decoded again in blocks."""
        blocks = self.source.reader.blocks(BLOCK_FRAMES)
        if self.source_gain_db is None:
            return blocks
        gain_db = self.source_gain_db
        return (apply_gain(block, gain_db) for block in blocks)

    def chain(self, key: tuple[int, int], sinks: Sequence[BlockConsumer], gain_db: float) -> MasterChain:
        reader = self.source.reader
        return MasterChain(reader.sample_rate, reader.num_channels, key[0], key[1], sinks, gain_db=gain_db,
                           layout=self.source.layout)

    def master_blocks(self, key: tuple[int, int], gain_db: float) -> Iterator[np.ndarray]:
        """One master alone, streaming (a rung's re-encode: its own pass in its own thread)."""
        collected = _Collect()
        chain = self.chain(key, [collected], gain_db)
        for block in self.source_blocks():
            chain.process(block)
            yield from collected.take()
        chain.flush()
        yield from collected.take()

    def encode_groups(self, groups: dict[tuple[int, int], list[ResolvedRung]], gains: dict[tuple[int, int], float],
                      source_meter: LoudnessMeter | None, riders: Sequence[BlockConsumer] = (),
                      ) -> dict[tuple[int, int], tuple[list, Reference]]:
        """One pass: encode every rung of ``groups`` from masters with ``gains``; the source meter and ``riders`` ride along.

        Returns, by group, its rungs' renditions (None for each when the group
        must be encoded again: its master went over full scale) and its master's reference.
        """
        reader = self.source.reader
        outcomes: dict[tuple[int, int], Future] = {key: Future() for key in groups}
        analyses, chains, workers = {}, {}, {}
        for key, rungs in groups.items():
            analyses[key] = ReferenceAnalysis(
                key[0], key[1], expected_frames=output_length(reader.num_frames, reader.sample_rate, key[0]),
                mode=self.mode, bit_depths=tuple(r.bit_depth for r in rungs if r.bit_depth))
            workers[key] = [BlockWorker(functools.partial(self._make_rendition, r, outcomes[key]),
                                        name=f"encode-{r.rung.name}") for r in rungs]
            chains[key] = self.chain(key, [_Feed(analyses[key].add), *workers[key]], gains[key])
        every_worker = [worker for group in workers.values() for worker in group]
        consumers = ([_Feed(source_meter.process)] if source_meter is not None else []) + [*riders, *chains.values()]
        try:
            run_pass(self.source_blocks(), consumers, every_worker)
            references = {key: analysis.finish() for key, analysis in analyses.items()}
            for key, reference in references.items():
                outcomes[key].set_result(_GroupOutcome(redo=reference.sample_peak > 1.0 and gains[key] == 0.0,
                                                       reference=reference, gain_db=gains[key]))
        except BaseException as error:  # no thread may wait forever for its group's outcome
            for future in outcomes.values():
                if not future.done():
                    future.set_exception(error)
            for worker in every_worker:
                worker.cancel()
            for worker in every_worker:  # wait for them: their files must be closed before staging is removed
                with contextlib.suppress(BaseException):
                    worker.result()
            raise
        outcomes_by_worker: dict[BlockWorker, Rendition | None] = {}
        failure: BaseException | None = None
        for worker in every_worker:  # all of them, even after a failure: none may still write into staging
            try:
                outcomes_by_worker[worker] = worker.result()
            except BaseException as error:
                failure = failure or error
        if failure is not None:
            raise failure
        return {key: ([outcomes_by_worker[worker] for worker in workers[key]], references[key]) for key in groups}

    def _make_rendition(self, resolved: ResolvedRung, outcome: Future, blocks: Iterator[np.ndarray]) -> Rendition | None:
        """Encode one rung from the pass's blocks; after the pass, check it, tag it and describe it.

        Runs in the rung's encoder thread. Returns None when the group's master
        went over full scale (the group is encoded again).
        """
        path = self.staging / resolved.file_name
        tags, cover = self.source.tags, self.source.cover
        encode_blocks(blocks, resolved, path, tags=tags, cover=cover)
        group: _GroupOutcome = outcome.result()
        if group.redo:
            return None
        with self.after_pass:
            return self._check_and_tag(resolved, path, group)

    def _check_and_tag(self, resolved: ResolvedRung, path: Path, group: _GroupOutcome) -> Rendition:
        from ..io import probe

        tags, cover, reference = self.source.tags, self.source.cover, group.reference
        master_gains = gain_tags(reference.integrated_lufs, reference.true_peak_dbtp, codec=resolved.rung.codec)
        level_gain_db = 0.0
        if self.mode == "full":
            level_gain_db = self._match_level(resolved, path, group)
        qa, final, info = None, {**tags, **master_gains}, None
        if self.mode != "off":
            analysis = RenditionAnalysis(reference, resolved, mode=self.mode)
            with _whole_decode(resolved):
                info = _decode_into(path, analysis.add)
            qa = analysis.finish(measured_bitrate_bps=info.bitrate_bps or 0, gain_db=level_gain_db)
            # Lossless renditions are their master (QA checks it bit for bit): the master's tags stand.
            if not resolved.spec.lossless:
                own = gain_tags(_or_inf(qa.integrated_lufs), _or_inf(qa.true_peak_dbtp), codec=resolved.rung.codec)
                final = {**tags, **(own or master_gains)}
        finish_rendition(path, resolved, tags=final, written_tags=tags, cover=cover)
        # Retagging copies the packets unchanged (or adds MP4 atoms beside them): the decode's length, rate,
        # channels and payload bitrate still hold. Without QA, probing is the one decode.
        info = info or probe(path)
        return Rendition(
            name=resolved.rung.name,
            path=str(path.relative_to(self.staging)),
            codec=resolved.rung.codec,
            container=resolved.spec.container,
            bitrate_bps=resolved.bitrate_bps,
            measured_bitrate_bps=int(info.bitrate_bps or 0),
            sample_rate=info.sample_rate,
            num_channels=info.num_channels,
            bit_depth=resolved.bit_depth,
            num_frames=info.num_frames,
            duration_s=info.duration_s,
            size_bytes=path.stat().st_size,
            sha256=file_sha256(path),
            integrated_lufs=qa.integrated_lufs if qa else None,
            true_peak_dbtp=qa.true_peak_dbtp if qa else None,
            bandwidth_hz=qa.bandwidth_hz if qa else None,
            mel_distance=qa.mel_distance_db if qa else None,
            gain_tags={key: value for key, value in final.items() if key.isupper()},
            master_gain_db=round(group.gain_db + level_gain_db, 4),
            has_cover_art=cover is not None,
            qa=qa,
        )

    def _match_level(self, resolved: ResolvedRung, path: Path, group: _GroupOutcome) -> float:
        """``qa="full"``: re-encode an AAC rung off its master's loudness; the gain of the encode kept, dB.

        The re-encoding is :func:`audiokit.loudness.encode_at_level`, the one
        implementation normalize uses too: decode, measure, encode again with
        the difference as gain, up to :data:`LEVEL_MATCH_PASSES` times,
        keeping the closest encode. Each re-encode is a streaming pass of its
        own over the source (this group's master only), in this thread.
        """
        master_lufs = group.reference.integrated_lufs
        if not (resolved.rung.codec in _LEVEL_MATCH_CODECS and resolved.lossy_bitrate_bps >= LOUDNESS_CHECK_MIN_BPS
                and math.isfinite(master_lufs)):
            return 0.0
        from ..loudness.level_match import encode_at_level

        key = (resolved.sample_rate, resolved.num_channels)

        def encode(gain_db: float, destination: Path) -> float:
            if gain_db != 0.0 or destination != path:  # the first encode is the one the shared pass wrote
                blocks = (apply_gain(block, gain_db) for block in self.master_blocks(key, group.gain_db))
                encode_blocks(blocks, resolved, destination, tags=self.source.tags, cover=self.source.cover)
            return master_lufs  # the rendition should read its master's loudness

        def measure(candidate: Path) -> float:
            with _whole_decode(resolved):
                return _file_loudness(candidate)[0]

        match = encode_at_level(path, encode, measure, tolerance_lu=LEVEL_MATCH_THRESHOLD_LU,
                                max_passes=LEVEL_MATCH_PASSES)
        return round(match.gain_db, 4)


def _decode_into(path: Path, add: Callable[[np.ndarray], Any]) -> MediaInfo:
    """Decode a rendition once, handing its blocks to ``add``; what :func:`audiokit.probe` says of it.

    Probing and reading share the one decode
    (:func:`audiokit.io.probe.probe_decoding`; every rendition's codec is one
    PyAV decodes). The exact length is known only at the end (an MP4 edit
    list's end trims the AAC padding), so the last
    :data:`_LENGTH_HOLDBACK_FRAMES` decoded frames wait for it.
    """
    from ..io._containers import frame_to_float
    from ..io.probe import probe_decoding

    held = _HeldBack(path, add)
    info = probe_decoding(path, lambda frame: held.process(frame_to_float(frame)))
    held.finish(info.num_frames)
    return info


class _HeldBack:
    """Passes decoded chunks on in blocks of BLOCK_FRAMES, holding back the last frames until the length is known.

    The decoder's chunks are checked finite as :func:`audiokit.io.read` checks them.
    """

    def __init__(self, path: Path, add: Callable[[np.ndarray], Any]) -> None:
        self._path, self._add = path, add
        self._parts: collections.deque[np.ndarray] = collections.deque()
        self._frames = 0
        self._passed = 0

    def process(self, chunk: np.ndarray) -> None:
        if not np.isfinite(chunk).all():
            raise FormatError(f"{self._path}: decoding gave NaN or infinite samples near frame "
                              f"{self._passed + self._frames}; the rendition is corrupt: build the ladder again")
        self._parts.append(chunk)
        self._frames += chunk.shape[1]
        if self._frames >= _LENGTH_HOLDBACK_FRAMES + BLOCK_FRAMES:
            self._pass(BLOCK_FRAMES)

    def _pass(self, frames: int) -> None:
        """Join the first ``frames`` held frames (only the chunks they span) and pass them on."""
        taken, count = [], 0
        while count < frames:
            part = self._parts.popleft()
            taken.append(part)
            count += part.shape[1]
        if count > frames:  # the last chunk straddles the cut: its rest stays first in line
            self._parts.appendleft(taken[-1][:, frames - count:])
            taken[-1] = taken[-1][:, :frames - count]
        self._add(taken[0] if len(taken) == 1 else np.concatenate(taken, axis=1))
        self._frames -= frames
        self._passed += frames

    def finish(self, num_frames: int) -> None:
        """Pass on what is held, up to ``num_frames`` in all."""
        if num_frames < self._passed:
            raise FormatError(f"{self._path}: its edit list trims the decode to {num_frames} frames, more than "
                              f"the {_LENGTH_HOLDBACK_FRAMES} held back for it; the rendition is corrupt: build "
                              "the ladder again")
        rest = min(num_frames - self._passed, self._frames)
        while rest:
            self._pass(min(rest, BLOCK_FRAMES))
            rest = min(num_frames - self._passed, self._frames)
        self._parts.clear()
        self._frames = 0


def _or_inf(value: float | None) -> float:
    return -math.inf if value is None else value


def build_ladder(source: AudioSource, out_dir: str | os.PathLike[str], *, ladder: str | None = None,
                 rungs: str | os.PathLike[str] | RungsDocument | None = None, hls: bool = False,
                 dash: bool = False, normalize: str | None = None, force: bool = False, qa: str = "fast",
                 max_workers: int | None = None, source_info: MediaInfo | None = None,
                 consumers: Sequence[BlockConsumer] = (), source_name: str | None = None,
                 preset: str | None = None) -> LadderResult:
    """Encode every rendition of a ladder from one source, check each, and package them.

    The source is decoded in blocks and streamed to every encoder at once
    (:mod:`.engine`): memory is set by the block size and queue depth, not by
    the duration.

    Parameters
    ----------
    source : str, os.PathLike or Audio
        The master: any file :func:`audiokit.read` decodes, or samples in the
        default channel layout for their count.
    out_dir : str or os.PathLike
        Output folder; created (with its parents). Holds one file per rung
        that passed QA, ``ladder.json`` and, with ``hls``/``dash``, the
        playlists and segments.
    ladder : str, optional
        A named ladder: ``"spotify-like"``, ``"hls-aac"`` or ``"podcast"``
        (see :data:`~audiokit.transcode.ladders.LADDERS`). Default:
        ``"spotify-like"``, unless ``rungs`` is given.
    rungs : str, os.PathLike or sequence of Rung/dict, optional
        A custom ladder instead of a named one: a JSON file path or the rungs
        themselves (see :func:`~audiokit.transcode.rungs.parse_rungs`).
    hls, dash : bool
        Package the AAC rungs as CMAF segments with an HLS master playlist
        and/or a DASH manifest.
    normalize : str, optional
        Bake a loudness-normalized master first, e.g. ``"spotify"`` (a key of
        :data:`audiokit.loudness.PRESETS`): a first streaming pass measures
        the source, the second encodes with the gain. Default: gain tags only.
    force : bool
        Replace an existing, non-empty ``out_dir``.
    qa : {"fast", "full", "off"}
        ``fast``: each rendition is decoded back in its encoder thread,
        measured (its gain tags are its own) and checked (:mod:`.qa`).
        ``full``: as fast, with the offset checked across the whole track and
        AAC rungs re-encoded until their level matches the master's.
        ``off``: no decode; gain tags from the master; QA fields None.
        A rendition that fails is left out and the result is ``degraded``.
        (``True``/``False`` mean ``"fast"``/``"off"``.)
    max_workers : int, optional
        Renditions decoded back and checked at once after the pass (every
        rung has its own encoder thread during the pass); default: the CPUs
        this process may run on.
    source_info : MediaInfo, optional
        For an :class:`~audiokit.Audio` source: what :func:`audiokit.probe`
        said of the file it was decoded from, so its tags, bit depth, channel
        layout and cover art (read from ``source_info.path``) carry over.
    consumers : sequence of BlockConsumer, optional
        More consumers of the encoding pass (:class:`~.engine.BlockConsumer`:
        ``process(block)`` for each ``(channels, frames)`` float32 block of the
        source, as the source meter sees it, then ``flush()``): waveform
        peaks, a fingerprint, a progress count, ... fed without decoding
        the source again. They see the pass once, even when a hot group is
        encoded again.
    source_name : str, optional
        What the result and ``ladder.json`` call a file source (``"<stdin>"``
        for a spooled stdin); default: its path.
    preset : str, optional
        Deprecated spelling of ``ladder`` (a *preset* is a loudness target, as
        in ``normalize``): it works, with a ``FutureWarning``.

    Returns
    -------
    LadderResult

    Raises
    ------
    FormatError
        If the source is corrupt or not audio (nothing is written).
    ParameterError
        For an unknown ladder (the message lists them), a bad rung or qa mode, ``ladder`` with ``rungs`` or
        ``preset``, or an existing ``out_dir`` without ``force``.

    Examples
    --------
    >>> result = build_ladder("examples/example.flac", "out/track", ladder="hls-aac", hls=True, qa="off")
    >>> [(r.name, r.sample_rate) for r in result.renditions], result.hls_master
    ([('aac-64', 48000), ('aac-96', 48000), ('aac-160', 48000)], 'master.m3u8')
    """
    mode = _qa_mode(qa)
    ladder_name, requested = _requested_rungs(_ladder_name(ladder, preset), rungs)
    if normalize is not None:
        check_normalize_preset(normalize)
    out_dir = Path(os.fspath(out_dir))
    _check_destination(out_dir, force)
    src = _open_source(source, source_info)
    reader = src.reader
    resolved = [resolve_rung(rung, source_rate=reader.sample_rate, source_channels=reader.num_channels,
                             source_bit_depth=src.bit_depth) for rung in requested]
    groups: dict[tuple[int, int], list[ResolvedRung]] = {}
    for rung in resolved:
        groups.setdefault((rung.sample_rate, rung.num_channels), []).append(rung)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        def source_meter() -> LoudnessMeter:
            return LoudnessMeter(reader.sample_rate, reader.num_channels, channel_layout=src.layout)

        encoder = _Ladder(src, staging, mode, None, max_workers or len(os.sched_getaffinity(0)))
        source_loudness = None
        if normalize is not None:  # a first pass measures the source; the encoding pass applies the gain
            meter = source_meter()
            run_pass(encoder.source_blocks(), [_Feed(meter.process)])
            source_loudness = meter.report(warn=False)
            encoder.source_gain_db = normalization_gain_db(source_loudness, preset=normalize)
        meter = source_meter()
        made = encoder.encode_groups(groups, dict.fromkeys(groups, 0.0), meter, consumers)
        encoded_source = meter.report(warn=False)
        hot = {key: _headroom_gain_db(reference.sample_peak) for key, (_, reference) in made.items()
               if reference.sample_peak > 1.0}
        if hot:  # known only at the end of the pass: those groups are encoded again, turned down
            made.update(encoder.encode_groups({key: groups[key] for key in hot}, hot, None))
        by_name = {r.name: r for group, _ in made.values() for r in group}
        made_in_order = [by_name[r.rung.name] for r in resolved]
        renditions = tuple(r for r in made_in_order if r.qa is None or r.qa.passed)
        excluded = tuple(r for r in made_in_order if r.qa is not None and not r.qa.passed)
        reasons = [f"{r.name}: {failure}" for r in excluded if r.qa is not None for failure in r.qa.failures]
        for rendition in excluded:
            (staging / rendition.path).unlink()
        variants: tuple = ()
        hls_master = dash_manifest = None
        if hls or dash:
            from .packaging import PACKAGED_CODECS, package, write_dash, write_hls

            shipped = {r.name for r in renditions}
            packaged = [(r, staging / r.file_name) for r in resolved if r.rung.name in shipped]
            if any(r.rung.codec in PACKAGED_CODECS for r, _ in packaged) or not excluded:
                variants = package(packaged, staging)
                hls_master = write_hls(variants, staging) if hls else None
                dash_manifest = write_dash(variants, staging) if dash else None
            else:
                reasons.append("packaging: no rendition that HLS/DASH carries passed QA")
        source_lufs = encoded_source.integrated_lufs
        result = LadderResult(
            out_dir=str(out_dir),
            source=src.path if source_name is None or src.path is None else source_name,
            ladder=ladder_name,
            rungs=requested,
            source_sample_rate=reader.sample_rate,
            source_num_channels=reader.num_channels,
            source_num_frames=reader.num_frames,
            source_integrated_lufs=float(source_lufs) if np.isfinite(source_lufs) else None,
            normalize=normalize,
            renditions=renditions,
            hls_master=hls_master,
            dash_manifest=dash_manifest,
            variants=variants,
            qa_mode=mode,
            excluded=excluded,
            degraded_reasons=tuple(reasons),
            source_loudness=source_loudness or encoded_source,
        )
        (staging / LADDER_MANIFEST).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result
