"""The explicit ("E") label from transcript flags, under a documented policy.

A policy gives, per category, the mildest severity that makes content
explicit, and the confidence a flag needs to count. Audio flags never make
content explicit: they are delivery problems, not content.

========  =========  ====  ======  ========  =========  =====  ==============
policy    profanity  hate  sexual  violence  self-harm  drugs  min confidence
========  =========  ====  ======  ========  =========  =====  ==============
music     medium     low   medium  high      high       medium 0.6
podcast   medium     low   medium  medium    medium     medium 0.6
kids      low        low   low     low       low        low    0.5
========  =========  ====  ======  ========  =========  =====  ==============

``music`` follows the Parental Advisory practice (strong language, sex,
substance abuse, threats; violence in a song's story alone is not enough);
``podcast`` follows the podcast directories' "explicit" tag (profanity or
content unsuitable for children, so any medium flag); ``kids`` marks anything
a lexicon flags, "damn" included.

Each policy also names the delivery spec its content is checked against:
music the streaming music spec (``spotify``: -14 LUFS, -1 dBTP, Spotify's
published mastering guidance), podcasts and kids' content the podcast spec
(``podcast``: -16 LUFS +-1, -1 dBTP, Apple Podcasts' guidance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from audiokit.errors import ParameterError

from .lexicon import SEVERITIES
from .result import ExplicitLabel, Flag

__all__ = ["Policy", "POLICIES", "get_policy", "explicit_label"]


@dataclass(frozen=True)
class Policy:
    """When content gets the explicit label."""

    #: the policy's name: "music", "podcast" or "kids"
    name: str
    #: category -> mildest severity that makes content explicit
    min_severity: dict
    #: flags below this confidence do not count
    min_confidence: float
    #: where the thresholds come from
    description: str
    #: the delivery spec (a loudness preset) the audio checks use under this policy
    spec: str = "podcast"

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


POLICIES: dict[str, Policy] = {
    policy.name: policy
    for policy in (
        Policy("music", {"profanity": "medium", "hate": "low", "sexual": "medium", "violence": "high",
                         "self-harm": "high", "drugs": "medium"}, 0.6,
               "Parental Advisory practice: strong language, sex, drugs, threats", spec="spotify"),
        Policy("podcast", {"profanity": "medium", "hate": "low", "sexual": "medium", "violence": "medium",
                           "self-harm": "medium", "drugs": "medium"}, 0.6,
               "podcast directories' explicit tag: profanity or content unsuitable for children"),
        Policy("kids", {category: "low" for category in
                        ("profanity", "hate", "sexual", "violence", "self-harm", "drugs")}, 0.5,
               "anything the lexicon flags"),
    )
}


def get_policy(name: str) -> Policy:
    """The policy called ``name`` (one of :data:`POLICIES`)."""
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        raise ParameterError(f"policy is {name!r}; expected one of {', '.join(POLICIES)}") from None


def explicit_label(flags: Sequence[Flag], *, policy: str = "podcast") -> ExplicitLabel:
    """Whether ``flags`` make content explicit under ``policy``, and which rules did.

    Examples
    --------
    >>> from audiokit.models.moderation.result import Flag
    >>> damn = Flag("profanity", "low", 1.0, 1.3, "transcript", "en.profanity.damn", 0.9, "exact match")
    >>> explicit_label([damn], policy="podcast").explicit, explicit_label([damn], policy="kids").explicit
    (False, True)
    """
    chosen = get_policy(policy)
    reasons: list[str] = []
    for flag in flags:
        threshold = chosen.min_severity.get(flag.category)
        if (flag.source == "transcript" and threshold is not None and flag.confidence >= chosen.min_confidence
                and SEVERITIES.index(flag.severity) >= SEVERITIES.index(threshold) and flag.rule_id not in reasons):
            reasons.append(flag.rule_id)
    return ExplicitLabel(policy=chosen.name, explicit=bool(reasons), reasons=tuple(reasons))
