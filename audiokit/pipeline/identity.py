"""Track identity: what an ingest output folder is keyed by.

A track's id is the sha256 of its input bytes plus the settings that shape
its outputs, so re-running ingest on the same file with the same settings
finds the same folder (a no-op), and changing a setting makes a new one.
"""

from __future__ import annotations

import hashlib
import json

__all__ = ["track_id", "TRACK_ID_LENGTH"]

#: Hex digits of the id used for folder names (64 bits: collisions need ~4e9 tracks).
TRACK_ID_LENGTH = 16


def track_id(input_sha256: str, settings: dict) -> str:
    """The id of one track under ``settings`` (a JSON-able dict)."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{input_sha256}\n{canonical}".encode()).hexdigest()[:TRACK_ID_LENGTH]
