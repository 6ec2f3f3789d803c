"""``audiokit loudness FILE...`` and ``audiokit normalize IN OUT``.

Only click is imported at module level; audiokit loads inside each command so
that ``audiokit --help`` stays fast and compiles nothing.
"""

from __future__ import annotations

import json
import math

import click

from .main_helpers import report_files

__all__ = ["COMMANDS", "loudness", "normalize"]

#: Tags that describe the input's loudness or its encoder; stale in OUT, so not copied.
_STALE_TAG_PREFIXES = ("replaygain_", "r128_", "encoder")
#: Decoder codec names -> the writer codec that re-creates them, where the extension allows it.
_SAME_CODEC = {"alac": "alac", "pcm_f32le": "pcm_f32le", "aac": "aac"}
#: Bit depths each lossless writer codec accepts (audiokit.io.writer).
_LOSSLESS_DEPTHS = {"pcm": (16, 24, 32), "flac": (16, 24), "alac": (16, 24)}
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
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (a list with one object per file).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line, per file.")
def loudness(files: tuple[str, ...], as_json: bool, as_jsonl: bool) -> None:
    """Measure FILES: integrated loudness, LRA, true peak, sample peak, momentary/short-term maxima.

    Values are BS.1770-5 / EBU R128; undefined ones (silence, too short) are
    -inf, JSON null. Each file is streamed, so memory does not grow with length.
    """
    from audiokit.loudness import measure_file

    def measure(path: str) -> dict:
        document = {"file": path, **measure_file(path).to_dict()}
        _warn_undefined(path, document)
        return document

    report_files(files, measure, lambda document: _human(document["file"], document),
                 as_json=as_json, as_jsonl=as_jsonl)


def _write_options(info, out_path: str) -> dict:
    """codec, bit_depth and bitrate_bps that keep the input's format where OUT's extension allows."""
    from pathlib import Path

    from audiokit.io.writer import FORMATS

    suffix = Path(out_path).suffix.lower()
    allowed = FORMATS[suffix].codecs if suffix in FORMATS else ()
    codec = _SAME_CODEC.get(info.codec)
    codec = codec if codec in allowed else (allowed[0] if allowed else None)
    options = {"codec": codec}
    if codec in _LOSSLESS_DEPTHS:
        depths = _LOSSLESS_DEPTHS[codec]
        depth = info.bit_depth or 16
        options["bit_depth"] = depth if depth in depths else min(depths, key=lambda d: (abs(d - depth), -d))
    elif codec is not None and codec != "pcm_f32le" and info.bit_depth is None and info.bitrate_bps:
        options["bitrate_bps"] = int(min(640_000, max(6000, info.bitrate_bps)))
    return options


@click.command()
@click.argument("input_path", metavar="IN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("output_path", metavar="OUT", type=click.Path(dir_okay=False, path_type=str))
@click.option("--preset", default=None, help="A named target: spotify, spotify-loud, spotify-quiet, apple-music, "
              "youtube, podcast, ebu-r128, atsc-a85.")
@click.option("--target-lufs", type=float, default=None, help="Integrated loudness to reach, LUFS.")
@click.option("--true-peak-dbtp", type=float, default=None,
              help="True-peak ceiling, dBTP (default -1, or the preset's).")
@click.option("--mode", type=click.Choice(["headroom", "limit"]), default=None,
              help="headroom: pure gain under the ceiling; limit: gain + true-peak limiter "
                   "(default: the preset's, else headroom).")
@click.option("--json", "as_json", is_flag=True, help="Print the normalization report as JSON.")
def normalize(input_path: str, output_path: str, preset: str | None, target_lufs: float | None,
              true_peak_dbtp: float | None, mode: str | None, as_json: bool) -> None:
    """Normalize IN to a loudness target and write OUT.

    Give either --preset or --target-lufs. OUT keeps IN's sample rate, bit
    depth, codec (where OUT's extension allows it) and tags; ReplayGain/R128
    tags, stale after the change of level, are dropped. IN is processed block
    by block (memory stays small for hours of audio). OUT is written
    atomically and then measured again as decoded ("written" in the JSON):
    a lossy codec can move the true peak a little over the ceiling.
    """
    if (preset is None) == (target_lufs is None):
        raise click.UsageError("give exactly one of --preset NAME or --target-lufs X")
    import audiokit
    from audiokit.errors import ParameterError
    from audiokit.loudness import PRESETS, measure_file, normalize_file
    from audiokit.loudness.normalize_file import file_layout

    if preset is not None and preset not in PRESETS:
        raise click.BadParameter(f"{preset!r}; expected one of {', '.join(PRESETS)}", param_hint="--preset")
    info = audiokit.probe(input_path)
    tags = {key: value for key, value in info.tags.items() if not key.lower().startswith(_STALE_TAG_PREFIXES)}
    try:  # block by block: a 3-hour episode never sits in memory whole
        report = normalize_file(input_path, output_path, preset=preset, target_lufs=target_lufs,
                                true_peak_dbtp=true_peak_dbtp, mode=mode, channel_layout=file_layout(info), tags=tags,
                                **_write_options(info, output_path))
    except ParameterError as error:
        raise click.UsageError(str(error)) from None
    written = measure_file(output_path).to_dict()
    if as_json:
        click.echo(json.dumps({"input_file": input_path, "output_file": output_path, **report.to_dict(),
                               "written": written}, indent=2))
        return
    limited = (f", limiter up to {report.limiter_max_reduction_db:.2f} dB on "
               f"{100 * report.limited_fraction:.1f}% of frames" if report.mode == "limit" else "")
    integrated, peak = written["integrated_lufs"], written["true_peak_dbtp"]
    click.echo(f"{output_path}: gain {report.gain_db:+.2f} dB{limited}; "
               f"{'-inf' if integrated is None else f'{integrated:.2f}'} LUFS, "
               f"{'-inf' if peak is None else f'{peak:.2f}'} dBTP")
    if integrated is not None and not math.isclose(integrated, report.target_lufs, abs_tol=0.5):
        click.echo(f"audiokit: warning: {output_path} reads {integrated:.2f} LUFS; the target was "
                   f"{report.target_lufs} (not reachable under the ceiling in {report.mode} mode)", err=True)


COMMANDS = [loudness, normalize]
