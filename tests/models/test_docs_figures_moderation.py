"""docs/moderation.md quotes the English lexicon's size; the lexicon file is the source of those counts."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
LEXICON = ROOT / "models" / "moderation" / "lexicons" / "en.json"
DOC = ROOT / "docs" / "moderation.md"


def test_doc_quotes_the_english_lexicons_counts():
    lexicon = json.loads(LEXICON.read_text(encoding="utf-8"))
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    quoted = re.search(r"\((\d+) terms, (\d+) phrase rules, (\d+) allow-list words\)", doc)
    assert quoted, "docs/moderation.md no longer quotes the lexicon's counts as '(N terms, N phrase rules, N ...)'"
    counts = [int(value) for value in quoted.groups()]
    assert counts == [len(lexicon["terms"]), len(lexicon["phrases"]), len(lexicon["allow"])]
    assert f'"version": "{lexicon["version"]}"' in doc and f'lexicon: "en@{lexicon["version"]}"' in doc
