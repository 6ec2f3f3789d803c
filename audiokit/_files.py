"""Atomic outputs: every file and folder audiokit writes appears whole or not at all.

A file is written under a hidden temporary name in its destination folder and
``os.replace``d over the destination; a folder is built elsewhere and renamed
into place. A crash leaves at most a hidden ``*.partial`` file, never a
half-written one under the real name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

__all__ = ["file_sha256", "replace_dir", "write_atomically"]

_HASH_CHUNK_BYTES = 1 << 20


def write_atomically(path, data: bytes | str) -> Path:
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


def file_sha256(path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks (memory stays bounded)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
