"""What moderation returns: :class:`Flag`, :class:`ExplicitLabel`, :class:`BleepReport`, :class:`ModerationResult`.

All are frozen dataclasses with a ``to_dict()``; ``ModerationResult.to_dict()``
is the flags document of ``audiokit moderate --json`` (schema:
``docs/flags.schema.json``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Flag", "ExplicitLabel", "BleepReport", "ModerationResult", "FLAGS_FORMAT"]

#: Identifies the flags document format (``format`` key of the JSON).
FLAGS_FORMAT = "audiokit-flags/1"


@dataclass(frozen=True)
class Flag:
    """One finding, pointing at the seconds it concerns, with its evidence."""

    #: transcript: profanity, hate, sexual, violence, self-harm, drugs;
    #: audio: clipping, true_peak, loudness, dead_air, dc_offset, phase, loudness_jump
    category: str
    #: "low", "medium" or "high"
    severity: str
    #: start of the flagged span, seconds from the start of the input
    start_s: float
    #: end of the flagged span, seconds from the start of the input
    end_s: float
    #: "transcript" or "audio"
    source: str
    #: the rule that fired: "en.profanity.fuck", "audio.clipping", ...
    rule_id: str
    #: how sure the flag is, in [0, 1] (match strength x recognizer probability; 1 for measurements)
    confidence: float
    #: what was found, in words: the matched text and how it matched, or the measured value and its limit
    evidence: str
    #: the words as transcribed (transcript flags); "" for audio flags
    text: str = ""
    #: the measured value behind an audio flag (dBTP, LUFS, s, ...); None for transcript flags
    value: float | None = None
    #: the limit the value crossed, same unit; None for transcript flags
    limit: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        document = asdict(self)
        for key in ("value", "limit"):
            if document[key] is not None and not math.isfinite(document[key]):
                document[key] = None
        return document


@dataclass(frozen=True)
class ExplicitLabel:
    """The explicit ("E") label of a track or episode under a policy."""

    #: the policy applied: "music", "podcast" or "kids"
    policy: str
    #: whether the content must carry the explicit label
    explicit: bool
    #: rule ids of the flags that made it explicit, in first-occurrence order
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"policy": self.policy, "explicit": self.explicit, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class BleepReport:
    """What bleeping wrote."""

    #: the bleeped audio file
    output: str
    #: the masked transcript written beside it (JSON transcript format)
    transcript: str
    #: "tone", "mute" or "reverse"
    mode: str
    #: the (start_s, end_s) spans replaced: the words' edges found on the audio, padded (pad_ms), overlaps joined
    spans: tuple[tuple[float, float], ...]
    #: the masked subtitles written beside it (SRT, then WebVTT)
    subtitles: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"output": self.output, "transcript": self.transcript, "mode": self.mode,
                "spans": [list(span) for span in self.spans], "subtitles": list(self.subtitles)}


@dataclass(frozen=True)
class ModerationResult:
    """Flags, label and measurements of one input."""

    #: the input file ("" for audio passed in memory)
    source: str
    #: length of the input, seconds
    duration_s: float
    #: every flag, in time order (transcript and audio together)
    flags: tuple[Flag, ...]
    #: the explicit label under the chosen policy
    label: ExplicitLabel
    #: the delivery spec the audio checks used (a loudness preset name), "" when audio was not checked
    spec: str
    #: loudness of the input (LoudnessReport.to_dict()), None when audio was not checked
    loudness: dict | None
    #: "<language>@<version>" of the lexicon used
    lexicon: str
    #: where the transcript came from: a transcript file, "whisper:<model>/<backend>", or "" (none)
    transcript: str
    #: what bleeping wrote, None when not asked
    bleep: BleepReport | None = None

    def to_dict(self) -> dict:
        """The flags document (``docs/flags.schema.json``)."""
        counts: dict[str, int] = {}
        for flag in self.flags:
            counts[flag.category] = counts.get(flag.category, 0) + 1
        return {
            "format": FLAGS_FORMAT,
            "source": self.source,
            "duration_s": self.duration_s,
            "label": self.label.to_dict(),
            "explicit": self.label.explicit,
            "spec": self.spec,
            "loudness": self.loudness,
            "lexicon": self.lexicon,
            "transcript": self.transcript,
            "counts": counts,
            "flags": [flag.to_dict() for flag in self.flags],
            "bleep": None if self.bleep is None else self.bleep.to_dict(),
        }
