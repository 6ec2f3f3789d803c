"""What a transcription returns: :class:`Word`, :class:`Segment`, :class:`TranscriptInfo`.

All three are frozen dataclasses with a ``to_dict()`` whose keys are the JSON
writer's keys, so ``json.dumps(segment.to_dict())`` is the file format.
Times are seconds from the start of the input, rounded to milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Word", "Segment", "TranscriptInfo"]


@dataclass(frozen=True)
class Word:
    """One word with its time span, from cross-attention alignment (DTW)."""

    #: start of the word, seconds from the start of the input
    start_s: float
    #: end of the word, seconds from the start of the input
    end_s: float
    #: the word as decoded, with its leading space and attached punctuation
    text: str
    #: mean probability of the word's tokens, in [0, 1]
    probability: float

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Segment:
    """One span of speech with its text, as delimited by Whisper's timestamp tokens."""

    #: start of the segment, seconds from the start of the input
    start_s: float
    #: end of the segment, seconds from the start of the input
    end_s: float
    #: the segment's text, stripped of surrounding whitespace
    text: str
    #: the segment's words with their own spans (empty without word timestamps)
    words: tuple[Word, ...] = ()
    #: mean log-probability of the tokens of the decoded window this segment came from
    avg_logprob: float = 0.0
    #: probability of the no-speech token for that window, in [0, 1]
    no_speech_prob: float = 0.0

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict, words as a list of dicts."""
        document = asdict(self)
        document["words"] = [word.to_dict() for word in self.words]
        return document


@dataclass(frozen=True)
class TranscriptInfo:
    """Facts about a transcription known before its segments are decoded."""

    #: ISO 639-1 language code the text is decoded in, e.g. "en"
    language: str
    #: probability of that language (1.0 when given or when the model is English-only)
    language_probability: float
    #: length of the input, seconds
    duration_s: float
    #: registry name or path of the model
    model: str
    #: "openai" or "faster"
    backend: str
    #: "cpu" or "cuda"
    device: str
    #: numeric precision the model runs in: "float32", "float16" or "int8"
    compute_type: str
    #: whether Silero VAD chose the decoded regions (False: the whole input in 30 s windows)
    vad: bool
    #: sha256 of the weights file the model was loaded from
    weights_sha256: str = field(default="")

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return asdict(self)
