"""``audiokit ingest`` for many inputs: the executor (see executors.py), the catalog, the summary."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import InitVar, dataclass, field
from pathlib import Path

from .._version import __version__
from ..errors import ParameterError
from ..io.probe import check_max_duration
from ..transcode.ladders import DEFAULT_LADDER, QA_MODES, ladder_rungs
from .catalog import Catalog
from .discover import discover_inputs
from .executors import EXECUTORS, run_local
from .manifest import read_manifest
from .ray_executor import run_ray
from .stages import resolve_stages
from .track import RUN_GUARD_STAGES, TrackResult, check_track_timeout

__all__ = ["BatchSummary", "IngestOptions", "ingest"]


@dataclass(frozen=True)
class IngestOptions:
    """Settings of one ingest run.

    ``preset=`` is the deprecated spelling of ``ladder=``: it works, with a
    ``FutureWarning``; a ``ladder`` other than the default beside it is a
    ParameterError.
    """

    #: the named ladder built for each track (audiokit.transcode.ladders.LADDERS)
    ladder: str = DEFAULT_LADDER
    #: also package HLS
    hls: bool = False
    #: also package DASH
    dash: bool = False
    #: "core", "all", or a comma-separated list of stage names
    stages: str = "core"
    #: rendition QA: "fast", "full" or "off" (see audiokit.transcode.build_ladder)
    qa: str = "fast"
    #: refuse inputs longer than this, seconds, before decoding them (None: no limit). A guard of the run,
    #: not a setting of the track: it is not part of the track id, and its refusals are not remembered
    max_duration_s: float | None = None
    #: a track's time limit, seconds, counted from its claim (None: max(600 s, 10 x its duration); math.inf:
    #: none). A guard of the run like ``max_duration_s``: not part of the track id, and a timeout (which
    #: depends on the machine's load) is not remembered
    track_timeout_s: float | None = None
    #: deprecated spelling of ``ladder`` (not a field: ``IngestOptions(preset=...)`` sets ``ladder``)
    preset: InitVar[str | None] = None

    def __post_init__(self, preset: str | None) -> None:
        if preset is None:
            return
        if self.ladder != DEFAULT_LADDER:
            raise ParameterError(f"IngestOptions got ladder={self.ladder!r} and preset={preset!r}; preset= is the "
                                 "old name of ladder=: pass ladder= only")
        warnings.warn("IngestOptions(preset=) is deprecated: the named set of rungs is ladder= (a preset is a "
                      "loudness target); pass ladder=", FutureWarning, stacklevel=3)
        object.__setattr__(self, "ladder", preset)

    def track_settings(self) -> dict:
        """The settings that shape a track's outputs (part of its identity; ``max_duration_s`` is not)."""
        if self.qa not in QA_MODES:
            raise ParameterError(f"qa is {self.qa!r}; expected one of {', '.join(QA_MODES)}")
        ladder_rungs(self.ladder)  # an unknown ladder fails here, naming the ladders, before any track starts
        # The key stays "preset" although the option is now called ladder: these settings are hashed into
        # every track id, and renaming the key would give every existing track a new id (and rebuild it).
        return {"preset": self.ladder, "hls": self.hls, "dash": self.dash,
                "stages": [stage.name for stage in resolve_stages(self.stages)], "qa": self.qa,
                "audiokit_version": __version__}


@dataclass(frozen=True)
class BatchSummary:
    """The outcome of an ingest run."""

    #: one result per input, in input order
    results: tuple[TrackResult, ...]
    #: wall-clock seconds for the whole batch
    seconds: float
    #: counts by status
    counts: dict = field(default_factory=dict)

    #: one-line notes for the user (e.g. a kernel cache repaired before the workers started)
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        """Inputs that failed (remembered failures included)."""
        return self.counts.get("failed", 0)

    @property
    def degraded(self) -> int:
        """Tracks that shipped with a rendition left out (counted under their status too)."""
        return sum(result.degraded for result in self.results)

    def to_dict(self) -> dict:
        """JSON-ready: counts, degraded count, every failure with its stage, notes, every result."""
        return {"seconds": round(self.seconds, 3), "counts": self.counts, "degraded": self.degraded,
                "failures": [{"input_path": r.input_path, "stage": r.stage, "error": r.error,
                              "remembered": r.remembered} for r in self.results if r.status == "failed"],
                "notes": list(self.notes), "results": [result.to_dict() for result in self.results]}


