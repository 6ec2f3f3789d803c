"""``audiokit analyze FILE...``: tempo, key, spectral summary, silence, speech/music."""

from __future__ import annotations

import click

from .main_helpers import report_files
from .stdio import AudioPath

__all__ = ["COMMANDS", "analyze"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=AudioPath())
@click.option("--key-profile", type=click.Choice(["krumhansl", "temperley"]), default="krumhansl", show_default=True,
              help="Key profile correlated with the chroma.")
@click.option("--beats/--no-beats", default=False, help="Include beat times in --json and --jsonl output.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list with one object per file.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line, per file.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def analyze(files: tuple[str, ...], key_profile: str, beats: bool, as_json: bool, as_jsonl: bool,
            quiet: bool) -> None:
    """Analyze FILES: tempo (BPM), key and mode, spectral centroid/bandwidth/rolloff, silence, speech ratio.

    A FILE '-' is read from stdin. A progress bar on a terminal counts the files.

    \b
    Examples:
      audiokit analyze track.flac
      audiokit analyze uploads/*.mp3 --jsonl --beats
      audiokit analyze - --json < upload.bin
    """
    from audiokit.analysis import analyze as analyze_audio

    def measure(name: str, path: str) -> dict:
        document = {"file": name, **analyze_audio(path, key_profile=key_profile).to_dict()}
        if not beats:
            del document["tempo"]["beat_times_s"]
        return document

    report_files(files, measure, _human, as_json=as_json, as_jsonl=as_jsonl, quiet=quiet)


def _human(document: dict) -> str:
    spectral, segments = document["spectral"], document["segments"]
    return "\n".join([
        document["file"],
        f"  tempo       {document['tempo']['bpm']:.1f} BPM",
        f"  key         {document['key']['key']}",
        f"  spectrum    centroid {spectral['centroid_hz']:.0f} Hz, bandwidth {spectral['bandwidth_hz']:.0f} Hz, "
        f"rolloff {spectral['rolloff_hz']:.0f} Hz",
        f"  content     speech {segments['speech_ratio']:.0%}, music {segments['music_ratio']:.0%}, "
        f"silence {segments['silence_ratio']:.0%}, other {segments.get('other_ratio', 0.0):.0%} "
        f"({segments.get('method', 'energy')})",
    ])


COMMANDS = [analyze]
