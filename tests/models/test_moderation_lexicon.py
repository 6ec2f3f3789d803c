"""The lexicon and its matcher: obfuscations, allow-list traps, phrase rules, lexicon files."""

from __future__ import annotations

import json

import pytest

from audiokit.errors import ParameterError
from audiokit.models.moderation import load_lexicon
from audiokit.models.moderation.lexicon import MATCH_CONFIDENCE, Lexicon, normalize_word


@pytest.fixture(scope="module")
def en() -> Lexicon:
    return load_lexicon("en")


def _rule(lexicon: Lexicon, word: str):
    found = lexicon.match_word(word)
    return None if found is None else (found[0].rule_id, found[1])


@pytest.mark.parametrize("word, rule_id, kind", [
    ("fuck", "en.profanity.fuck", "exact"),
    ("Fuck!", "en.profanity.fuck", "exact"),
    ("fucking,", "en.profanity.fuck", "inflected"),
    ("bitches", "en.profanity.bitch", "inflected"),
    ("motherfucker.", "en.profanity.motherfucker", "exact"),
    ("damned", "en.profanity.damn", "inflected"),
    ("cocaine", "en.drugs.cocaine", "exact"),
])
def test_plain_words(en, word, rule_id, kind):
    assert _rule(en, word) == (rule_id, kind)


@pytest.mark.parametrize("word, rule_id", [
    ("sh1t", "en.profanity.shit"),
    ("$hit", "en.profanity.shit"),
    ("sh!t", "en.profanity.shit"),
    ("a$$hole", "en.profanity.asshole"),
    ("@ss", "en.profanity.ass"),
    ("b1tch", "en.profanity.bitch"),
])
def test_leetspeak(en, word, rule_id):
    assert _rule(en, word) == (rule_id, "obfuscated")


@pytest.mark.parametrize("word, rule_id", [
    ("fuuuuck", "en.profanity.fuck"),
    ("shiiiit", "en.profanity.shit"),
    ("FUUUCK!!!", "en.profanity.fuck"),
    ("Sh1iiit", "en.profanity.shit"),
])
def test_repeated_letters(en, word, rule_id):
    assert _rule(en, word)[0] == rule_id
    assert en.match_word(word)[2] < MATCH_CONFIDENCE["exact"]


@pytest.mark.parametrize("word, rule_id", [
    ("f*ck", "en.profanity.fuck"),
    ("f**k", "en.profanity.fuck"),
    ("f*cking", "en.profanity.fuck"),
    ("sh#t", "en.profanity.shit"),
    ("b%tch", "en.profanity.bitch"),
])
def test_asterisks_and_masks(en, word, rule_id):
    assert _rule(en, word) == (rule_id, "masked")


@pytest.mark.parametrize("word", ["*uck", "f***", "****", "2024", "a*b"])
def test_masks_need_letters_to_anchor_them(en, word):
    assert en.match_word(word) is None


@pytest.mark.parametrize("word", ["f.u.c.k", "f-u-c-k", "f_u_c_k", "s.h.i.t"])
def test_separated_letters(en, word):
    assert _rule(en, word)[1] == "obfuscated"


def test_spaced_letters_join_across_words(en):
    matches = en.match("oh f u c k this".split())
    assert [(m.first, m.stop, m.rule.rule_id, m.kind) for m in matches] == [(1, 5, "en.profanity.fuck", "obfuscated")]
    assert en.match("I am a b c".split()) == []  # a run of single letters that spells nothing


@pytest.mark.parametrize("word", [
    "Scunthorpe", "SCUNTHORPE,", "Scunthorpe's", "cocktail", "Cocktails!", "cockpit", "peacock", "Hitchcock",
    "Dickens", "Dickens'", "assassin", "assassinated", "classic", "bass", "grass", "passage", "embassy",
    "assessment", "therapist", "Essex", "Sussex.", "shiitake", "shiitakes", "Matsushita's", "scrap", "arsenal",
    "heroine", "method", "methane", "damnation", "Penistone", "cockroaches", "analysis", "title", "class",
])
def test_allow_list_traps(en, word):
    assert en.match_word(word) is None


