"""``audiokit moderate IN [--transcript T.json] [-o OUT] [--json]``: flags, explicit label, bleeping.

stdout carries the result only: one line per flag and the label, or with
``--json`` the flags document (``docs/flags.schema.json``). Progress goes to
stderr. Exit 0 whether or not there are flags (flags are results, not
failures), 1 on an error (one line on stderr), 2 on a usage error.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import TYPE_CHECKING

import click

from .main_helpers import EXIT_FAILURE, note, progress_bar, report_error, warnings_named
from .stdio import STDIO, AudioPath, force_option, input_files, refuse_existing

if TYPE_CHECKING:
    from audiokit.models.moderation import ModerationResult

__all__ = ["COMMANDS", "moderate"]

#: Kept in step with audiokit.models.moderation.BLEEP_MODES and POLICIES
#: (tests check it) so that ``--help`` needs no numpy.
_BLEEP_MODES = ("tone", "mute", "reverse")
_POLICIES = ("music", "podcast", "kids")


@click.command()
@click.argument("source", metavar="IN", type=AudioPath())
@click.option("--transcript", metavar="T.json", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="JSON transcript (audiokit transcribe -f json) to use instead of transcribing IN.")
@click.option("-o", "--output", "--bleep", "bleep_output", metavar="OUT", default=None,
              type=click.Path(dir_okay=False, path_type=str),
              help="Write a bleeped copy here (IN's format for the same extension) and the masked transcript "
                   "beside it (OUT's name with .json). --bleep is the older spelling.")
@click.option("--bleep-mode", type=click.Choice(_BLEEP_MODES), default="tone", show_default=True,
              help="1 kHz tone at the speech's level, silence, or the speech reversed.")
@click.option("--pad-ms", type=click.FloatRange(0, 1000), default=40.0, show_default=True,
              help="Quiet added to each end of a bleeped word (after a final stop consonant: at least 200 ms, "
                   "for its release); never reaches into a neighbouring word's sound.")
@click.option("--categories", metavar="A,B", default=None,
              help="Comma-separated transcript categories to flag and bleep (default: all): "
                   "profanity, hate, sexual, violence, self-harm, drugs.")
@click.option("--policy", type=click.Choice(_POLICIES), default="podcast", show_default=True,
              help="Explicit-label policy (docs/moderation.md).")
@click.option("--spec", default=None,
              help="Delivery spec of the audio checks: a loudness preset. Default: the policy's "
                   "(music: spotify, -14 LUFS; podcast, kids: podcast, -16 LUFS +-1).")
@click.option("--lexicon", default=None,
              help="Language code of a shipped lexicon or a lexicon .json file (default: the transcript's language).")
@click.option("--audio-checks/--no-audio-checks", default=True, show_default=True,
              help="Check clipping, true peak, loudness, dead air, DC offset, phase and loudness jumps.")
@click.option("--model", default="tiny.en", show_default=True, help="Whisper model when transcribing.")
@click.option("--backend", type=click.Choice(["faster", "openai"]), default="faster", show_default=True,
              help="Whisper backend when transcribing.")
@click.option("--json", "as_json", is_flag=True, help="Print the flags document as one JSON object.")
@force_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")
def moderate(source: str, transcript: str | None, bleep_output: str | None, bleep_mode: str, pad_ms: float,
             categories: str | None, policy: str, spec: str | None, lexicon: str | None, audio_checks: bool,
             model: str, backend: str, as_json: bool, force: bool, quiet: bool) -> None:
    """Flag profanity, slurs and unsafe speech in IN, label it explicit or not, check its audio, and bleep it.

    IN '-' is read from stdin. A progress bar on a terminal follows the
    transcription.

    \b
    Examples:
      audiokit moderate episode.mp3 --json
      audiokit moderate episode.wav -o clean.wav --pad-ms 40 --policy podcast
      audiokit moderate episode.wav --transcript episode.json --no-audio-checks
      audiokit moderate - --json < episode.mp3
    """
    from audiokit.errors import AudiokitError, ParameterError
    from audiokit.models.moderation import CheckOptions
    from audiokit.models.moderation import moderate as run_moderate
    from audiokit.models.moderation.transcript import check_categories

    try:
        chosen = check_categories(categories.split(",")) if categories is not None else None
    except ParameterError as error:
        raise click.BadParameter(str(error), param_hint="'--categories'") from None
    try:
        options = CheckOptions(spec=spec) if spec is not None else None
    except ParameterError as error:
        raise click.BadParameter(str(error), param_hint="'--spec'") from None
    if bleep_output == STDIO:
        raise click.BadParameter("the bleeped copy comes with its masked transcript and subtitles beside it, so it "
                                 "needs a file name, not '-'", param_hint="'-o' / '--output'")
    if bleep_output is not None:
        from audiokit.models.moderation import masked_transcript_path

        refuse_existing(bleep_output, masked_transcript_path(bleep_output), force=force)
    with input_files([source]) as ((name, path),), warnings_named(name):
        if transcript is None and os.path.isfile(path):
            note(f"{name}: transcribing with {model} ({backend})", quiet=quiet)
        try:
            with progress_bar(name, quiet=quiet) as bar:
                result = run_moderate(
                    path, transcript=transcript, lexicon=lexicon, categories=chosen, policy=policy,
                    audio_checks=audio_checks, check_options=options, bleep=bleep_output, bleep_mode=bleep_mode,
                    pad_ms=pad_ms, model=model, backend=backend, progress=bar.update,
                )
        except AudiokitError as error:
            report_error(error, name)
            raise click.exceptions.Exit(EXIT_FAILURE) from None
    if result.source:
        result = dataclasses.replace(result, source=name)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_human(result))


def _human(result: ModerationResult) -> str:
    label = result.label
    lines = [
        f"{result.source}: {'explicit' if label.explicit else 'not explicit'} under the {label.policy} policy"
        + (f" ({', '.join(label.reasons)})" if label.reasons else ""),
        f"  {len(result.flags)} flag{'' if len(result.flags) == 1 else 's'}"
        + (f" (lexicon {result.lexicon}, spec {result.spec})" if result.spec else f" (lexicon {result.lexicon})"),
    ]
    for flag in result.flags:
        lines.append(f"  {flag.start_s:9.3f} {flag.end_s:9.3f} s  {flag.source:<10} {flag.category:<13} "
                     f"{flag.severity:<6} {flag.confidence:.2f}  {flag.evidence}")
    if result.bleep is not None:
        lines.append(f"  bleeped {len(result.bleep.spans)} span{'' if len(result.bleep.spans) == 1 else 's'} "
                     f"({result.bleep.mode}): {result.bleep.output}, transcript {result.bleep.transcript}")
    return "\n".join(lines)


COMMANDS = [moderate]
