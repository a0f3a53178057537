"""The text core (digest/text.py): folding, words, content terms, stemming, TF-IDF rows."""

from __future__ import annotations

import numpy as np

from digest.text import (
    FOLDED,
    fold,
    normalize_lang,
    normalized_rows,
    story_terms,
    term_map,
    terms,
    tfidf_matrix,
    words,
)


def test_fold_lowercases_and_strips_accents_on_words_and_texts():
    assert fold("JOKÓWI") == "jokowi"
    assert fold("Straße") == "strasse"
    assert fold("Árvíztűrő tükörfúrógép") == "arvizturo tukorfurogep"
    assert fold("Plain ASCII Text") == "plain ascii text"
    assert FOLDED["Éric"] == "eric" and FOLDED["Éric"] == fold("Éric")


def test_words_keep_compounds_and_figures():
    assert words("Covid-19 hit 1.500.000 people, didn't it?") == [
        "Covid-19",
        "hit",
        "1.500.000",
        "people",
        "didn't",
        "it",
    ]


def test_terms_drop_stop_words_and_stem():
    assert terms("The floods were rising in the cities", "en") == ["flood", "rise", "citi"]
    assert terms("Pemerintah mengumumkan kebijakan", "id") == ["perintah", "umum", "bijak"]
    # unknown language: folded tokens, nothing stemmed or dropped except 1-letter tokens
    assert terms("Valitsus kiitis a eelarve", "xx") == ["valitsus", "kiitis", "eelarve"]
    assert terms("The floods", "en", keep_stop_words=True) == ["the", "flood"]
    assert term_map("EN") is term_map("en")
    assert normalize_lang("id-ID") == "id" and normalize_lang("ENG") == "en"


def test_story_terms_leave_names_and_roots_unstemmed():
    toks = words("Presiden Jokowi mengumumkan kebijakan pembangunan jalan tol yang baru kemarin.")
    got = story_terms([toks], ["id"])[0]
    assert {"umum", "bijak", "bangun"} <= set(got)  # affixed words are stemmed
    assert "jokowi" in got and "presiden" in got  # names and roots kept whole
    # English: a capitalised-only word is a name, kept whole; the lowercase one is stemmed
    en = story_terms([words("Senator Waters said the rising Rising waters")], ["en"])[0]
    assert en == ["senator", "water", "rise", "rise", "water"]
    assert story_terms([words("Senator Waters spoke")], ["en"])[0] == ["senator", "waters", "spoke"]
    assert terms("Senator Waters spoke", "en") == ["senat", "water", "spoke"]
    # words used fewer than min_count_to_stem times are not stemmed
    once = story_terms([words("floods and more floods and one rising")], ["en"], 2)[0]
    assert once == ["flood", "flood", "rising"]


def test_tfidf_rows_are_normalised_with_smoothed_idf():
    x = tfidf_matrix([["a", "b", "b"], ["a"], []])
    assert x.shape == (3, 2)
    assert np.allclose(np.linalg.norm(x.toarray(), axis=1), [1, 1, 0])
    idf_b = np.log(4 / 2) + 1  # b in one of three rows
    tf_b = 1 + np.log(2)
    idf_a = np.log(4 / 3) + 1
    row = x.toarray()[0]
    assert np.isclose(row[1] / row[0], tf_b * idf_b / idf_a)
    counts = tfidf_matrix([["a", "b", "b"]], tfidf=False).toarray()[0]
    assert np.allclose(counts, np.array([1, 2]) / np.sqrt(5))


def test_normalized_rows_keep_the_top_weights():
    ids = np.array([0, 1, 2, 0])
    data = np.array([1.0, 3.0, 2.0, 5.0])
    m = normalized_rows(ids, data, np.array([3, 1]), 3, top=2).toarray()
    assert m[0, 0] == 0 and np.isclose(m[0, 1], 3 / np.sqrt(13))
    assert np.isclose(m[1, 0], 1.0)