def ingest(inputs: str | os.PathLike[str] | Sequence[str], out_dir: str | os.PathLike[str],
           options: IngestOptions = IngestOptions(), *, jobs: int | None = None,
           force: bool = False, retry_failed: bool = False,
           on_result: Callable[[TrackResult, int, int], None] | None = None,
           on_note: Callable[[str], None] | None = None,
           executor: str = "local", address: str | None = None, ray_num_cpus: float = 1.0,
           gpus_per_model: float = 0.0, model_actors: int | None = None) -> BatchSummary:
    """Ingest files, folders (recursive) or globs into ``out_dir``.

    Each track gets ``out_dir/tracks/ID/`` (renditions, packaging, manifest.json
    written last) and a row in ``out_dir/catalog.sqlite``. A bad file is
    recorded as failed (with the stage and a one-line reason) and never stops
    the batch; a track whose manifest already exists for the same input and
    settings is left as it is, and one that already failed with the same
    content and settings is not redone (reported failed again, ``remembered``)
    unless ``retry_failed`` or ``force``.

    Several ingest processes (on this host, or on hosts sharing ``out_dir``)
    may run on one output folder at once: each claims a track before building
    it, so no track is built twice. A track another process holds is put off
    to the end of the batch and then waited for; it is reported "unchanged"
    when that process completes it, and built here when that process failed or
    died (see :mod:`audiokit.pipeline.claims`).

    Parameters
    ----------
    inputs : str, os.PathLike or sequence of str
    out_dir : str or os.PathLike
    options : IngestOptions
    jobs : int, optional
        Local worker processes (default: the number of cores; 1 with ``track_timeout_s=math.inf`` runs in
        this process). Ignored by ``ray``.
    force : bool
        Redo tracks that are already complete, and retry remembered failures.
    retry_failed : bool
        Retry inputs that failed before with the same content and settings.
    on_result : callable, optional
        Called as ``on_result(result, done, total)`` as each track finishes (progress).
    on_note : callable, optional
        Called with one-line notes (a repaired kernel cache, ...) as they happen.
    executor : {"local", "ray"}
        ``local``: this machine's process pool. ``ray``: Ray tasks for the core stages and a Ray actor
        pool for the model stages (extra ``audiokit[ray]``); inputs and ``out_dir`` must be at the same
        paths on every Ray node.
    address : str, optional
        Ray only: ``"auto"`` or ``"ray://HOST:10001"``; None joins the runtime this process already
        started, else starts a local one.
    ray_num_cpus : float
        Ray only: CPUs requested per track task and per model actor (fractions allowed).
    gpus_per_model : float
        Ray only: GPUs per model actor (fractions share a GPU); 0 runs the model stages on CPUs.
    model_actors : int, optional
        Ray only: model actors that run the model stages (default: see :func:`.ray_executor.run_ray`).

    Returns
    -------
    BatchSummary
    """
    started = time.perf_counter()
    if executor not in EXECUTORS:
        raise ParameterError(f"executor is {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if executor != "ray":
        ray_only = {"address": address is not None, "gpus_per_model": gpus_per_model != 0,
                    "model_actors": model_actors is not None}
        if any(ray_only.values()):
            raise ParameterError(f"{', '.join(name for name, given in ray_only.items() if given)} "
                                 "is only for executor='ray'")
    check_max_duration(options.max_duration_s)
    check_track_timeout(options.track_timeout_s)
    out_dir = Path(out_dir)
    paths = discover_inputs([os.fspath(inputs)] if isinstance(inputs, (str, os.PathLike)) else list(inputs),
                            exclude=out_dir)
    if not paths:
        raise ParameterError("no inputs to ingest")
    jobs = _check_jobs(jobs, len(paths))
    stages = resolve_stages(options.stages)
    settings = options.track_settings()
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[int, TrackResult] = {}
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        if on_note is not None:
            on_note(text)

    with Catalog(out_dir) as catalog:
        known_failures = {} if retry_failed or force else catalog.known_failures()

        def record(index: int, result: TrackResult) -> None:
            results[index] = result
            if result.status == "failed":
                if not result.remembered:  # a remembered one is in the catalog already
                    # Without a track id the failure is listed but not remembered: a refusal by a guard of the
                    # run (duration limit, time limit, a lost claim) depends on the run, which the track id
                    # does not hold.
                    guarded = result.stage in RUN_GUARD_STAGES
                    catalog.add_failure(result.input_path, result.error or "",
                                        track_id=None if guarded else result.track_id,
                                        input_sha256=result.input_sha256, stage=result.stage)
            else:
                # ingested or unchanged: a complete track, which always has its id and manifest
                assert result.track_id is not None and result.manifest_path is not None
                # An unchanged track is added too if its row is missing: a killed driver wrote its manifest
                # but never recorded it.
                if result.status == "ingested" or not catalog.has_track(result.track_id):
                    manifest_path = Path(result.manifest_path)
                    catalog.add_manifest(read_manifest(manifest_path), manifest_path)
            if on_result is not None:
                on_result(result, len(results), len(paths))

        if executor == "ray":
            run_ray(paths, out_dir, settings, stages, record, force=force, address=address, num_cpus=ray_num_cpus,
                    gpus_per_model=gpus_per_model, model_actors=model_actors, known_failures=known_failures,
                    max_duration_s=options.max_duration_s, track_timeout_s=options.track_timeout_s, on_note=note)
        else:
            run_local(paths, out_dir, settings, stages, record, force=force, jobs=jobs,
                      known_failures=known_failures, on_note=note, max_duration_s=options.max_duration_s,
                      track_timeout_s=options.track_timeout_s)
    ordered = tuple(results[index] for index in range(len(paths)))
    counts: dict[str, int] = {}
    for result in ordered:
        counts[result.status] = counts.get(result.status, 0) + 1
    return BatchSummary(ordered, time.perf_counter() - started, counts, tuple(notes))


def _check_jobs(jobs: int | None, num_inputs: int) -> int:
    if jobs is None:
        jobs = os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs is {jobs!r}; expected a positive integer")
    return min(jobs, num_inputs)
