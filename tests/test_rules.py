"""digest.rules: every cleaning rule is data, loaded once; datelines are recognised here."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.rules import (
    Dateline,
    dateline_end,
    find_dateline,
    load,
    paragraph_rules,
    rules_for,
    sentence_rules,
)


def test_every_rule_file_parses_and_every_pattern_compiles():
    for name in ("boilerplate.toml", "datelines.toml", "paragraphs.toml", "sentences.toml"):
        assert load(name), name
    for lang in ("id", "en", None):
        rules = rules_for(lang)
        assert rules.drop_lines and rules.cut_from and rules.inline
    assert all(isinstance(p, re.Pattern) for p in vars(paragraph_rules()).values())
    assert sentence_rules().debris.search("baca juga: judul lain")
    assert sentence_rules().footer.match("Berita Terkait")


def test_unknown_language_gets_every_languages_rules():
    every = rules_for(None)
    assert set(rules_for("id").drop_lines) <= set(every.drop_lines)
    assert set(rules_for("en").drop_lines) <= set(every.drop_lines)
    assert rules_for("fr") == every


@pytest.mark.parametrize(
    ("paragraph", "rest", "outlet"),
    [
        ("REPUBLIKA.CO.ID, WASHINGTON – Korea Utara diingatkan.", "Korea Utara", "REPUBLIKA.CO.ID"),
        ("TEMPO.CO, Jakarta - Wakil Presiden berkata.", "Wakil Presiden", "TEMPO.CO"),
        ("JAKARTA, KOMPAS.com - Presiden menyatakan.", "Presiden", "KOMPAS.com"),
        ("Jakarta, CNN Indonesia -- Kuasa hukum Rizieq.", "Kuasa hukum", "CNN Indonesia"),
        ("WASHINGTON (Reuters) - The president spoke.", "The president", "Reuters"),
        ("Jakarta - Polisi menangkap dua orang.", "Polisi", None),
        # no pattern knows these: the general shape (place, outlet in brackets, a dash)
        ("Wamena (ANTARA News) - Pemerintah Kabupaten Jayawijaya.", "Pemerintah", None),
        ("Rimanews - Presiden Joko Widodo meresmikan.", "Presiden", None),
    ],
)
def test_dateline_recognised(paragraph, rest, outlet):
    found = find_dateline(paragraph, "id" if "Reuters" not in paragraph else "en")
    assert isinstance(found, Dateline)
    assert paragraph[found.end :].startswith(rest)
    assert found.outlet == outlet


@pytest.mark.parametrize(
    "paragraph",
    [
        "Menit - menit berikutnya, Madrid terus menekan.",  # Indonesian reduplication
        "Lalu TEMPO.CO, Jakarta - di tengah teks.",  # lower case after the dash: mid-sentence
        "Presiden Joko Widodo dan Wakil Presiden Jusuf Kalla - dua tokoh - bertemu.",
        "Jakarta (ANTARA News) - ",  # a dateline alone is not removed
        "Harga beras naik tajam di pasar.",
    ],
)
def test_not_a_dateline(paragraph):
    assert find_dateline(paragraph, "id") is None
    assert dateline_end(paragraph) == 0


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["id", "en", None]))
def test_a_dateline_is_only_ever_a_prefix(paragraph, lang):
    found = find_dateline(paragraph, lang)
    if found is not None:
        assert 0 < found.end < len(paragraph)
        assert re.search(r"\w", paragraph[found.end :])
