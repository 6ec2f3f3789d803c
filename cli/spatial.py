"""``audiokit spatial render|binaural`` and ``audiokit hrtf info``.

Only click is imported at module level; the API loads inside each command.
"""

from __future__ import annotations

import json

import click

__all__ = ["COMMANDS", "spatial", "hrtf"]


def _load_hrtf(path, sample_rate: int):
    from audiokit.spatial import HRTF

    if path is None or path == "spherical-head":
        return HRTF.spherical_head(sample_rate)
    return HRTF.from_sofa(path, sample_rate=sample_rate)


@click.group()
def spatial() -> None:
    """Binaural rendering with HRTFs."""


@spatial.command("render")
@click.argument("scene", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output audio file.")
@click.option("--json/--no-json", "as_json", default=False, help="Print a JSON summary.")
def render(scene: str, output: str, as_json: bool) -> None:
    """Render a JSON SCENE to a binaural file."""
    import audiokit
    from audiokit.spatial import load_scene, render_scene

    loaded = load_scene(scene)
    audio = render_scene(loaded)
    audiokit.write(output, audio)
    summary = {"output": output, "sample_rate": audio.sample_rate, "frames": audio.num_frames,
               "sources": len(loaded.sources), "hrtf": loaded.hrtf}
    click.echo(json.dumps(summary) if as_json else output)


@spatial.command("binaural")
@click.argument("input_path", metavar="IN", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--azimuth", type=float, default=0.0, show_default=True, help="Degrees, counter-clockwise (90 = left).")
@click.option("--elevation", type=float, default=0.0, show_default=True, help="Degrees, up positive.")
@click.option("--distance", type=float, default=1.0, show_default=True, help="Metres.")
@click.option("--hrtf", "hrtf_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SOFA file (default: the analytic spherical head).")
@click.option("--block-size", type=int, default=512, show_default=True)
def binaural(input_path: str, output: str, azimuth: float, elevation: float, distance: float,
             hrtf_path: str | None, block_size: int) -> None:
    """Place the mono downmix of IN at one direction and write OUT."""
    import audiokit
    from audiokit.spatial import render_static

    audio = audiokit.read(input_path)
    mono = audio.samples.mean(axis=0, keepdims=True)
    hrtf = _load_hrtf(hrtf_path, audio.sample_rate)
    out = render_static(mono, audio.sample_rate, hrtf, azimuth_deg=azimuth % 360.0,
                        elevation_deg=elevation, distance_m=distance, block_size=block_size)
    audiokit.write(output, audiokit.Audio(out, audio.sample_rate))
    click.echo(output)


@click.group()
def hrtf() -> None:
    """Inspect HRTF sets."""


@hrtf.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json/--no-json", "as_json", default=False, help="Print one JSON document.")
def info(path: str, as_json: bool) -> None:
    """Describe a SOFA file: convention, directions, taps, rate, ITD range."""
    from audiokit.spatial import HRTF, read_sofa

    summary = read_sofa(path).to_dict()
    loaded = HRTF.from_sofa(path)
    summary["max_itd_us"] = round(loaded.to_dict()["max_itd_us"], 1)
    summary["sha256"] = loaded.origin["sha256"]
    if as_json:
        click.echo(json.dumps(summary))
        return
    for key, value in summary.items():
        click.echo(f"{key}: {value}")


COMMANDS = [spatial, hrtf]
