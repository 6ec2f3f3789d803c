"""``audiokit ingest INPUT... -o OUT_DIR``: the end-to-end pipeline."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

from .ladder import chosen_ladder, ladder_options
from .main_helpers import exit_for_batch

if TYPE_CHECKING:
    from audiokit.pipeline.track import TrackResult

__all__ = ["COMMANDS", "ingest"]


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@ladder_options("Named ladder built for each track: spotify-like (default), hls-aac or podcast.")
@click.option("--hls/--no-hls", default=False, help="Package HLS.")
@click.option("--dash/--no-dash", default=False, help="Package DASH.")
@click.option("--stages", default="core", show_default=True, callback=lambda context, parameter, value: _check_stages(value),
              help="core, all, or a comma-separated list of stages (probe, decode, loudness, ladder, tags, "
                   "analysis, speech, transcript, moderation).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes [default: cores].")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where tracks run: this machine's process pool, or Ray tasks (needs audiokit[ray]).")
@click.option("--address", default=None, metavar="auto|ray://HOST:10001",
              help="Ray cluster to join (--executor ray) [default: start a local Ray runtime].")
@click.option("--ray-cpus", "ray_cpus", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="CPUs each Ray track task and model actor requests (fractions allowed).")
@click.option("--gpus-per-model", "gpus_per_model", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="GPUs each Ray model actor requests (fractions share a GPU; 0: models on CPUs).")
@click.option("--model-actors", "model_actors", type=click.IntRange(min=1), default=None,
              help="Ray actors running the model stages [default: one per --gpus-per-model of the cluster's "
                   "GPUs, else half the CPU slots].")
@click.option("--qa", type=click.Choice(["off", "fast", "full"]), default="fast", show_default=True,
              help="Rendition QA: fast (decode back in the encoder threads, every check), full (also whole-track "
                   "alignment and AAC level matching by re-encoding), off. A rendition that fails is left out and "
                   "the track is marked degraded.")
@click.option("--max-duration", "max_duration_s", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Refuse inputs longer than this, before decoding them [default: no limit]. "
                                      "Not part of the track id; a refused input is retried by the next run.")
@click.option("--track-timeout", "track_timeout_s", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Stop a track that runs longer than this: its worker is killed, the track "
                                      "fails and the batch goes on [default: max(600, 10 x its duration); inf: no "
                                      "limit]. Only --jobs 1 with inf runs the tracks in the ingest process.")
@click.option("--force/--no-force", default=False, help="Redo tracks that are already complete (and failed ones).")
@click.option("--retry-failed/--no-retry-failed", default=False,
              help="Retry inputs that failed before with the same content and settings (skipped otherwise).")
@click.option("--json", "as_json", is_flag=True, help="Print the batch summary as one JSON document.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per track, as each track ends.")
@click.option("-q", "--quiet", is_flag=True, help="No per-track lines, notes or summary on stderr (failures still show).")
def ingest(inputs: tuple[str, ...], out_dir: str, ladder_name: str | None, preset: str | None, hls: bool, dash: bool,
           stages: str, jobs: int | None, executor: str, address: str | None, ray_cpus: float, gpus_per_model: float,
           model_actors: int | None, qa: str, max_duration_s: float | None, track_timeout_s: float | None,
           force: bool, retry_failed: bool, as_json: bool, as_jsonl: bool, quiet: bool) -> None:
    """Ingest INPUTS (files, folders, globs): measure, transcode, package, write manifests and a catalog.

    Each track lands in OUT/tracks/ID/ with manifest.json written last; re-running
    on complete tracks does nothing, and inputs that failed before with the same
    content and settings are not redone without --retry-failed. Exit code 3 when
    some inputs failed. Several ingest runs may share OUT: each track is built
    by one of them (the others wait for it and report it unchanged). With
    --executor ray every Ray node must see INPUTS and OUT at the same paths.

    \b
    Examples:
      audiokit ingest uploads/ -o catalog/ --stages all --jobs 2
      audiokit ingest track.flac -o catalog/ --ladder podcast --qa full --json
      audiokit ingest uploads/ -o catalog/ --max-duration 14400
      audiokit ingest uploads/ -o catalog/ --executor ray --ray-cpus 0.5
    """
    from audiokit.pipeline import IngestOptions
    from audiokit.pipeline import ingest as run_ingest
    from audiokit.transcode.ladders import DEFAULT_LADDER

    started = time.monotonic()
    failed = 0

    def tell(text: str) -> None:
        if not quiet:
            click.echo(f"audiokit ingest: {text}", err=True)

    def progress(result: TrackResult, done: int, total: int) -> None:
        nonlocal failed
        failed += result.status == "failed"
        if as_jsonl:  # as each track ends, so a consumer of the stream sees results during a long batch
            click.echo(json.dumps(result.to_dict()))
        if quiet and result.status != "failed":
            return
        if result.status == "failed":
            detail = (f"[{result.stage}] " if result.stage else "") + f"{result.error}"
            if result.remembered:
                detail += " (failed before; --retry-failed to retry)"
        else:
            detail = f"{result.track_id}" + (" (degraded: a rendition failed QA)" if result.degraded else "")
        rate = done / max(time.monotonic() - started, 1e-9) * 60
        click.echo(f"[{done}/{total}, {failed} failed, {rate:.1f} tracks/min] {result.status:<9} "
                   f"{result.input_path} ({result.seconds:.1f} s) {detail}", err=True)

    if executor != "ray":
        for flag, given in (("--address", address is not None), ("--gpus-per-model", gpus_per_model != 0),
                            ("--model-actors", model_actors is not None)):
            if given:
                raise click.BadParameter(f"{flag} needs --executor ray", param_hint=flag)
    name = chosen_ladder(ladder_name, preset)
    options = IngestOptions(ladder=name or DEFAULT_LADDER, hls=hls, dash=dash, stages=stages, qa=qa,
                            max_duration_s=max_duration_s, track_timeout_s=track_timeout_s)
    summary = run_ingest(list(inputs), out_dir, options, jobs=jobs, force=force, retry_failed=retry_failed,
                         on_result=progress, on_note=tell,
                         executor=executor, address=address, ray_num_cpus=ray_cpus, gpus_per_model=gpus_per_model,
                         model_actors=model_actors)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    elif not as_jsonl:
        for result in summary.results:
            if result.status != "failed":
                click.echo(result.manifest_path)
    counts = ", ".join(f"{count} {status}" for status, count in sorted(summary.counts.items()))
    if summary.degraded:
        counts += f" ({summary.degraded} degraded)"
    rate = len(summary.results) / max(summary.seconds, 1e-9) * 60
    tell(f"{counts} in {summary.seconds:.1f} s ({rate:.1f} tracks/min)")
    exit_for_batch(summary.failed, len(summary.results))


def _check_stages(value: str) -> str:
    """Reject unknown stage names as a usage error (exit 2)."""
    from audiokit.errors import ParameterError
    from audiokit.pipeline.stages import resolve_stages

    try:
        resolve_stages(value)
    except ParameterError as error:
        raise click.BadParameter(str(error)) from None
    return value


COMMANDS = [ingest]
