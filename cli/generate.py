"""``audiokit generate -o OUT.wav``: a chorale-style piece from the committed model."""

from __future__ import annotations

import json

import click

from .main_helpers import echo_result, note, progress_bar
from .stdio import STDIO, STDOUT_NAME, audio_output, check_text_output, force_option, format_option, refuse_existing

__all__ = ["COMMANDS", "generate"]


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str, allow_dash=True),
              help="Audio file to write (.wav, .flac, ... at 48 kHz), or '-' for stdout (with --format).")
@format_option()
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Length of the music (whole beats), before the reverb tail.")
@click.option("--bars", type=click.IntRange(min=1), default=None,
              help="Length in 4/4 bars (overrides --seconds).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Sampling temperature.")
@click.option("--top-p", type=float, default=0.95, show_default=True, help="Nucleus (top-p) mass.")
@click.option("--key", default=None, help="Key, e.g. D, F#m, 'Bb minor' (default: drawn from the seed).")
@click.option("--tempo", "tempo_bpm", type=float, default=80.0, show_default=True,
              help="Quarter notes per minute.")
@click.option("--prime", default=None, help="Open with the first bars of this held-out chorale (e.g. bwv26.6).")
@click.option("--prime-bars", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--timbre", type=click.Choice(["organ", "strings"]), default="organ", show_default=True)
@click.option("--spatial/--no-spatial", default=False, show_default=True,
              help="Place the four voices around the listener (binaural, for headphones).")
@click.option("--normalize/--no-normalize", default=True, show_default=True,
              help="Loudness-normalize to -16 LUFS with a -1 dBTP limiter.")
@click.option("--midi", "midi_path", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also write the notes as a Standard MIDI File.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document describing the piece.")
@force_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")
def generate(output: str, audio_format: str | None, seconds: float, bars: int | None, seed: int, temperature: float, top_p: float,
             key: str | None, tempo_bpm: float, prime: str | None, prime_bars: int, timbre: str,
             spatial: bool, normalize: bool, midi_path: str | None, as_json: bool, force: bool, quiet: bool) -> None:
    """Sample a four-voice chorale-style piece and render it to OUTPUT.

    The same options give the same file. OUTPUT '-' is stdout, in the
    container --format names. A progress bar on a terminal names each stage
    (compose, render, write).

    \b
    Examples:
      audiokit generate -o chorale.wav --seconds 30 --seed 7
      audiokit generate -o piece.flac --bars 8 --key "F#m" --timbre strings --midi piece.mid --json
      audiokit generate -o - --format flac --bars 4 > piece.flac
    """
    from audiokit import write
    from audiokit.models.musicgen import compose, render, write_midi

    check_text_output(output, as_json=as_json, what="the audio")
    refuse_existing(output, midi_path, force=force)
    with audio_output(output, audio_format) as path, \
            progress_bar("generate", quiet=quiet, total=3, unit="stage") as bar:
        bar.set_postfix_str("composing")
        piece = compose(seconds=None if bars else seconds, bars=bars, tempo_bpm=tempo_bpm, seed=seed,
                        temperature=temperature, top_p=top_p, key=key, prime=prime, prime_bars=prime_bars)
        bar.update(1)
        bar.set_postfix_str("rendering")
        audio = render(piece, tempo_bpm=tempo_bpm, timbre=timbre, spatial=spatial, normalize=normalize)
        bar.update(1)
        bar.set_postfix_str("writing")
        write(path, audio, tags={"title": f"audiokit chorale, seed {seed}", "key": piece.key.name})
        bar.update(1)
    if midi_path:
        write_midi(midi_path, piece, tempo_bpm=tempo_bpm)
    document = {"path": output, "midi": midi_path, "duration_s": round(audio.duration_s, 3),
                "sample_rate": audio.sample_rate, "key": piece.key.name, "seed": seed,
                "tempo_bpm": tempo_bpm, "steps": piece.num_steps, "notes": len(piece.notes()),
                "prime": prime, "spatial": spatial}
    line = (f"{STDOUT_NAME if output == STDIO else output}  {document['duration_s']:.1f} s  {piece.key.name}  seed {seed}"
            + (f"  midi {midi_path}" if midi_path else ""))
    if as_json:
        click.echo(json.dumps(document, indent=2))
    elif output == STDIO:
        note(line, quiet=quiet)
    else:
        echo_result(line)


COMMANDS = [generate]