def test_normalize_word():
    assert normalize_word(" Sh1t!") == "shit"
    assert normalize_word("F**K,") == "f**k"
    assert normalize_word("sh#t") == "sh*t"
    assert normalize_word("f.u.c.k") == "fuck"
    assert normalize_word("don't") == "dont"
    assert normalize_word("2024") == "2024"


@pytest.mark.parametrize("text, rule_id, first, stop", [
    ("I will kill you tomorrow", "en.violence.threat-kill", 2, 4),
    ("I will kill all you", "en.violence.threat-kill", 2, 5),  # max_gap 1
    ("I will shoot up the school", "en.violence.threat-shoot-up", 2, 5),
    ("blow up the building", "en.violence.threat-bomb", 0, 4),
    ("I want to kill myself", "en.self-harm.self-harm-kill-myself", 3, 5),
    ("go kill yourself.", "en.self-harm.self-harm-kill-yourself", 1, 3),
    ("I will take my own life", "en.self-harm.self-harm-end-my-own-life", 2, 6),
    ("I want to end my life", "en.self-harm.self-harm-end-my-life", 3, 6),
    ("I will KILL YOU!", "en.violence.threat-kill", 2, 4),
])
def test_phrase_rules(en, text, rule_id, first, stop):
    matches = en.match(text.split())
    assert [(m.rule.rule_id, m.first, m.stop) for m in matches] == [(rule_id, first, stop)]


@pytest.mark.parametrize("text", [
    "we kill time playing cards", "I will kill all of the weeds", "he will shoot the ball up",
    "they hurt their knees", "I take my dog for a walk", "cut my hair",
    "at the end of my life story", "take a look at my life",
])
def test_phrase_rules_do_not_fire_on_harmless_word_order(en, text):
    assert en.match(text.split()) == []


def test_single_word_inside_a_phrase_of_its_category_is_dropped(tmp_path):
    document = {"format": "audiokit-lexicon/1", "language": "xx", "version": "1",
                "terms": [{"id": "kill", "category": "violence", "severity": "low", "match": "word", "forms": ["kill"]},
                          {"id": "you", "category": "profanity", "severity": "low", "match": "word", "forms": ["you"]}],
                "phrases": [{"id": "threat", "category": "violence", "severity": "high",
                             "tokens": [["kill"], ["you"]]}]}
    matches = Lexicon(document).match("i kill you".split())
    assert [(m.rule.rule_id, m.first, m.stop) for m in matches] == [
        ("xx.violence.threat", 1, 3), ("xx.profanity.you", 2, 3)]


def test_lexicon_files(tmp_path):
    document = {"format": "audiokit-lexicon/1", "language": "de", "version": "0.1",
                "terms": [{"id": "scheisse", "category": "profanity", "severity": "medium", "match": "embedded",
                           "forms": ["scheisse", "scheiße"]}],
                "allow": []}
    path = tmp_path / "de.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    lexicon = load_lexicon(path)
    assert (lexicon.language, lexicon.version) == ("de", "0.1")
    assert lexicon.match_word("Scheiße!")[0].rule_id == "de.profanity.scheisse"
    assert load_lexicon(path) is lexicon  # cached


def test_lexicon_errors(tmp_path):
    with pytest.raises(ParameterError, match="no lexicon for language 'xx'"):
        load_lexicon("xx")
    with pytest.raises(ParameterError, match="does not exist"):
        load_lexicon(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ParameterError, match="not valid JSON"):
        load_lexicon(bad)
    with pytest.raises(ParameterError, match="not a lexicon"):
        Lexicon({"format": "something-else"})
    with pytest.raises(ParameterError, match="category 'rude'"):
        Lexicon({"format": "audiokit-lexicon/1", "language": "xx", "version": "1",
                 "terms": [{"id": "a", "category": "rude", "severity": "low", "match": "word", "forms": ["a"]}]})
