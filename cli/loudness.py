"""``audiokit loudness FILE...``, ``audiokit normalize IN... -o OUT`` and ``audiokit gain FILE...``.

Only click is imported at module level; audiokit loads inside each command so
that ``audiokit --help`` stays fast and compiles nothing.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import click

from .main_helpers import exit_for_batch, note, progress_bar, report_error, report_files, warnings_named
from .stdio import STDIO, STDOUT_NAME, AudioPath, audio_output, force_option, input_files, refuse_existing, shown

if TYPE_CHECKING:
    from audiokit.loudness.normalize import _Target

__all__ = ["COMMANDS", "gain", "loudness", "normalize"]

#: Human-readable rows: (report field, label, unit).
_ROWS = (
    ("integrated_lufs", "integrated", "LUFS"),
    ("loudness_range_lu", "range", "LU"),
    ("true_peak_dbtp", "true peak", "dBTP"),
    ("sample_peak_dbfs", "sample peak", "dBFS"),
    ("momentary_max_lufs", "momentary max", "LUFS"),
    ("short_term_max_lufs", "short-term max", "LUFS"),
)


def _warn_undefined(path: str, document: dict) -> None:
    undefined = [name for name, value in document.items() if value is None]
    if undefined:
        click.echo(f"audiokit: warning: {path}: {', '.join(undefined)} undefined (silent, or shorter than "
                   "the 400 ms / 3 s windows)", err=True)


def _human(path: str, document: dict) -> str:
    lines = [path]
    for field, label, unit in _ROWS:
        value = document[field]
        lines.append(f"  {label:<15} {'-inf' if value is None else f'{value:.2f}'} {unit}")
    return "\n".join(lines)


@click.command()
@click.argument("files", nargs=-1, required=True, type=AudioPath(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (a list with one object per file).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line, per file.")
def loudness(files: tuple[str, ...], as_json: bool, as_jsonl: bool) -> None:
    """Measure FILES ('-': stdin): integrated loudness, LRA, true peak, sample peak, momentary/short-term maxima.

    Values are BS.1770-5 / EBU R128; undefined ones (silence, too short) are
    -inf, JSON null. Each file is streamed, so memory does not grow with length.

    \b
    Examples:
      audiokit loudness track.flac
      audiokit loudness uploads/*.mp3 --jsonl
      audiokit loudness - --json < upload.bin
    """
    from audiokit.loudness import measure_file

    def measure(name: str, path: str) -> dict:
        document = {"file": name, **measure_file(path).to_dict()}
        _warn_undefined(name, document)
        return document

    report_files(files, measure, lambda document: _human(document["file"], document),
                 as_json=as_json, as_jsonl=as_jsonl)


#: The extension a folder output gets for each --codec.
_CODEC_EXTENSIONS = {"mp3": ".mp3", "opus": ".opus", "aac": ".m4a", "alac": ".m4a", "flac": ".flac",
                     "pcm": ".wav", "pcm_f32le": ".wav"}


def _destinations(paths: tuple[str, ...], output: str | None, codec: str | None) -> list[tuple[str, str]]:
    """(input, output) pairs: ``IN OUT`` without -o; with -o, every path is an input.

    A folder output names the stdin input ``stdin`` (``-`` is not a file name to give a user).
    """
    import os
    from pathlib import Path

    from audiokit.io.writer import FORMATS

    if output is None:
        if len(paths) != 2:
            raise click.UsageError("give IN OUT, or inputs and -o/--output (a file, or a folder for several)")
        return [(paths[0], paths[1])]
    if output == STDIO:
        if len(paths) != 1:
            raise click.UsageError("-o - (stdout) carries one output: give one input")
        return [(paths[0], output)]
    folder = len(paths) > 1 or os.path.isdir(output) or output.endswith(os.sep)
    if not folder:
        return [(paths[0], output)]
    pairs = []
    for path in paths:
        suffix = _CODEC_EXTENSIONS.get(codec or "", Path(path).suffix.lower())
        stem = "stdin" if path == STDIO else Path(path).stem
        pairs.append((path, str(Path(output) / (stem + (suffix if suffix in FORMATS else ".flac")))))
    return pairs


def _normalize_one(input_name: str, input_path: str, output_path: str, options: dict, quiet: bool) -> dict:
    from audiokit.loudness import normalize_file

    with progress_bar(input_name, quiet=quiet) as bar:
        report = normalize_file(input_path, output_path, progress=bar.update, **options)
    return report.to_dict()


def _plan_one(input_name: str, input_path: str, output_name: str, target: _Target) -> dict:
    """What --dry-run prints: the input's loudness and the gain a headroom pass would apply."""
    from audiokit.loudness import measure_file
    from audiokit.loudness.normalize import _initial_gain

    report = measure_file(input_path)
    gain_db, _ = _initial_gain(target, report.integrated_lufs, report.true_peak_dbtp)
    return {"input_file": input_name, "output_file": output_name, "preset": target.preset,
            "target_lufs": target.target_lufs, "true_peak_dbtp": target.true_peak_dbtp, "mode": target.mode,
            "planned_gain_db": round(float(gain_db), 2), "input": report.to_dict()}


def _human_result(document: dict) -> str:
    if "planned_gain_db" in document:
        integrated = document["input"]["integrated_lufs"]
        return (f"{document['input_file']}: {'-inf' if integrated is None else f'{integrated:.2f}'} LUFS; "
                f"would apply {document['planned_gain_db']:+.2f} dB"
                f"{' before the limiter' if document['mode'] == 'limit' else ''} -> {document['output_file']}")
    limited = (f", limiter up to {document['limiter_max_reduction_db']:.2f} dB on "
               f"{100 * document['limited_fraction']:.1f}% of frames" if document["mode"] == "limit" else "")
    delivered = document["delivered"]
    integrated, peak = delivered["integrated_lufs"], delivered["true_peak_dbtp"]
    return (f"{document['output_file']}: gain {document['gain_db']:+.2f} dB{limited}; "
            f"{'-inf' if integrated is None else f'{integrated:.2f}'} LUFS, "
            f"{'-inf' if peak is None else f'{peak:.2f}'} dBTP as decoded")


@click.command()
@click.argument("paths", metavar="IN... [OUT]", nargs=-1, required=True, type=AudioPath(dir_okay=True))
@click.option("-o", "--output", default=None, type=click.Path(path_type=str, allow_dash=True),
              help="Output file, or folder (for several inputs, or an existing folder), or '-' for stdout "
                   "(with --codec). Without it: IN OUT.")
@click.option("--preset", default=None, help="A named target: spotify, spotify-loud, spotify-quiet, apple-music, "
              "youtube, podcast, ebu-r128, atsc-a85.")
@click.option("--target-lufs", type=float, default=None, help="Integrated loudness to reach, LUFS.")
@click.option("--true-peak-dbtp", type=float, default=None,
              help="True-peak ceiling, dBTP (default -1, or the preset's).")
@click.option("--mode", type=click.Choice(["headroom", "limit"]), default=None,
              help="headroom: pure gain under the ceiling; limit: gain + true-peak limiter "
                   "(default: the preset's, else headroom).")
@click.option("--codec", default=None, type=click.Choice(sorted(_CODEC_EXTENSIONS)),
              help="Output codec (default: the input's where the output's extension allows it).")
@click.option("--bitrate", "bitrate_kbps", type=click.IntRange(6, 640), default=None,
              help="Bitrate of a lossy output, kbit/s (default: the input's, else the codec's).")
@click.option("--match-level/--no-match-level", default=True, show_default=True,
              help="Decode a lossy output, measure it and re-encode until it is within 0.1 LU of the target.")
@force_option()
@click.option("--dry-run", is_flag=True, help="Measure the inputs and print the planned gain; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (a list, one object per input).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line, per input.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def normalize(paths: tuple[str, ...], output: str | None, preset: str | None, target_lufs: float | None,
              true_peak_dbtp: float | None, mode: str | None, codec: str | None, bitrate_kbps: int | None,
              match_level: bool, force: bool, dry_run: bool, as_json: bool, as_jsonl: bool, quiet: bool) -> None:
    """Normalize audio files to a loudness target (BS.1770 / EBU R128) under a true-peak ceiling.

    Give either --preset or --target-lufs. Each output keeps its input's sample
    rate, codec, bit depth or bitrate (where the output's extension allows
    them), tags and cover art; ReplayGain/R128 tags, stale after the change
    of level, are dropped. A lossy output is decoded and measured, and encoded
    again with the difference as gain until it is within 0.1 LU of the level
    it was meant to have. Inputs stream block by block, so memory stays small
    for hours of audio; outputs are written atomically, and an existing one is
    kept unless --force. IN '-' reads stdin; OUT '-' writes stdout in the
    container of --codec.

    \b
    Examples:
      audiokit normalize episode.wav episode.mp3 --preset podcast
      audiokit normalize *.flac -o normalized/ --preset spotify --codec opus --bitrate 160
      audiokit normalize master.wav -o out.m4a --target-lufs -16 --mode limit --json
      audiokit normalize - -o - --preset podcast --codec mp3 < raw.wav > episode.mp3
    """
    from audiokit.errors import AudiokitError, ParameterError
    from audiokit.loudness import PRESETS
    from audiokit.loudness.normalize import _resolve

    if (preset is None) == (target_lufs is None):
        raise click.UsageError("give exactly one of --preset NAME or --target-lufs X")
    if preset is not None and preset not in PRESETS:
        raise click.BadParameter(f"{preset!r}; expected one of {', '.join(PRESETS)}", param_hint="--preset")
    try:
        target = _resolve(preset, target_lufs, true_peak_dbtp, mode)
    except ParameterError as error:
        raise click.UsageError(str(error)) from None
    pairs = _destinations(paths, output, codec)
    if len({out for _, out in pairs}) != len(pairs):
        raise click.UsageError("two inputs would write the same output; give them different names")
    options = {"preset": preset, "target_lufs": target_lufs, "true_peak_dbtp": true_peak_dbtp, "mode": mode,
               "match_level": match_level}
    if codec is not None or bitrate_kbps is not None:
        options.update(codec=codec, bitrate_bps=None if bitrate_kbps is None else 1000 * bitrate_kbps)
    if STDIO in (out for _, out in pairs):
        if codec is None:
            raise click.UsageError("-o - writes audio to stdout: name its codec with --codec "
                                   f"({', '.join(sorted(_CODEC_EXTENSIONS))})")
        if as_json or as_jsonl:
            raise click.UsageError("-o - writes audio on stdout, where --json/--jsonl would print too: "
                                   "give a file, or leave out --json")
    documents, failures = [], 0
    with input_files([path for path, _ in pairs]) as inputs:
        for (input_name, input_path), (_, output_name) in zip(inputs, pairs):
            try:
                with warnings_named(input_name):
                    document = _run_one(input_name, input_path, output_name, target, options, dry_run=dry_run,
                                        force=force, quiet=quiet)
            except AudiokitError as error:
                failures += 1
                report_error(error, input_name)
                documents.append({"input_file": input_name, "output_file": output_name,
                                  "error": shown(str(error))})
                continue
            documents.append(document)
            if as_jsonl:
                click.echo(json.dumps(document))
            elif output_name == STDIO:
                note(_human_result({**document, "output_file": STDOUT_NAME}), quiet=quiet)
                _warn_off_target({**document, "output_file": STDOUT_NAME})
            elif not as_json:
                click.echo(_human_result(document))
                _warn_off_target(document)
    if as_json:
        click.echo(json.dumps(documents, indent=2))
    exit_for_batch(failures, len(pairs))


def _run_one(input_name: str, input_path: str, output_name: str, target: _Target, options: dict, *,
             dry_run: bool, force: bool, quiet: bool) -> dict:
    """Plan (``dry_run``) or write one output; ``-`` is stdout, in the container of ``--codec``."""
    import os

    if dry_run:
        return _plan_one(input_name, input_path, output_name, target)
    refuse_existing(output_name, force=force)
    if os.path.dirname(output_name):
        os.makedirs(os.path.dirname(output_name), exist_ok=True)
    audio_format = _CODEC_EXTENSIONS[options["codec"]].lstrip(".") if output_name == STDIO else None
    with audio_output(output_name, audio_format, option="--codec") as output_path:
        report = _normalize_one(input_name, input_path, output_path, options, quiet)
    return {"input_file": input_name, "output_file": output_name, **report}


def _warn_off_target(document: dict) -> None:
    delivered = document.get("delivered")
    if not delivered or delivered["integrated_lufs"] is None:
        return
    if not math.isclose(delivered["integrated_lufs"], document["target_lufs"], abs_tol=0.5):
        click.echo(f"audiokit: warning: {document['output_file']} reads {delivered['integrated_lufs']:.2f} LUFS; "
                   f"the target was {document['target_lufs']} (not reachable under the ceiling in "
                   f"{document['mode']} mode)", err=True)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--album", is_flag=True, help="Also write album gain: FILES measured as one programme.")
@click.option("--force", is_flag=True, help="Tag files that already carry gain tags (skipped otherwise).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (a list, one object per file).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line, per file.")
def gain(files: tuple[str, ...], album: bool, force: bool, as_json: bool, as_jsonl: bool) -> None:
    """Write ReplayGain 2.0 tags (R128 for Opus) into FILES, in place.

    Like rsgain's easy mode: each file is measured (BS.1770-5), and its track
    gain (-18 LUFS reference; -23 LUFS Q7.8 for Opus, RFC 7845) and true peak
    are written as tags; the audio is not touched. Files already tagged are
    skipped unless --force. Each file is rewritten as a copy renamed over it.

    \b
    Examples:
      audiokit gain episode.mp3
      audiokit gain album/*.flac --album
    """
    from audiokit.loudness import tag_files

    results = tag_files(files, album=album, force=force)
    if as_json:
        click.echo(json.dumps([result.to_dict() for result in results], indent=2))
        return
    for result in results:
        if as_jsonl:
            click.echo(json.dumps(result.to_dict()))
        elif result.action == "skipped":
            click.echo(f"{result.path}: already tagged, skipped (--force to redo)")
        else:
            click.echo(f"{result.path}: " + ", ".join(f"{key}={value}" for key, value in result.tags.items()))


COMMANDS = [loudness, normalize, gain]
