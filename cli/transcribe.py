"""``audiokit transcribe IN... -o DIR -f srt,vtt``: offline Whisper transcripts and subtitles.

stdout carries the paths written (or, with ``--json``, one JSON document);
progress goes to stderr. Exit 0 when every input worked, 1 when none did,
3 when some did.
"""

from __future__ import annotations

import json

import click

from .main_helpers import exit_for_batch

__all__ = ["COMMANDS", "transcribe"]


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", "--output-dir", "output_dir", default=".", show_default=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder for the transcripts; IN's NAME.ext gives DIR/NAME.<format>.")
@click.option("-f", "--format", "formats", default="all", show_default=True,
              help="Comma-separated formats: txt, srt, vtt, tsv, json, or all.")
@click.option("--backend", type=click.Choice(["faster", "openai"]), default="faster", show_default=True,
              help="faster-whisper (CTranslate2) or openai-whisper (PyTorch) on converted weights.")
@click.option("--model", default="tiny.en", show_default=True,
              help="Registry name (tiny.en, base), a CTranslate2 directory or an openai .pt file.")
@click.option("--language", default=None, help="ISO 639-1 code; detected when omitted.")
@click.option("--vad/--no-vad", default=True, show_default=True, help="Decode only where Silero VAD hears speech.")
@click.option("--word-timestamps/--no-word-timestamps", default=True, show_default=True,
              help="Align every word (json output).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--compute-type", type=click.Choice(["default", "float32", "float16", "int8"]), default="default",
              show_default=True, help="default: float16 on CUDA; float32 (openai) or int8 (faster) on CPU.")
@click.option("--beam-size", type=click.IntRange(min=1), default=5, show_default=True,
              help="Beams of the beam search at temperature 0; 1 decodes greedily.")
@click.option("--temperature", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="First decoding temperature.")
@click.option("--temperature-increment-on-fallback", "temperature_increment", type=click.FloatRange(min=0.0),
              default=0.2, show_default=True,
              help="Step up to 1.0 when a window loops or is improbable; 0 disables the fallback.")
@click.option("--initial-prompt", default=None, help="Text read before the first window: names, spellings, style.")
@click.option("--condition-on-previous-text/--no-condition-on-previous-text", default=True, show_default=True,
              help="Prompt each window with the text before it in its chunk.")
@click.option("--max-line-width", type=click.IntRange(min=10), default=42, show_default=True,
              help="Characters per subtitle line (srt, vtt, txt).")
@click.option("--max-line-count", type=click.IntRange(min=1), default=2, show_default=True,
              help="Lines per subtitle cue.")
@click.option("--highlight-words/--no-highlight-words", default=False, show_default=True,
              help="Underline each word while it is spoken (srt, vtt).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document: per input, its outputs and transcript.")
def transcribe(inputs, output_dir, formats, backend, model, language, vad, word_timestamps, device, compute_type,
               beam_size, temperature, temperature_increment, initial_prompt, condition_on_previous_text,
               max_line_width, max_line_count, highlight_words, as_json) -> None:
    """Transcribe INPUTS offline with Whisper and write subtitles and transcripts.

    \b
    Examples:
      audiokit transcribe episode.mp3 -o transcripts/ -f srt,vtt
      audiokit transcribe talk.wav -f srt,txt --max-line-width 32 --initial-prompt "audiokit, ffmpeg"
    """
    from audiokit.errors import AudiokitError, ParameterError
    from audiokit.models.whisper import transcribe as run_transcribe
    from audiokit.models.whisper import write_transcript
    from audiokit.models.whisper.writers import SubtitleOptions, parse_formats

    try:
        formats = parse_formats(formats)
    except ParameterError as error:
        raise click.BadParameter(str(error), param_hint="'-f' / '--format'") from None
    subtitles = SubtitleOptions(max_line_width=max_line_width, max_line_count=max_line_count,
                                highlight_words=highlight_words)
    temperatures = _temperatures(temperature, temperature_increment)
    documents, failures = [], 0
    for path in inputs:
        try:
            segments, info = run_transcribe(
                path, model=model, backend=backend, language=language, word_timestamps=word_timestamps, vad=vad,
                device=device, compute_type=compute_type, beam_size=beam_size, temperature=temperatures,
                initial_prompt=initial_prompt, condition_on_previous_text=condition_on_previous_text,
            )
            collected = []
            for segment in segments:
                collected.append(segment)
                click.echo(f"{path}: {segment.end_s:.1f}/{info.duration_s:.1f} s", err=True)
            written = write_transcript(collected, info, path, output_dir, formats=formats, options=subtitles)
        except AudiokitError as error:
            failures += 1
            click.echo(f"audiokit: error: {path}: {error}", err=True)
            documents.append({"path": path, "error": str(error)})
            continue
        documents.append({
            "path": path,
            "outputs": [str(p) for p in written],
            "info": info.to_dict(),
            "text": " ".join(segment.text for segment in collected),
        })
        if not as_json:
            for output in written:
                click.echo(str(output))
    if as_json:
        click.echo(json.dumps(documents, indent=2, ensure_ascii=False))
    exit_for_batch(failures, len(inputs))


def _temperatures(first: float, increment: float) -> tuple[float, ...]:
    """Whisper's CLI: ``first``, then steps of ``increment`` up to 1.0 (just ``first`` when it is 0)."""
    if increment <= 0:
        return (first,)
    steps = int(round((1.0 - first) / increment + 1e-9))
    return tuple(round(first + step * increment, 6) for step in range(steps + 1))


COMMANDS = [transcribe]
