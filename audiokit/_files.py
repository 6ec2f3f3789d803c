"""Atomic outputs: every file and folder audiokit writes appears whole or not at all.

A file is written under a hidden temporary name in its destination folder and
``os.replace``d over the destination; a folder is built elsewhere and renamed
into place. A crash leaves at most a hidden ``*.partial`` file, never a
half-written one under the real name.

Inputs are checked here too (:func:`check_input_file`): a path must name a
readable, non-empty regular file before anything opens, hashes or decodes it,
so a FIFO cannot hang a batch and a symlink loop or a device is a clean error.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import uuid
from pathlib import Path

from .errors import FormatError, ParameterError

__all__ = ["check_input_file", "display_path", "file_sha256", "replace_dir", "resolve_input", "write_atomically"]

_HASH_CHUNK_BYTES = 1 << 20


def write_atomically(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` via a temporary name; returns the path."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        temp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def replace_dir(staging: Path, final: Path) -> None:
    """Rename the finished folder ``staging`` to ``final``, retiring an older ``final`` first."""
    if final.exists():
        retired = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(final, retired)
        os.replace(staging, final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, final)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks (memory stays bounded).

    The path is checked first (:func:`check_input_file`): hashing a FIFO would
    block forever, so it, a device or a symbolic link loop raises FormatError.
    """
    check_input_file(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as printable text: bytes that are not UTF-8 appear as ``\\xNN`` escapes.

    File names on POSIX are bytes; Python keeps undecodable ones as lone
    surrogates (PEP 383), which cannot be printed or written as UTF-8.
    """
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


def resolve_input(path: str | os.PathLike[str]) -> Path:
    """``Path(path).resolve()``, or the absolute path where resolving fails (a symbolic link loop).

    Listing inputs must not fail a batch; :func:`check_input_file` then fails
    that one input with a message.
    """
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop, 3.13 OSError
        return Path(os.path.abspath(path))


def check_input_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path if it names a readable, non-empty regular file.

    Call it before opening, hashing or decoding an input: a FIFO (which would
    block the first read forever), a character or block device, a socket, a
    directory, a symbolic link that loops or dangles, an unreadable or an empty
    file each raise :class:`~audiokit.errors.FormatError` naming the path.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        If ``path`` is not a str or os.PathLike.
    FormatError
        If it is not a readable, non-empty regular file.

    Examples
    --------
    >>> check_input_file("/dev/null")
    Traceback (most recent call last):
    ...
    audiokit.errors.FormatError: /dev/null: is a character device, not a regular file; pass an audio file
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path is a {type(path).__name__}; expected a file path (str or os.PathLike)")
    path = Path(os.fspath(path))
    shown = display_path(path)
    try:
        info = os.stat(path)  # follows symbolic links; never opens the file
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise FormatError(f"{shown}: symbolic link loop; point the link at an audio file") from None
        if error.errno == errno.ENOENT:
            if os.path.islink(path):
                raise FormatError(f"{shown}: symbolic link to a missing file ({os.readlink(path)})") from None
            raise FormatError(f"{shown}: no such file") from None
        if error.errno == errno.ENAMETOOLONG:
            raise FormatError(f"{shown[:80]}...: file name too long") from None
        raise FormatError(f"{shown}: cannot be read ({error.strerror}); check the path and its permissions") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise FormatError(f"{shown}: is a directory; expected an audio file")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
                else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a special file")
        raise FormatError(f"{shown}: is {kind}, not a regular file; pass an audio file")
    if not os.access(path, os.R_OK):
        raise FormatError(f"{shown}: permission denied; make the file readable")
    if info.st_size == 0:
        raise FormatError(f"{shown}: file is empty (0 bytes)")
    return path
