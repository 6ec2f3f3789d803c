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
@click.option("-o", "--output-dir", default=".", show_default=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder for the transcripts; IN's NAME.ext gives DIR/NAME.<format>.")
@click.option("-f", "--format", "formats", default="all", show_default=True,
              help="Comma-separated formats: txt, srt, vtt, tsv, json, or all.")
@click.option("--backend", type=click.Choice(["openai", "faster"]), default="openai", show_default=True,
              help="openai-whisper (PyTorch) on converted weights, or faster-whisper (CTranslate2).")
@click.option("--model", default="tiny.en", show_default=True,
              help="Registry name (tiny.en, base), a CTranslate2 directory or an openai .pt file.")
@click.option("--language", default=None, help="ISO 639-1 code; detected when omitted.")
@click.option("--vad/--no-vad", default=True, show_default=True, help="Decode only where Silero VAD hears speech.")
@click.option("--word-timestamps/--no-word-timestamps", default=True, show_default=True,
              help="Align every word (json output).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--compute-type", type=click.Choice(["default", "float32", "float16", "int8"]), default="default",
              show_default=True, help="default: float16 on CUDA; float32 (openai) or int8 (faster) on CPU.")
@click.option("--beam-size", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document: per input, its outputs and transcript.")
def transcribe(inputs, output_dir, formats, backend, model, language, vad, word_timestamps, device, compute_type,
               beam_size, as_json) -> None:
    """Transcribe INPUTS offline with Whisper and write subtitles and transcripts."""
    from audiokit.errors import AudiokitError, ParameterError
    from audiokit.models.whisper import transcribe as run_transcribe
    from audiokit.models.whisper import write_transcript
    from audiokit.models.whisper.writers import parse_formats

    try:
        formats = parse_formats(formats)
    except ParameterError as error:
        raise click.BadParameter(str(error), param_hint="'-f' / '--format'") from None
    documents, failures = [], 0
    for path in inputs:
        try:
            segments, info = run_transcribe(
                path, model=model, backend=backend, language=language, word_timestamps=word_timestamps, vad=vad,
                device=device, compute_type=compute_type, beam_size=beam_size,
            )
            collected = []
            for segment in segments:
                collected.append(segment)
                click.echo(f"{path}: {segment.end_s:.1f}/{info.duration_s:.1f} s", err=True)
            written = write_transcript(collected, info, path, output_dir, formats=formats)
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


COMMANDS = [transcribe]
