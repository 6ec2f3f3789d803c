"""The per-track manifest: its name, version, and reading it back.

The manifest's structure is specified by the JSON Schema in
``docs/manifest.schema.json`` (tests validate every manifest they produce
against it). Bump :data:`MANIFEST_VERSION` on any incompatible change.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import FormatError

__all__ = ["MANIFEST_NAME", "MANIFEST_VERSION", "read_manifest"]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


def read_manifest(path: Path) -> dict:
    """Load one manifest, checking it is a manifest this version understands."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise FormatError(f"{path}: not a readable manifest ({error})") from None
    version = document.get("manifest_version") if isinstance(document, dict) else None
    if version != MANIFEST_VERSION:
        raise FormatError(f"{path}: manifest_version is {version!r}; this audiokit reads {MANIFEST_VERSION}")
    return document
