"""``audiokit spatial render|binaural`` and ``audiokit hrtf info``.

Only click is imported at module level; the API loads inside each command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .main_helpers import echo_result, note, progress_bar
from .stdio import (
    STDIO,
    AudioPath,
    audio_output,
    check_text_output,
    force_option,
    format_option,
    input_files,
    refuse_existing,
    shown,
)

if TYPE_CHECKING:
    from audiokit.spatial import HRTF

__all__ = ["COMMANDS", "spatial", "hrtf"]

_Command = TypeVar("_Command", bound=Callable[..., Any])

#: --subtype choices: keep the input's sample type, or float32 / integer PCM of a bit depth
SUBTYPES = ("same", "float", "pcm16", "pcm24", "pcm32")
#: integer PCM bit depth each container holds (float only in WAV)
_PCM_DEPTHS = {".wav": (16, 24, 32), ".aiff": (16, 24, 32), ".aif": (16, 24, 32), ".flac": (16, 24),
               ".m4a": (16, 24), ".mp4": (16, 24)}


def _input_subtype(path: str) -> str:
    """The sample type of an input file: "float" or "pcmN".

    Float PCM and lossy codecs (which decode to float) are "float"; integer
    PCM, FLAC and ALAC are "pcmN".
    """
    import audiokit

    info = audiokit.probe(path)
    if info.codec.startswith("pcm_f") or info.bit_depth is None:
        return "float"
    return f"pcm{max(16, min(32, info.bit_depth))}"


def _write_options(subtype: str, source: str, output: str, path: str) -> dict:
    """``audiokit.write`` keywords that store ``subtype`` in ``path``'s container, or a usage error.

    ``path`` is the file written for the OUTPUT argument ``output`` (a temporary one for ``-``).
    """
    suffix = Path(path).suffix.lower()
    depths = _PCM_DEPTHS.get(suffix)
    wanted = subtype if subtype != "same" else source
    if depths is None or (suffix in (".m4a", ".mp4") and subtype == "same"):
        if subtype != "same":
            raise click.BadParameter(f"{shown(output)} is a lossy format; --subtype applies to .wav, .aiff, .flac "
                                     "and ALAC .m4a outputs", param_hint="--subtype")
        return {}
    if wanted == "float":
        if suffix != ".wav":
            raise click.BadParameter(f"{suffix} files cannot hold float samples ({'the input is float; ' if subtype == 'same' else ''}"
                                     f"write a .wav, or pass --subtype pcm24)", param_hint="--subtype")
        return {"codec": "pcm_f32le"}
    depth = int(wanted[3:])
    if depth not in depths:
        raise click.BadParameter(f"{suffix} files hold {'/'.join(map(str, depths))}-bit integers, not {depth}-bit; "
                                 f"pass --subtype pcm{max(depths)} or write a .wav", param_hint="--subtype")
    return {"bit_depth": depth, **({"codec": "alac"} if suffix in (".m4a", ".mp4") else {})}


def _subtype_option(default: str, help_text: str) -> Callable[[_Command], _Command]:
    return click.option("--subtype", type=click.Choice(SUBTYPES), default=default, show_default=True,
                        help=help_text)


_TAIL_OPTION = click.option(
    "--tail/--no-tail", default=True, show_default=True,
    help="Keep the HRIR tail after the input's end (the output is as long as a full convolution: "
         "input + taps - 1 for a measured HRIR), or cut the output to the input's length.")


def _load_hrtf(path: str | None, sample_rate: int) -> HRTF:
    from audiokit.spatial import HRTF

    return HRTF.load(path, sample_rate=sample_rate)


@click.group()
def spatial() -> None:
    """Binaural rendering with HRTFs."""


@spatial.command("render")
@click.argument("scene", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Output audio file, or '-' for stdout (with --format).")
@format_option()
@_subtype_option("float", "Sample type of OUTPUT; 'same' is float (the renderer's).")
@_TAIL_OPTION
@click.option("--json/--no-json", "as_json", default=False, help="Print a JSON summary.")
@force_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")
def render(scene: str, output: str, audio_format: str | None, subtype: str, tail: bool, as_json: bool,
           force: bool, quiet: bool) -> None:
    """Render a JSON SCENE (docs/spatial-scene.schema.json) to a binaural file.

    A progress bar on a terminal names each stage (load, render, write).

    \b
    Examples:
      audiokit spatial render scene.json -o scene.wav
      audiokit spatial render scene.json -o scene.flac --subtype pcm24 --no-tail --json
      audiokit spatial render scene.json -o - --format flac --subtype pcm24 > scene.flac
    """
    import audiokit
    from audiokit.spatial import load_scene, render_scene

    check_text_output(output, as_json=as_json, what="the audio")
    refuse_existing(output, force=force)
    with audio_output(output, audio_format) as path:
        options = _write_options(subtype, "float", output, path)
        with progress_bar(Path(scene).name, quiet=quiet, total=3, unit="stage") as bar:
            bar.set_postfix_str("loading the scene")
            loaded = load_scene(scene)
            bar.update(1)
            bar.set_postfix_str("rendering")
            audio = render_scene(loaded, tail=tail)
            bar.update(1)
            bar.set_postfix_str("writing")
            audiokit.write(path, audio, **options)
            bar.update(1)
    summary = {"output": output, "sample_rate": audio.sample_rate, "frames": audio.num_frames,
               "sources": len(loaded.sources), "hrtf": loaded.hrtf, "subtype": subtype, "tail": tail}
    _report(summary, output, as_json=as_json, quiet=quiet)


@spatial.command("binaural")
@click.argument("input_path", metavar="IN", type=AudioPath())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Output audio file, or '-' for stdout (with --format).")
@click.option("--azimuth", type=float, default=0.0, show_default=True, help="Degrees, counter-clockwise (90 = left).")
@click.option("--elevation", type=float, default=0.0, show_default=True, help="Degrees, up positive.")
@click.option("--distance", type=float, default=1.0, show_default=True, help="Metres.")
@click.option("--hrtf", "hrtf_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SOFA file (default: the analytic spherical head).")
@click.option("--block-size", type=int, default=512, show_default=True)
@format_option("OUTPUT")
@_subtype_option("same", "Sample type of OUTPUT; 'same' keeps IN's (float in, float out).")
@_TAIL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary of what was written.")
@force_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")
def binaural(input_path: str, output: str, azimuth: float, elevation: float, distance: float,
             hrtf_path: str | None, block_size: int, audio_format: str | None, subtype: str, tail: bool,
             as_json: bool, force: bool, quiet: bool) -> None:
    """Place the mono downmix of IN at one direction and write it to OUTPUT.

    At a measured direction of a SOFA set (and the default 1 m) OUTPUT is IN
    convolved with the measured HRIR pair, to float32 rounding. IN '-' is read
    from stdin, OUTPUT '-' is written to stdout in the container --format names.
    A progress bar on a terminal follows the seconds of audio rendered.

    \b
    Examples:
      audiokit spatial binaural voice.wav -o voice-left.wav --azimuth 90
      audiokit spatial binaural voice.wav -o out.wav --azimuth 30 --hrtf /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa
      audiokit spatial binaural - -o - --format flac --azimuth 90 < voice.wav > voice-left.flac
    """
    import audiokit
    from audiokit.channels import to_mono
    from audiokit.spatial import render_static

    check_text_output(output, as_json=as_json, what="the audio")
    refuse_existing(output, force=force)
    with input_files([input_path]) as ((name, source),), audio_output(output, audio_format) as path:
        options = _write_options(subtype, _input_subtype(source), output, path)
        audio = audiokit.read(source)
        mono = to_mono(audio.samples)
        hrtf = _load_hrtf(hrtf_path, audio.sample_rate)
        with progress_bar(name, quiet=quiet, total=round(audio.duration_s, 1)) as bar:
            out = render_static(mono, audio.sample_rate, hrtf, azimuth_deg=azimuth % 360.0,
                                elevation_deg=elevation, distance_m=distance, block_size=block_size, tail=tail,
                                progress=lambda frames: bar.update(frames / audio.sample_rate))
        audiokit.write(path, audiokit.Audio(out, audio.sample_rate), **options)
    summary = {"output": output, "sample_rate": audio.sample_rate, "frames": out.shape[1], "azimuth_deg": azimuth,
               "elevation_deg": elevation, "distance_m": distance,
               "hrtf": hrtf.origin.get("path", hrtf.origin["kind"]), "subtype": subtype, "tail": tail}
    _report(summary, output, as_json=as_json, quiet=quiet)


def _report(summary: dict, output: str, *, as_json: bool, quiet: bool) -> None:
    """The JSON summary, or the output's name (a note on stderr when the audio went to stdout)."""
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif output == STDIO:
        note(f"wrote {summary['frames']} frames at {summary['sample_rate']} Hz to stdout", quiet=quiet)
    else:
        echo_result(output)


@click.group()
def hrtf() -> None:
    """Inspect HRTF sets."""


@hrtf.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json/--no-json", "as_json", default=False, help="Print one JSON document.")
def info(path: str, as_json: bool) -> None:
    """Describe a SOFA file: convention, directions, taps, rate, ITD range.

    \b
    Examples:
      audiokit hrtf info /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa --json
    """
    from audiokit.spatial import HRTF, read_sofa

    summary = read_sofa(path).to_dict()
    loaded = HRTF.from_sofa(path)
    summary["max_itd_us"] = round(loaded.to_dict()["max_itd_us"], 1)
    summary["sha256"] = loaded.origin["sha256"]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        click.echo(f"{key}: {value}")


COMMANDS = [spatial, hrtf]
