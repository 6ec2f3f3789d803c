"""Deliver a lossy encode at the loudness it was meant to have.

A lossy encoder does not keep the level of what it is given: ffmpeg's AAC
low-passes at low bitrates (up to -0.37 LU on real music at 64 kbit/s), MP3
and Opus move a normalized file by 0.1-0.3 LU. The cure ffmpeg-normalize and
the ladder apply is the same: decode what was written, measure it, and encode
again with the difference as gain. The encoder's level is not linear in its
input gain (a 0.1 dB change of input moved one AAC rendition from -0.34 to
+0.03 LU as its coding choices flipped), so the correction iterates a few
times and keeps the closest encode. Nor does the gain always reach the file
whole: normalize's limiter comes after it, and on a limited podcast 1 dB
more gain raised the decoded loudness by 0.41 LU. Each step divides the
delta by the loudness change per dB of gain that the last two encodes
showed (a secant step), once there are two.

This is the one implementation, used by :func:`audiokit.loudness.normalize_file`
and the transcode ladder.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .meter import _json_number

__all__ = ["LEVEL_MATCH_PASSES", "LEVEL_MATCH_TOLERANCE_LU", "LevelMatch", "encode_at_level"]

#: How far the decoded file may be from its intended loudness, LU.
LEVEL_MATCH_TOLERANCE_LU = 0.1
#: Most extra encodes while matching.
LEVEL_MATCH_PASSES = 3
#: Bounds on the loudness change per dB of gain that two encodes show. Above the upper bound, or at
#: or below zero, the encoder flipped its coding choices between them and a plain step (1) is taken;
#: under the lower bound the step is capped at 1 / MIN_SLOPE times the delta.
MIN_SLOPE, MAX_SLOPE = 0.2, 1.0


@dataclass(frozen=True)
class LevelMatch:
    """What matching did."""

    #: gain added to the encoder's input on the kept encode, dB (0 when the first encode was kept)
    gain_db: float
    #: integrated loudness of what the first encode was given, LUFS: the level meant
    intended_lufs: float
    #: integrated loudness of the kept file as decoded, LUFS
    delivered_lufs: float
    #: encodes made in all, the first included
    encodes: int

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"gain_db": round(self.gain_db, 4), "intended_lufs": _json_number(self.intended_lufs),
                "delivered_lufs": _json_number(self.delivered_lufs), "encodes": self.encodes}


def encode_at_level(path: str | os.PathLike[str], encode: Callable[[float, Path], float],
                    measure: Callable[[Path], float], *, tolerance_lu: float = LEVEL_MATCH_TOLERANCE_LU,
                    max_passes: int = LEVEL_MATCH_PASSES) -> LevelMatch:
    """Encode to ``path`` so that its decoded loudness is within ``tolerance_lu`` of what was meant.

    Parameters
    ----------
    path : str or os.PathLike
        Where the kept encode ends up (renamed into place; other candidates
        are written beside it under hidden names and removed).
    encode : callable(gain_db, path) -> float
        Writes the encode of the programme with ``gain_db`` added to ``path``
        and returns the integrated loudness of the samples it handed the
        encoder, LUFS. The first call (``gain_db`` 0) sets the target: the
        decoded file should read what the encoder was given.
    measure : callable(path) -> float
        The integrated loudness of a written file as decoded, LUFS.
    tolerance_lu : float
    max_passes : int
        Extra encodes at most.

    Returns
    -------
    LevelMatch
        The closest encode's figures; it may still be off by more than the
        tolerance when the encoder cannot get closer in ``max_passes``. A
        target or reading that is not finite (silence) means one encode.
    """
    path = Path(os.fspath(path))
    target_lufs = encode(0.0, path)
    delivered = measure(path)
    best_gain_db, best_lufs = 0.0, delivered
    gain_db, candidates = 0.0, list[Path]()
    previous: tuple[float, float] | None = None  # (gain, reading) of the encode before the latest
    try:
        while (len(candidates) < max_passes and math.isfinite(target_lufs) and math.isfinite(delivered)
               and abs(best_lufs - target_lufs) > tolerance_lu):
            slope = _slope(previous, (gain_db, delivered))
            previous = (gain_db, delivered)
            gain_db -= (delivered - target_lufs) / slope
            candidate = path.with_name(f".{path.stem}.level{len(candidates)}{path.suffix}")
            candidates.append(candidate)
            encode(gain_db, candidate)
            delivered = measure(candidate)
            if math.isfinite(delivered) and abs(delivered - target_lufs) < abs(best_lufs - target_lufs):
                os.replace(candidate, path)
                best_gain_db, best_lufs = gain_db, delivered
    finally:
        for candidate in candidates:
            candidate.unlink(missing_ok=True)
    return LevelMatch(best_gain_db, target_lufs, best_lufs, 1 + len(candidates))


def _slope(previous: tuple[float, float] | None, latest: tuple[float, float]) -> float:
    """Decoded loudness change per dB of gain between two (gain, reading) encodes; 1 with one encode.

    Outside (0, MAX_SLOPE] the two disagree with any gain stage (the encoder flipped its choices): 1.
    """
    if previous is None or latest[0] == previous[0]:
        return 1.0
    slope = (latest[1] - previous[1]) / (latest[0] - previous[0])
    return max(slope, MIN_SLOPE) if 0.0 < slope <= MAX_SLOPE else 1.0
