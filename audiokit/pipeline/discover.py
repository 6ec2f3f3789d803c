"""Turn ingest's INPUT arguments (files, folders, globs) into a list of files."""

from __future__ import annotations

import glob
from pathlib import Path

from .._files import resolve_input
from ..errors import ParameterError

__all__ = ["AUDIO_EXTENSIONS", "discover_inputs"]

#: Extensions picked up when a folder or glob is given (files named directly are always taken).
AUDIO_EXTENSIONS = frozenset({
    ".wav", ".flac", ".aiff", ".aif", ".mp3", ".ogg", ".opus", ".m4a", ".mp4", ".aac",
    ".webm", ".mka", ".caf", ".w64", ".wv",
})


def discover_inputs(inputs: list[str], *, exclude: Path | None = None) -> list[Path]:
    """Expand files, folders (recursively) and glob patterns, in a stable order.

    Parameters
    ----------
    inputs : list of str
        As given on the command line.
    exclude : Path, optional
        A folder whose files are never inputs (ingest's own output folder).

    Returns
    -------
    list of Path
        Unique paths, in the order given, folders and globs sorted.

    Raises
    ------
    ParameterError
        If an input matches nothing.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        elif path.exists() or not glob.has_magic(item):
            matches = [path]  # a named file, or a missing one that ingest reports as failed
        else:
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True)
                             if Path(p).is_file() and Path(p).suffix.lower() in AUDIO_EXTENSIONS)
            if not matches:
                raise ParameterError(f"{item!r} matches no audio files")
        found.extend(matches)
    if exclude is not None:
        excluded = exclude.resolve()
        found = [p for p in found if excluded not in resolve_input(p).parents]
    unique = list(dict.fromkeys(resolve_input(p) for p in found))
    return unique
