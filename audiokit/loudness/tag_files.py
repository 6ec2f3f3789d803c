"""Write ReplayGain 2.0 and Opus R128 gain tags into existing files, as rsgain's easy mode does.

Each file is measured (streamed, BS.1770-5), its tags computed by
:mod:`.gain_tags`, and written into a copy of the file that is then renamed
over it, so an interrupted run never leaves a half-written file. The audio
bytes are not touched: only the container's tag block changes.

Where each container keeps the tags (the ReplayGain 2.0 specification,
"Metadata format"; RFC 7845 §5.2.1 for Opus):

- FLAC, Ogg Vorbis: Vorbis comments ``REPLAYGAIN_TRACK_GAIN`` etc.;
- Ogg Opus: ``R128_TRACK_GAIN`` / ``R128_ALBUM_GAIN`` only (Q7.8, -23 LUFS);
- MP3, WAV, AIFF: ID3v2 ``TXXX`` frames with those descriptions;
- MP4/M4A: iTunes freeform atoms ``----:com.apple.iTunes:REPLAYGAIN_TRACK_GAIN``.

Tags are read and written with mutagen, the tagging library that beets,
Picard and Quod Libet use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import FormatError, MissingDependencyError
from .gain_tags import codec_gain_tags

if TYPE_CHECKING:
    import mutagen

__all__ = ["GAIN_TAG_KEYS", "GainTagResult", "read_gain_tags", "tag_files", "write_gain_tags"]

#: Every key a gain-tagged file may carry (upper case).
GAIN_TAG_KEYS = ("REPLAYGAIN_TRACK_GAIN", "REPLAYGAIN_TRACK_PEAK", "REPLAYGAIN_ALBUM_GAIN",
                 "REPLAYGAIN_ALBUM_PEAK", "REPLAYGAIN_REFERENCE_LOUDNESS", "R128_TRACK_GAIN", "R128_ALBUM_GAIN")
_ITUNES_FREEFORM = "----:com.apple.iTunes:"


@dataclass(frozen=True)
class GainTagResult:
    """What :func:`tag_files` did to one file."""

    #: the file
    path: str
    #: "tagged", or "skipped" (already tagged and not forced)
    action: str
    #: the tags written (empty when skipped)
    tags: dict[str, str]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"path": self.path, "action": self.action, "tags": dict(self.tags)}


def _mutagen() -> ModuleType:
    try:
        import mutagen
    except ImportError as error:  # pragma: no cover - mutagen is a core dependency
        raise MissingDependencyError("writing gain tags needs mutagen: pip install mutagen") from error
    return mutagen


def _open_tags(path: Path) -> Any:  # a mutagen FileType; its .tags API differs per format
    """The mutagen file object of ``path``, with a tag block (created when absent)."""
    mutagen = _mutagen()
    try:
        handle = mutagen.File(path)
    except mutagen.MutagenError as error:
        raise FormatError(f"{path}: its tags cannot be read ({error}); is it a supported audio file?") from None
    if handle is None:
        raise FormatError(f"{path}: not a format gain tags can be written to (FLAC, Ogg, MP3, M4A, WAV, AIFF)")
    if handle.tags is None:
        handle.add_tags()
    return handle


def _codec_of(handle: mutagen.FileType) -> str:
    """"opus" for Ogg Opus (R128 tags), else the family whose tag layout applies."""
    name = type(handle).__name__
    return {"OggOpus": "opus", "MP4": "mp4", "FLAC": "vorbis", "OggVorbis": "vorbis", "OggFLAC": "vorbis"}.get(
        name, "id3")


def read_gain_tags(path: str | os.PathLike[str]) -> dict[str, str]:
    """The gain tags a file carries, upper-case keys.

    Examples
    --------
    >>> import shutil
    >>> _ = shutil.copy("examples/example.flac", "tagged.flac")
    >>> read_gain_tags("tagged.flac")
    {}
    >>> _ = tag_files(["tagged.flac"])
    >>> read_gain_tags("tagged.flac")
    {'REPLAYGAIN_TRACK_GAIN': '-4.26 dB', 'REPLAYGAIN_TRACK_PEAK': '0.901540'}
    """
    path = Path(os.fspath(path))
    handle = _open_tags(path)
    family, found = _codec_of(handle), {}
    for key in GAIN_TAG_KEYS:
        if family in ("vorbis", "opus"):
            values = handle.tags.get(key) or handle.tags.get(key.lower())
            value = values[0] if values else None
        elif family == "mp4":
            atom = handle.tags.get(_ITUNES_FREEFORM + key) or handle.tags.get(_ITUNES_FREEFORM + key.lower())
            value = bytes(atom[0]).decode("utf-8", "replace") if atom else None
        else:
            frames = [frame for frame in handle.tags.getall("TXXX") if frame.desc.upper() == key]
            value = str(frames[0].text[0]) if frames else None
        if value is not None:
            found[key] = value
    return found


def write_gain_tags(path: str | os.PathLike[str], tags: dict[str, str]) -> None:
    """Replace a file's gain tags with ``tags``, atomically (a tagged copy renamed over it).

    Parameters
    ----------
    path : str or os.PathLike
    tags : dict of str to str
        Keys from :data:`GAIN_TAG_KEYS`; every other gain key is removed.
    """
    mutagen = _mutagen()
    path = Path(os.fspath(path))
    handle, temporary = None, None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        shutil.copy2(path, temporary)
        handle = _open_tags(Path(temporary))
        _replace_tags(handle, _codec_of(handle), tags)
        handle.save()
        os.replace(temporary, path)
        temporary = None
    except (OSError, mutagen.MutagenError) as error:
        raise FormatError(f"{path}: gain tags could not be written ({error}); check that the file and its "
                          "folder are writable") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _replace_tags(handle: Any, family: str, tags: dict[str, str]) -> None:
    if family in ("vorbis", "opus"):
        for key in GAIN_TAG_KEYS:
            for spelling in (key, key.lower()):
                if spelling in handle.tags:
                    del handle.tags[spelling]
        for key, value in tags.items():
            handle.tags[key] = [value]
    elif family == "mp4":
        from mutagen.mp4 import MP4FreeForm

        for key in GAIN_TAG_KEYS:
            for spelling in (key, key.lower()):
                handle.tags.pop(_ITUNES_FREEFORM + spelling, None)
        for key, value in tags.items():
            handle.tags[_ITUNES_FREEFORM + key] = [MP4FreeForm(value.encode("utf-8"))]
    else:
        from mutagen.id3 import TXXX

        for frame in list(handle.tags.getall("TXXX")):
            if frame.desc.upper() in GAIN_TAG_KEYS:
                handle.tags.delall(f"TXXX:{frame.desc}")
        for key, value in tags.items():
            handle.tags.add(TXXX(encoding=3, desc=key, text=[value]))


def tag_files(paths: Sequence[str | os.PathLike[str]], *, album: bool = False,
              force: bool = False) -> list[GainTagResult]:
    """Measure files and write their ReplayGain 2.0 (or Opus R128) tags in place.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        The files; with ``album``, one album.
    album : bool
        Also write album gain and peak, from the files measured as one
        programme (BS.1770-5 gating over all of them).
    force : bool
        Tag files that already carry track (and, with ``album``, album) gain
        tags; they are skipped otherwise, as rsgain does.

    Returns
    -------
    list of GainTagResult
        One per path, in order.

    Raises
    ------
    FormatError
        If a file cannot be decoded or its tags cannot be written (nothing
        is written to that file).
    ParameterError
        If a file is silent or too short for a loudness (no gain is defined).

    Examples
    --------
    >>> import shutil
    >>> from audiokit.loudness import tag_files
    >>> _ = [shutil.copy("examples/example.flac", name) for name in ("01.flac", "02.flac")]
    >>> [r.action for r in tag_files(["01.flac", "02.flac"], album=True)]
    ['tagged', 'tagged']
    >>> [r.action for r in tag_files(["01.flac", "02.flac"], album=True)]  # tagged already: skipped
    ['skipped', 'skipped']
    """
    from .normalize_file import measure_file, measure_files

    files = [Path(os.fspath(path)) for path in paths]
    existing = [read_gain_tags(path) for path in files]
    wanted = ("REPLAYGAIN_ALBUM_GAIN",) if album else ("REPLAYGAIN_TRACK_GAIN",)

    def tagged(path: Path, tags: dict[str, str]) -> bool:
        opus = _codec_of(_open_tags(path)) == "opus"
        keys = tuple(key.replace("REPLAYGAIN", "R128") for key in wanted) if opus else wanted
        return all(key in tags for key in keys)

    if not force and all(tagged(path, tags) for path, tags in zip(files, existing, strict=True)):
        return [GainTagResult(str(path), "skipped", {}) for path in files]
    if album:
        report = measure_files(files)
        tracks, album_report = report.tracks, report
    else:
        tracks, album_report = tuple(measure_file(path) for path in files), None
    results = []
    for path, tags, track in zip(files, existing, tracks, strict=True):
        if not force and tagged(path, tags):
            results.append(GainTagResult(str(path), "skipped", {}))
            continue
        codec = "opus" if _codec_of(_open_tags(path)) == "opus" else "other"
        new = codec_gain_tags(track, codec=codec, album=album_report)
        write_gain_tags(path, new)
        results.append(GainTagResult(str(path), "tagged", new))
    return results
