"""Moderation: transcript flags, explicit labels, audio delivery checks and bleeping.

``import audiokit.models.moderation`` is cheap: Whisper (and torch) load only
when :func:`moderate` has to transcribe.

Examples
--------
>>> from audiokit.models.moderation import moderate
>>> result = moderate("episode.mp3", policy="podcast", bleep="episode.clean.mp3")  # doctest: +SKIP
>>> result.label.explicit, [flag.category for flag in result.flags]                # doctest: +SKIP
(True, ['profanity', 'true_peak'])
"""

from .bleep import BLEEP_MODES, PAD_MS, bleep, refine_spans
from .checks import CheckOptions, check_audio
from .lexicon import CATEGORIES, SEVERITIES, Lexicon, load_lexicon
from .moderate import masked_transcript_path, moderate
from .policy import POLICIES, Policy, explicit_label
from .result import BleepReport, ExplicitLabel, Flag, ModerationResult
from .transcript import flag_transcript, masked_transcript, read_transcript

__all__ = [
    "BLEEP_MODES",
    "CATEGORIES",
    "PAD_MS",
    "POLICIES",
    "SEVERITIES",
    "BleepReport",
    "CheckOptions",
    "ExplicitLabel",
    "Flag",
    "Lexicon",
    "ModerationResult",
    "Policy",
    "bleep",
    "check_audio",
    "explicit_label",
    "flag_transcript",
    "load_lexicon",
    "masked_transcript",
    "masked_transcript_path",
    "moderate",
    "read_transcript",
    "refine_spans",
]
