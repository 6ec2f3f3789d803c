"""``build_ladder``: one master in, every streaming rendition out, each checked.

Flow: decode the source once -> (optionally) normalize -> one master per
(rate, channels) pair the rungs need (BS.775 downmix, then one resample per
rate with audiokit's resampler) -> loudness of each master (for gain tags) ->
encode every rung concurrently in threads (PyAV releases the GIL while
encoding), with the source's tags and cover art (:mod:`.cover`); in the same
thread, decode the rendition back, measure it, give it its own gain tags and
run QA (:mod:`.qa`) -> HLS/DASH packaging of the renditions that passed ->
``ladder.json`` -> rename the staging folder into place.

A rendition that fails QA is left out (its file removed, its reasons kept in
``LadderResult.excluded``) and the ladder is ``degraded``; the others still
ship. Only a source that cannot be decoded (or bad parameters) raises.

Everything is written into a hidden staging folder beside ``out_dir`` and
renamed at the end: an error leaves nothing in ``out_dir``, and a complete
``out_dir`` is replaced only with ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import file_sha256, replace_dir
from ..audio import Audio
from ..channels import downmix
from ..errors import ParameterError
from .cover import CoverArt, read_cover_art
from .encode import canonical_tags, encode_audio, finish_rendition
from .gain import gain_tags, measure_loudness
from .normalize import normalize_master
from .presets import preset_rungs
from .qa import LOUDNESS_CHECK_MIN_BPS, QA_MODES, Reference, RenditionQA, check_rendition
from .rungs import ResolvedRung, Rung, load_rungs, parse_rungs, resolve_rung

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
    #: the source file (None when an Audio was passed)
    source: str | None
    #: preset name (None for custom rungs)
    preset: str | None
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
    #: "off", "fast" or "full" (see audiokit.transcode.qa.QA_MODES)
    qa_mode: str = "fast"
    #: renditions that failed QA, in rung order: not written, not packaged (their ``qa`` says why)
    excluded: tuple[Rendition, ...] = ()
    #: one line per thing left out: ``"<rung>: <failed check>"``, or why packaging was skipped
    degraded_reasons: tuple[str, ...] = ()

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
            "preset": self.preset,
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


def _requested_rungs(preset: str | None, rungs) -> tuple[str | None, tuple[Rung, ...]]:
    if rungs is None:
        if preset is None:
            raise ParameterError("pass a preset name or rungs=")
        return preset, preset_rungs(preset)
    if isinstance(rungs, (str, os.PathLike)):
        return None, load_rungs(rungs)
    return None, parse_rungs(list(rungs) if isinstance(rungs, tuple) else rungs)


def _load_source(source, source_info) -> tuple[Audio, str | None, dict, int | None, CoverArt | None]:
    """The decoded source, its path, canonical tags, integer bit depth and cover art.

    An :class:`Audio` source takes its tags and bit depth from ``source_info``
    (the MediaInfo of the file it was decoded from), when given, and its cover
    art from ``source_info.path``. The picture is read from the file whatever
    ``has_cover_art`` says (probe reports False for every file libsndfile opens).
    """
    from ..io import MediaInfo, probe, read

    if isinstance(source, Audio):
        audio, info = source, source_info
        if info is not None and not isinstance(info, MediaInfo):
            raise ParameterError(f"source_info is a {type(info).__name__}; expected audiokit.MediaInfo")
    elif isinstance(source, (str, os.PathLike)):
        info, audio = probe(source), read(source)
    else:
        raise ParameterError(f"source is a {type(source).__name__}; expected a file path or audiokit.Audio")
    if info is None:
        return audio, None, {}, None, None
    bit_depth = info.bit_depth if info.codec.startswith("pcm_s") or info.codec in _LOSSLESS_SOURCE_CODECS else None
    return audio, info.path, canonical_tags(info.tags), bit_depth, read_cover_art(info.path)


def _check_destination(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{out_dir}: exists and is not a folder; choose another out_dir")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ParameterError(f"{out_dir}: already holds a ladder; pass force=True (--force) to replace it")


def _masters(audio: Audio, resolved: list[ResolvedRung]) -> tuple[dict[tuple[int, int], np.ndarray], dict]:
    """One master per (rate, channels), and the gain each got, dB.

    Downmix first (fewer channels to resample), resample once per pair; a
    master over full scale is turned down to :data:`MASTER_PEAK_CEILING_DBFS`.
    """
    from ..io.resample import resample

    masters, gains = {}, {}
    for rung in resolved:
        key = (rung.sample_rate, rung.num_channels)
        if key in masters:
            continue
        mixed = downmix(audio.samples, rung.num_channels)
        master = mixed if rung.sample_rate == audio.sample_rate else resample(mixed, audio.sample_rate, rung.sample_rate)
        peak = float(np.abs(master).max(initial=0.0))
        gains[key] = 0.0
        if peak > 1.0:
            gains[key] = round(MASTER_PEAK_CEILING_DBFS - 20.0 * np.log10(peak), 4)
            master = (master * np.float32(10.0 ** (gains[key] / 20.0))).astype(np.float32)
        masters[key] = master
    return masters, gains


def _qa_mode(qa) -> str:
    if qa is True or qa is False:  # the earlier boolean form
        return "fast" if qa else "off"
    if qa not in QA_MODES:
        raise ParameterError(f"qa is {qa!r}; expected one of {', '.join(QA_MODES)}")
    return qa


def _encode(master: np.ndarray, resolved: ResolvedRung, path: Path, tags: dict, cover: CoverArt | None,
            master_lufs: float, level_match: bool) -> float:
    """Encode one rung's audio; with ``level_match``, AAC rungs off their master's loudness are re-encoded.

    The re-encoding is :func:`audiokit.loudness.encode_at_level`, the one
    implementation normalize uses too: decode, measure, encode again with the
    difference as gain, up to :data:`LEVEL_MATCH_PASSES` times, keeping the
    closest encode. Returns the gain of the encode kept, dB.
    """
    if not (level_match and resolved.rung.codec in _LEVEL_MATCH_CODECS
            and resolved.lossy_bitrate_bps >= LOUDNESS_CHECK_MIN_BPS and np.isfinite(master_lufs)):
        encode_audio(master, resolved, path, tags=tags, cover=cover)
        return 0.0
    from ..io import read
    from ..loudness.level_match import encode_at_level

    def encode(gain_db: float, destination: Path) -> float:
        samples = master if gain_db == 0.0 else master * np.float32(10.0 ** (gain_db / 20.0))
        encode_audio(samples, resolved, destination, tags=tags, cover=cover)
        return master_lufs  # the rendition should read its master's loudness

    def measure(candidate: Path) -> float:
        return measure_loudness(read(candidate).samples, resolved.sample_rate)[0]

    match = encode_at_level(path, encode, measure, tolerance_lu=LEVEL_MATCH_THRESHOLD_LU,
                            max_passes=LEVEL_MATCH_PASSES)
    return round(match.gain_db, 4)


def _make_rendition(master: np.ndarray, resolved: ResolvedRung, staging: Path, tags: dict, master_gains: dict,
                    master_loudness: tuple[float, float], master_gain_db: float, cover: CoverArt | None,
                    reference: Future | None, mode: str) -> Rendition:
    """Encode one rung, and (QA on) decode it back, measure it, tag it with its own gain and check it.

    Runs in an encoder thread: the decoded rendition never leaves it. The
    ``reference`` future is set by the calling thread once the master is analysed.
    """
    from ..io import probe, read

    path = staging / resolved.file_name
    written = {**tags, **master_gains}
    level_gain_db = _encode(master, resolved, path, written, cover, master_loudness[0], level_match=mode == "full")
    qa, final = None, written
    if reference is not None:
        decoded = read(path).samples
        loudness = measure_loudness(decoded, resolved.sample_rate)
        # Lossless renditions are their master (QA checks it bit for bit): its tags stand, no remux.
        own = {} if resolved.spec.lossless else gain_tags(*loudness, codec=resolved.rung.codec)
        final = {**tags, **(own or master_gains)}
        qa = check_rendition(decoded, reference.result(), resolved, measured_bitrate_bps=probe(path).bitrate_bps or 0,
                             mode=mode, loudness=loudness, gain_db=level_gain_db)
    finish_rendition(path, resolved, tags=final, written_tags=written, cover=cover)
    info = probe(path)
    return Rendition(
        name=resolved.rung.name,
        path=str(path.relative_to(staging)),
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
        master_gain_db=round(master_gain_db + level_gain_db, 4),
        has_cover_art=cover is not None,
        qa=qa,
    )


def build_ladder(source, out_dir, *, preset: str | None = "spotify-like", rungs=None, hls: bool = False,
                 dash: bool = False, normalize: str | None = None, force: bool = False, qa: str = "fast",
                 max_workers: int | None = None, source_info=None) -> LadderResult:
    """Encode every rendition of a ladder from one source, check each, and package them.

    Parameters
    ----------
    source : str, os.PathLike or Audio
        The master: any file :func:`audiokit.read` decodes, or samples in the
        default channel layout for their count.
    out_dir : str or os.PathLike
        Output folder; created (with its parents). Holds one file per rung
        that passed QA, ``ladder.json`` and, with ``hls``/``dash``, the
        playlists and segments.
    preset : str, optional
        ``"spotify-like"``, ``"hls-aac"`` or ``"podcast"`` (see
        :data:`~audiokit.transcode.presets.PRESETS`). Ignored when ``rungs`` is given.
    rungs : str, os.PathLike or sequence of Rung/dict, optional
        A custom ladder: a JSON file path or the rungs themselves (see
        :func:`~audiokit.transcode.rungs.parse_rungs`).
    hls, dash : bool
        Package the AAC rungs as CMAF segments with an HLS master playlist
        and/or a DASH manifest.
    normalize : str, optional
        Bake a loudness-normalized master first, e.g. ``"spotify"`` (a key of
        :data:`audiokit.loudness.PRESETS`); default: gain tags only.
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
        Encoder threads; default: the CPUs this process may run on.
    source_info : MediaInfo, optional
        For an :class:`~audiokit.Audio` source: what :func:`audiokit.probe`
        said of the file it was decoded from, so its tags, bit depth and cover
        art (read from ``source_info.path``) carry over without decoding it
        again (ingest decodes each track once).

    Returns
    -------
    LadderResult

    Raises
    ------
    FormatError
        If the source is corrupt or not audio (nothing is written).
    ParameterError
        For a bad preset, rung or qa mode, or an existing ``out_dir`` without ``force``.

    Examples
    --------
    >>> result = build_ladder("master.flac", "out/track", preset="spotify-like", hls=True)  # doctest: +SKIP
    >>> [(r.name, r.measured_bitrate_bps) for r in result.renditions], result.degraded    # doctest: +SKIP
    """
    mode = _qa_mode(qa)
    preset_name, requested = _requested_rungs(preset, rungs)
    out_dir = Path(os.fspath(out_dir))
    _check_destination(out_dir, force)
    audio, source_path, tags, bit_depth, cover = _load_source(source, source_info)
    if normalize is not None:
        audio = normalize_master(audio, preset=normalize)
    resolved = [resolve_rung(rung, source_rate=audio.sample_rate, source_channels=audio.num_channels,
                             source_bit_depth=bit_depth) for rung in requested]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        masters, master_gain_db = _masters(audio, resolved)
        loudness = {key: measure_loudness(master, key[0]) for key, master in masters.items()}
        # Set by this thread while the pool encodes; each rendition's thread waits for its master's.
        references: dict[tuple[int, int], Future] = {key: Future() for key in masters} if mode != "off" else {}
        with ThreadPoolExecutor(max_workers=max_workers or len(os.sched_getaffinity(0))) as pool:
            jobs = []
            for r in resolved:
                key = (r.sample_rate, r.num_channels)
                jobs.append(pool.submit(_make_rendition, masters[key], r, staging, tags,
                                        gain_tags(*loudness[key], codec=r.rung.codec), loudness[key],
                                        master_gain_db[key], cover, references.get(key), mode))
            for key, future in references.items():
                try:
                    future.set_result(Reference.of(masters[key], key[0], integrated_lufs=loudness[key][0],
                                                   true_peak_dbtp=loudness[key][1]))
                except BaseException as error:  # the waiting threads must not hang
                    future.set_exception(error)
            made = [future.result() for future in jobs]
        renditions = tuple(r for r in made if r.qa is None or r.qa.passed)
        excluded = tuple(r for r in made if r.qa is not None and not r.qa.passed)
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
        source_key = (audio.sample_rate, audio.num_channels)
        source_lufs = (loudness[source_key] if source_key in loudness and master_gain_db[source_key] == 0.0
                       else measure_loudness(audio.samples, audio.sample_rate))[0]
        result = LadderResult(
            out_dir=str(out_dir),
            source=source_path,
            preset=preset_name,
            rungs=requested,
            source_sample_rate=audio.sample_rate,
            source_num_channels=audio.num_channels,
            source_num_frames=audio.num_frames,
            source_integrated_lufs=float(source_lufs) if np.isfinite(source_lufs) else None,
            normalize=normalize,
            renditions=renditions,
            hls_master=hls_master,
            dash_manifest=dash_manifest,
            variants=variants,
            qa_mode=mode,
            excluded=excluded,
            degraded_reasons=tuple(reasons),
        )
        (staging / LADDER_MANIFEST).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result
