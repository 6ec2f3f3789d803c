"""``audiokit tag FILE...``: music tags from musicnn's pretrained models."""

from __future__ import annotations

import json

import click

from .main_helpers import echo_result, exit_for_batch, progress_bar, report_error, warnings_named
from .stdio import AudioPath, input_files, shown

__all__ = ["COMMANDS", "tag"]

_MODEL_CHOICES = ["MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg", "all"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=AudioPath())
@click.option("--model", "model", type=click.Choice(_MODEL_CHOICES), default="MTT_musicnn", show_default=True,
              help="MTT: instruments, genres, moods, vocals; MSD: genres, moods, decades; all: every model.")
@click.option("--top", "top_k", type=click.IntRange(min=1), default=5, show_default=True, help="Tags per file and model.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the networks run (auto: a CUDA GPU when torch sees one).")
@click.option("--embedding/--no-embedding", default=False,
              help='With --json or --jsonl, add "embedding" and "embedding_std" (mean and std over 3 s patches).')
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON list: {"file", "model", "tags": [{"label", "score"}, ...]} per file and model.')
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print those objects one per line, as each file is tagged.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def tag(files: tuple[str, ...], model: str, top_k: int, device: str, embedding: bool, as_json: bool,
        as_jsonl: bool, quiet: bool) -> None:
    """Tag the music in FILES ('-': stdin), highest-scoring tags first.

    A progress bar on a terminal counts the files.

    \b
    Examples:
      audiokit tag track.flac
      audiokit tag album/*.mp3 --model all --top 10 --json --embedding
      audiokit tag - --top 3 < upload.bin
      audiokit tag uploads/*.flac --jsonl > tags.jsonl
    """
    from audiokit.errors import AudiokitError
    from audiokit.models.tagging import tag as tag_audio

    documents, failures = [], 0
    with input_files(files) as inputs, progress_bar("files", quiet=quiet, total=len(inputs), unit="file") as bar:
        for name, path in inputs:
            try:
                with warnings_named(name):
                    results = tag_audio(path, model=model, top_k=top_k, device=device)
            except AudiokitError as error:
                failures += 1
                report_error(error, name)
                failed = {"file": name, "error": shown(str(error))}
                if as_json:
                    documents.append(failed)
                elif as_jsonl:
                    echo_result(json.dumps(failed))
                continue
            finally:
                bar.update(1)
            for result in results if isinstance(results, list) else [results]:
                full = result.to_dict()
                document = {"file": name, "model": result.model, "tags": full["tags"]}
                if embedding:
                    document |= {"embedding": full["embedding"], "embedding_std": full["embedding_std"]}
                if as_json:
                    documents.append(document)
                elif as_jsonl:
                    echo_result(json.dumps(document))
                else:
                    tags = ", ".join(f"{item['label']} ({item['score']:.2f})" for item in document["tags"])
                    echo_result(f"{name}\t{result.model}\t{tags}")
    if as_json:
        click.echo(json.dumps(documents, indent=2))
    exit_for_batch(failures, len(files))


COMMANDS = [tag]
