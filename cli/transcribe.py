"""``audiokit transcribe IN... -o DIR -f srt,vtt``: offline Whisper transcripts and subtitles.

stdout carries the paths written (or, with ``--json``, one JSON document; or
with ``-o -`` the transcript itself); progress goes to stderr. Exit 0 when
every input worked, 1 when none did, 3 when some did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from .main_helpers import echo_result, exit_for_batch, progress_bar, report_error, warnings_named
from .stdio import STDIN_NAME, STDIO, AudioPath, check_text_output, force_option, input_files, refuse_existing, shown

if TYPE_CHECKING:
    from audiokit.models.whisper import Segment

__all__ = ["COMMANDS", "transcribe"]


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=AudioPath())
@click.option("-o", "--output", "--output-dir", "output_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=str, allow_dash=True),
              help="Folder for the transcripts (IN's NAME.ext gives DIR/NAME.<format>; stdin gives "
                   "DIR/stdin.<format>), or '-' to print one format of one input on stdout.")
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
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print that object of each input on one line, as it is done.")
@force_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def transcribe(inputs: tuple[str, ...], output_dir: str, formats: str, backend: str, model: str,
               language: str | None, vad: bool, word_timestamps: bool, device: str, compute_type: str,
               beam_size: int, temperature: float, temperature_increment: float, initial_prompt: str | None,
               condition_on_previous_text: bool, max_line_width: int, max_line_count: int, highlight_words: bool,
               as_json: bool, as_jsonl: bool, force: bool, quiet: bool) -> None:
    """Transcribe INPUTS offline with Whisper and write subtitles and transcripts.

    An input '-' is read from stdin; '-o -' prints the transcript (one
    format) on stdout. A progress bar on a terminal follows the audio
    transcribed.

    \b
    Examples:
      audiokit transcribe episode.mp3 -o transcripts/ -f srt,vtt
      audiokit transcribe talk.wav -f srt,txt --max-line-width 32 --initial-prompt "audiokit, ffmpeg"
      audiokit transcribe - -o - -f vtt < episode.mp3 > episode.vtt
      audiokit transcribe episodes/*.mp3 -o subs/ -f srt --jsonl > transcripts.jsonl
    """
    from audiokit.errors import AudiokitError, ParameterError
    from audiokit.models.whisper import get_writer, write_transcript
    from audiokit.models.whisper import transcribe as run_transcribe
    from audiokit.models.whisper.writers import SubtitleOptions, parse_formats, transcript_paths

    try:
        chosen = parse_formats(formats)
    except ParameterError as error:
        raise click.BadParameter(str(error), param_hint="'-f' / '--format'") from None
    if output_dir == STDIO:
        check_text_output(output_dir, as_json=as_json or as_jsonl, what="the transcript")
        if len(chosen) != 1 or len(inputs) != 1:
            raise click.UsageError("-o - prints one transcript on stdout: give one input and one -f format "
                                   f"(not {','.join(chosen)})")
    subtitles = SubtitleOptions(max_line_width=max_line_width, max_line_count=max_line_count,
                                highlight_words=highlight_words)
    temperatures = _temperatures(temperature, temperature_increment)
    documents: list[dict[str, Any]] = []
    failures = 0
    with input_files(inputs) as named_inputs:
        for name, path in named_inputs:
            stem = "stdin" if name == STDIN_NAME else name
            try:
                if output_dir != STDIO:  # before transcribing: no minutes spent on outputs that would be refused
                    refuse_existing(*transcript_paths(stem, output_dir, formats=chosen), force=force)
                with warnings_named(name):
                    segments, info = run_transcribe(
                        path, model=model, backend=backend, language=language, word_timestamps=word_timestamps,
                        vad=vad, device=device, compute_type=compute_type, beam_size=beam_size,
                        temperature=temperatures, initial_prompt=initial_prompt,
                        condition_on_previous_text=condition_on_previous_text,
                    )
                    collected = _collected(segments, name, info.duration_s, quiet=quiet)
                if output_dir == STDIO:
                    text = get_writer(chosen[0])(collected, info, options=subtitles)
                    click.echo(text, nl=bool(text) and not text.endswith("\n"))
                    return
                written = write_transcript(collected, info, stem, output_dir, formats=chosen, options=subtitles)
            except AudiokitError as error:
                failures += 1
                report_error(error, name)
                document: dict[str, Any] = {"path": name, "error": shown(str(error))}
            else:
                document = {
                    "path": name,
                    "outputs": [str(p) for p in written],
                    "info": info.to_dict(),
                    "text": " ".join(segment.text for segment in collected),
                }
                if not (as_json or as_jsonl):
                    for output in written:
                        echo_result(str(output))
            documents.append(document)
            if as_jsonl and not as_json:
                echo_result(json.dumps(document, ensure_ascii=False))
    if as_json:
        click.echo(json.dumps(documents, indent=2, ensure_ascii=False))
    exit_for_batch(failures, len(inputs))


def _collected(segments: Iterable[Segment], name: str, duration_s: float, *, quiet: bool) -> list[Segment]:
    """The segments as a list, a progress bar on a terminal following the seconds transcribed."""
    collected: list[Segment] = []
    with progress_bar(name, quiet=quiet, total=round(duration_s, 1)) as bar:
        for segment in segments:
            collected.append(segment)
            bar.update(max(0.0, segment.end_s - bar.n))
        bar.update(max(0.0, duration_s - bar.n))
    return collected


def _temperatures(first: float, increment: float) -> tuple[float, ...]:
    """Whisper's CLI: ``first``, then steps of ``increment`` up to 1.0 (just ``first`` when it is 0)."""
    if increment <= 0:
        return (first,)
    steps = int(round((1.0 - first) / increment + 1e-9))
    return tuple(round(first + step * increment, 6) for step in range(steps + 1))


COMMANDS = [transcribe]
