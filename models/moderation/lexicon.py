"""Lexicons as versioned data files, and the matcher that finds their terms in words.

A lexicon is one JSON file per language, ``lexicons/<language>.json``
(``docs/moderation.md`` gives the format): single-word ``terms``, each with a
category, a severity and a match mode; multi-word ``phrases``; and an
``allow`` list of words that contain a term but are not one ("Scunthorpe",
"cocktail"). :meth:`Lexicon.match` finds them in a sequence of words, seeing
through the usual obfuscations:

- leetspeak: ``sh1t``, ``$hit``, ``@ss`` (digits and symbols read as letters);
- repeated letters: ``fuuuuck``, ``shiiiit``;
- masking characters: ``f*ck``, ``f**k``, ``sh#t`` (each run stands for 1 to n+1 letters);
- spacing: ``f u c k`` (a run of single-letter words) and ``f.u.c.k``, ``f-u-c-k``.

Each match carries a confidence in (0, 1] that says how direct it was:
1.0 for the term itself, less for an inflection, an embedded term or an
obfuscated spelling (:data:`MATCH_CONFIDENCE`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from audiokit.errors import ParameterError

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "MATCH_CONFIDENCE",
    "Term",
    "PhraseRule",
    "Match",
    "Lexicon",
    "load_lexicon",
    "normalize_word",
]

#: Transcript flag categories, in report order.
CATEGORIES = ("profanity", "hate", "sexual", "violence", "self-harm", "drugs")
#: Severities, mildest first.
SEVERITIES = ("low", "medium", "high")
#: The lexicon file format this module reads.
LEXICON_FORMAT = "audiokit-lexicon/1"
#: How each term matches a normalized word: the whole word (plus a common
#: suffix), a word starting with the form, or the form anywhere inside a word.
MATCH_MODES = ("word", "stem", "embedded")
#: Confidence of each kind of match, before the recognizer's word probability.
MATCH_CONFIDENCE = {
    "exact": 1.0,
    "inflected": 0.95,
    "repeated": 0.9,
    "embedded": 0.9,
    "obfuscated": 0.85,
    "masked": 0.8,
}
#: Suffixes a "word" term may carry and still match (shits, bitches, fucked).
SUFFIXES = ("", "s", "es", "ed", "ing", "in", "er", "ers", "y", "ty")
#: Leetspeak and symbol substitutions, applied to words that also hold letters.
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                      "@": "a", "$": "s", "!": "i", "|": "i", "+": "t"})
#: Characters that mask letters (f*ck, sh#t).
MASKS = "*#%"
#: Punctuation stripped from both ends of a word before matching.
_EDGE = "\"'()[]{}<>.,;:?!¿¡“”‘’…-–—"
#: A word of single characters joined by separators: f.u.c.k, f-u-c-k, f_u_c_k.
_SEPARATED = re.compile(r"^(?:[^\W_]|[*#%$@!])(?:[._\-](?:[^\W_]|[*#%$@!]))+$")
#: Separators inside words (mother-fucker, don't).
_INNER = re.compile(r"[._\-'’]")
_LEXICON_DIR = "lexicons"


@dataclass(frozen=True)
class Term:
    """One single-word lexicon entry."""

    #: rule id, ``<language>.<category>.<id>`` (e.g. "en.profanity.fuck")
    rule_id: str
    #: one of :data:`CATEGORIES`
    category: str
    #: one of :data:`SEVERITIES`
    severity: str
    #: one of :data:`MATCH_MODES`
    match: str
    #: lower-case spellings the term matches (the first is its name)
    forms: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class PhraseRule:
    """A multi-word rule: consecutive alternatives with at most ``max_gap`` other words between."""

    #: rule id, ``<language>.<category>.<id>``
    rule_id: str
    #: one of :data:`CATEGORIES`
    category: str
    #: one of :data:`SEVERITIES`
    severity: str
    #: for each position, the lower-case words accepted there
    tokens: tuple[tuple[str, ...], ...]
    #: other words allowed between two consecutive positions
    max_gap: int

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class Match:
    """Where a rule matched in a word sequence."""

    #: index of the first matched word
    first: int
    #: index one past the last matched word
    stop: int
    #: the rule that matched
    rule: Term | PhraseRule
    #: one of :data:`MATCH_CONFIDENCE`'s kinds ("exact", "masked", ...)
    kind: str
    #: the rule's confidence in this match, in (0, 1]
    confidence: float
    #: the normalized text that matched
    normalized: str


def normalize_word(text: str) -> str:
    """Lower-case ``text``, strip edge punctuation, read leetspeak, join separated letters.

    Masking characters are kept as ``*``. A word of digits only (``2024``)
    stays digits.

    Examples
    --------
    >>> normalize_word(" Sh1t!"), normalize_word("f.u.c.k"), normalize_word("F**K,")
    ('shit', 'fuck', 'f**k')
    """
    word = text.strip().lower()
    # "sh!t!" -> keep the inner "!", drop the final one; "$hit" keeps its leading "$"
    word = word.rstrip(_EDGE).lstrip(_EDGE.replace("!", ""))
    if _SEPARATED.match(word):
        word = word.replace(".", "").replace("-", "").replace("_", "")
    else:
        word = _INNER.sub("", word)
    for mask in MASKS[1:]:
        word = word.replace(mask, "*")
    if any(c.isalpha() for c in word):
        word = word.translate(LEET)
    return word


def _collapsed(word: str) -> tuple[str, ...]:
    """``word`` with runs of 3+ letters cut to 2, and with every run cut to 1 (fuuuck -> fuuck, fuck)."""
    two = re.sub(r"([a-z])\1{2,}", r"\1\1", word)
    one = re.sub(r"([a-z])\1+", r"\1", word)
    return tuple(dict.fromkeys(w for w in (two, one) if w != word))


def _masked_pattern(word: str) -> re.Pattern | None:
    """A regex for a masked word (f**k -> f[a-z]{1,3}k), or None when it is not one."""
    if "*" not in word or word.startswith("*") or sum(c.isalpha() for c in word) < 2:
        return None
    parts = re.split(r"(\*+)", word)
    body = "".join(f"[a-z]{{1,{len(p) + 1}}}" if p.startswith("*") else re.escape(p) for p in parts)
    return re.compile(body)


class Lexicon:
    """Terms, phrase rules and an allow-list for one language.

    Parameters
    ----------
    document : dict
        The parsed lexicon file (see ``docs/moderation.md``).
    source : str
        Where it came from, for messages.
    """

    def __init__(self, document: dict, *, source: str = "<dict>") -> None:
        if not isinstance(document, dict) or document.get("format") != LEXICON_FORMAT:
            raise ParameterError(f"{source}: not a lexicon; expected a JSON object with \"format\": \"{LEXICON_FORMAT}\"")
        try:
            self.language = str(document["language"])
            self.version = str(document["version"])
            self.terms = tuple(self._term(entry) for entry in document.get("terms", ()))
            self.phrases = tuple(self._phrase(entry) for entry in document.get("phrases", ()))
        except (KeyError, TypeError) as error:
            raise ParameterError(f"{source}: malformed lexicon entry ({error!r}); see docs/moderation.md") from None
        self.allow = frozenset(normalize_word(word) for word in document.get("allow", ()))
        self.source = source

    def _check(self, entry: dict) -> tuple[str, str, str]:
        category, severity = entry["category"], entry["severity"]
        if category not in CATEGORIES or severity not in SEVERITIES:
            raise ParameterError(
                f"lexicon entry {entry.get('id')!r} has category {category!r} and severity {severity!r}; "
                f"expected one of {', '.join(CATEGORIES)} and one of {', '.join(SEVERITIES)}"
            )
        return f"{self.language}.{category}.{entry['id']}", category, severity

    def _term(self, entry: dict) -> Term:
        rule_id, category, severity = self._check(entry)
        if entry["match"] not in MATCH_MODES:
            raise ParameterError(f"lexicon term {rule_id} has match {entry['match']!r}; expected one of {MATCH_MODES}")
        return Term(rule_id, category, severity, entry["match"], tuple(f.lower() for f in entry["forms"]))

    def _phrase(self, entry: dict) -> PhraseRule:
        rule_id, category, severity = self._check(entry)
        tokens = tuple(tuple(word.lower() for word in position) for position in entry["tokens"])
        return PhraseRule(rule_id, category, severity, tokens, int(entry.get("max_gap", 0)))

    def __repr__(self) -> str:
        return (f"Lexicon(language={self.language!r}, version={self.version!r}, terms={len(self.terms)}, "
                f"phrases={len(self.phrases)}, allow={len(self.allow)})")

    def allowed(self, normalized: str) -> bool:
        """Whether a normalized word is on the allow-list, alone or with a suffix ("Scunthorpe's", "shiitakes")."""
        return any(normalized.endswith(suffix) and normalized[: len(normalized) - len(suffix)] in self.allow
                   for suffix in SUFFIXES)

    def match_word(self, word: str) -> tuple[Term, str, float] | None:
        """The strongest term ``word`` matches, with the match kind and confidence (None: no match).

        ``word`` is normalized first (:func:`normalize_word`); an allow-listed
        word never matches.

        Examples
        --------
        >>> lexicon = load_lexicon("en")
        >>> term, kind, confidence = lexicon.match_word("f*cking")
        >>> term.rule_id, kind
        ('en.profanity.fuck', 'masked')
        >>> lexicon.match_word("Scunthorpe") is None
        True
        """
        normalized = normalize_word(word)
        if not normalized or self.allowed(normalized):
            return None
        plain = word.strip().lower().strip(_EDGE).replace("'", "").replace("’", "")
        leet = normalized != plain
        candidates = [(normalized, "obfuscated" if leet else None)]
        candidates += [(c, "repeated") for c in _collapsed(normalized)]
        best = None
        for candidate, obfuscation in candidates:
            if self.allowed(candidate):
                return None
            for term in self.terms:
                kind = _term_kind(term, candidate)
                if kind is None:
                    continue
                if obfuscation is not None and kind in ("exact", "inflected"):
                    kind = obfuscation
                confidence = MATCH_CONFIDENCE[kind]
                if best is None or confidence > best[2] or (confidence == best[2] and _rank(term) > _rank(best[0])):
                    best = (term, kind, confidence)
        return best

    def match(self, words: Sequence[str]) -> list[Match]:
        """Every rule match in ``words`` (a transcript's words in order), in word order.

        Phrase rules are tried first; a single-word match of the same category
        inside a phrase match is dropped. Runs of three or more single-letter
        words (``f u c k``) are joined and matched as one word.

        Parameters
        ----------
        words : sequence of str
            Words as transcribed, punctuation attached.

        Returns
        -------
        list of Match
        """
        normalized = [normalize_word(w) for w in words]
        collapsed = [(_collapsed(w) or (w,))[-1] for w in normalized]
        matches = [m for rule in self.phrases for m in _phrase_matches(rule, normalized, collapsed)]
        covered = {(i, m.rule.category) for m in matches for i in range(m.first, m.stop)}
        index = 0
        while index < len(words):
            stop = index
            while stop < len(words) and len(normalized[stop]) == 1 and (normalized[stop].isalpha() or normalized[stop] == "*"):
                stop += 1
            if stop - index >= 3:
                joined = "".join(normalized[index:stop])
                found = self.match_word(joined)
                if found is not None:
                    term, kind, _ = found
                    kind = "masked" if kind == "masked" else "obfuscated"
                    matches.append(Match(index, stop, term, kind, MATCH_CONFIDENCE[kind], joined))
                index = stop
                continue
            found = self.match_word(words[index])
            if found is not None and (index, found[0].category) not in covered:
                term, kind, confidence = found
                matches.append(Match(index, index + 1, term, kind, confidence, normalized[index]))
            index += 1
        return sorted(matches, key=lambda m: (m.first, m.stop))


def _rank(term: Term) -> int:
    return SEVERITIES.index(term.severity)


def _term_kind(term: Term, word: str) -> str | None:
    """How ``word`` (normalized, maybe masked) matches ``term``, or None."""
    pattern = _masked_pattern(word)
    if pattern is not None:
        for form in term.forms:
            if any(pattern.fullmatch(form + suffix) for suffix in SUFFIXES):
                return "masked"
        return None
    for form in term.forms:
        if word == form:
            return "exact"
        if term.match == "word" and any(word == form + suffix for suffix in SUFFIXES):
            return "inflected"
        if term.match in ("stem", "embedded") and word.startswith(form):
            return "inflected"
        if term.match == "embedded" and form in word:
            return "embedded"
    return None


def _phrase_matches(rule: PhraseRule, normalized: list[str], collapsed: list[str]) -> list[Match]:
    def hit(index: int, position: int) -> bool:
        return normalized[index] in rule.tokens[position] or collapsed[index] in rule.tokens[position]

    found = []
    for first in range(len(normalized)):
        if not hit(first, 0):
            continue
        stop: int | None = first + 1
        for position in range(1, len(rule.tokens)):
            assert stop is not None  # the loop breaks as soon as a token is not found
            candidates = range(stop, min(stop + rule.max_gap + 1, len(normalized)))
            stop = next((index + 1 for index in candidates if hit(index, position)), None)
            if stop is None:
                break
        if stop is not None:
            text = " ".join(normalized[first:stop])
            found.append(Match(first, stop, rule, "exact", MATCH_CONFIDENCE["exact"], text))
    return found


@lru_cache(maxsize=16)
def _load_cached(path: str) -> Lexicon:
    with open(path, encoding="utf-8") as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as error:
            raise ParameterError(f"{path}: lexicon is not valid JSON ({error})") from None
    return Lexicon(document, source=path)


def available_languages() -> tuple[str, ...]:
    """Languages with a lexicon file shipped in ``audiokit.models.moderation``."""
    folder = resources.files(__package__) / _LEXICON_DIR
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


def load_lexicon(language_or_path: str | os.PathLike = "en") -> Lexicon:
    """The shipped lexicon of a language, or a lexicon file.

    Parameters
    ----------
    language_or_path : str or os.PathLike
        ISO 639-1 code of a shipped lexicon (``"en"``), or the path of a
        ``.json`` lexicon file.

    Returns
    -------
    Lexicon
        Cached: loading the same file twice returns the same object.

    Raises
    ------
    ParameterError
        If no lexicon exists for that language, or the file is malformed.

    Examples
    --------
    >>> load_lexicon("en").language
    'en'
    """
    text = os.fspath(language_or_path)
    if text.endswith(".json") or os.sep in text:
        path = Path(text)
        if not path.is_file():
            raise ParameterError(f"lexicon file {path} does not exist")
        return _load_cached(str(path.resolve()))
    if text not in available_languages():
        raise ParameterError(
            f"no lexicon for language {text!r}; shipped: {', '.join(available_languages())}. "
            "Pass the path of a lexicon .json file to use another (format: docs/moderation.md)"
        )
    return _load_cached(str(resources.files(__package__) / _LEXICON_DIR / f"{text}.json"))
