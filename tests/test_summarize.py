"""Multi-document summaries (digest/summarize/) end to end: the seed story and small cases."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from digest.lang import words
from digest.models import Doc
from digest.summarize import (
    DEFAULT_PARAMS,
    METHODS,
    choose_headline,
    summarize,
)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DEBRIS = re.compile(
    r"scroll to continue|baca juga|lihat juga|selengkapnya|advertising|berita terkait|"
    r"pilihan editor|yuk koleksi|!\[|\|",
    re.IGNORECASE,
)
DATELINE_START = re.compile(r"^(?:CO\.ID|CO\b|COM\b|ID\b)|^[A-Z.]+,\s+\w+\s+[-–—]")


def _clean(text: str) -> str:
    try:
        from digest.clean import clean_text
    except ImportError:  # the lead's cleaner is not there yet: the filter must cope alone
        return text
    return clean_text(text, "id")


@pytest.fixture(scope="module")
def seed_docs() -> list[Doc]:
    docs = []
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        title = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
        docs.append(Doc(title=title, text=_clean(raw), lang="id"))
    assert len(docs) == 5
    return docs


@pytest.fixture(scope="module")
def seed_summary(seed_docs):
    return summarize(seed_docs, "id", max_words=150)


def _cos(a: str, b: str) -> float:
    ca = Counter(w.lower() for w in re.findall(r"\w+", a))
    cb = Counter(w.lower() for w in re.findall(r"\w+", b))
    dot = sum(v * cb[k] for k, v in ca.items())
    return dot / math.sqrt(sum(v * v for v in ca.values()) * sum(v * v for v in cb.values()))


def test_seed_summary_budget_and_provenance(seed_docs, seed_summary):
    assert len(seed_summary) >= 3
    assert sum(len(words(s.text)) for s in seed_summary) <= 150
    for s in seed_summary:
        assert s.text in seed_docs[s.doc].text  # verbatim in its attributed article
        assert s.doc not in s.also
        assert all(0 <= d < len(seed_docs) for d in s.also)


def test_seed_summary_carries_the_headline_facts(seed_summary):
    """Harris's "big mistake" remark (the story's headline fact) once, and Kim's trip to
    meet Putin, within the budget."""
    texts = [s.text.lower() for s in seed_summary]
    text = " ".join(texts)
    assert "harris" in text and sum("kesalahan besar" in t for t in texts) == 1
    assert re.search(
        r"kim.{0,120}(berkunjung|perjalanan|kunjungan|bertemu).{0,120}(rusia|putin)", text
    )
    assert sum(len(words(t)) for t in texts) <= 150


WARNING = re.compile(r"memperingatkan|konsekuensi|membayar harga|akibat")


def test_seed_summary_covers_the_facts(seed_docs, seed_summary):
    """The story's key facts (issue 11), within 150 words and each once: Harris's "big
    mistake" remark, Kim's trip to meet Putin, Sullivan's warning of consequences (in ONE
    sentence that names him or quotes him), and what each side wants."""
    texts = [s.text.lower() for s in seed_summary]
    text = " ".join(texts)
    facts = {
        "Harris's 'kesalahan besar' remark": "harris" in text and "kesalahan besar" in text,
        "Kim's trip to meet Putin": re.search(
            r"kim.{0,120}(berkunjung|perjalanan|kunjungan|bertemu).{0,120}(rusia|putin)", text
        ),
        "Sullivan's warning of consequences": any(
            "sullivan" in t and WARNING.search(t) for t in texts
        ),
        "what Russia wants": re.search(r"artileri|antitank", text),
        "what North Korea wants": re.search(r"satelit|kapal selam|pangan|makanan", text),
    }
    missing = [name for name, ok in facts.items() if not ok]
    assert not missing, (missing, [s.text for s in seed_summary])
    assert sum("kesalahan besar" in t for t in texts) == 1
    assert sum(len(words(t)) for t in texts) <= 150
    assert len(set(texts)) == len(texts)


def test_seed_summary_sentences_stand_alone(seed_docs, seed_summary):
    """No sentence that leans on one the summary does not carry: one that opens with a
    pronoun or a connective comes right after the sentence it follows in its article."""
    for k, s in enumerate(seed_summary):
        assert not re.search(r"mempertanyakan apakah mereka", s.text.lower()), s.text
        first = re.match(r"\W*(\w+)", s.text).group(1).lower()
        if first in {"ia", "dia", "mereka", "keduanya", "namun", "itu", "ini"}:
            assert k > 0, s.text
            before = seed_summary[k - 1].text
            pattern = re.escape(before) + r"\s*" + re.escape(s.text)
            assert re.search(pattern, seed_docs[s.doc].text), (before, s.text)


def test_seed_summary_says_each_thing_once(seed_summary):
    texts = [s.text for s in seed_summary]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            assert _cos(texts[i], texts[j]) <= 0.5, (texts[i], texts[j])
    # Harris's "kesalahan besar" remark appears in several versions: at most one may be used.
    assert sum("kesalahan besar" in t.lower() for t in texts) <= 1


def test_seed_summary_has_no_debris_or_dateline(seed_summary):
    for s in seed_summary:
        assert not DEBRIS.search(s.text), s.text
        assert not DATELINE_START.search(s.text), s.text
        assert s.text[0].isupper() or s.text[0] in "\"“‘'", s.text


def test_seed_summary_from_raw_seeds_has_no_debris():
    """Defence in depth: even the uncleaned pages give a clean summary."""
    docs = [Doc(title="", text=p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    summary = summarize(docs, None, max_words=150)
    assert summary
    for s in summary:
        assert s.text in docs[s.doc].text
        assert not DEBRIS.search(s.text), s.text
        assert not DATELINE_START.search(s.text), s.text


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_and_respects_budget(seed_docs, method):
    summary = summarize(seed_docs, "id", max_words=80, method=method)
    assert summary
    assert sum(len(words(s.text)) for s in summary) <= 80
    for s in summary:
        assert s.text in seed_docs[s.doc].text


def test_max_sentences(seed_docs):
    assert len(summarize(seed_docs, "id", max_words=None, max_sentences=2)) == 2
    assert len(summarize(seed_docs, "id", max_words=1000, max_sentences=3)) == 3
    assert summarize(seed_docs, "id", max_words=3) == []  # no whole sentence fits


def test_unknown_method_is_an_error(seed_docs):
    with pytest.raises(ValueError):
        summarize(seed_docs, "id", method="bogus")


def test_syndicated_copy_is_attributed_to_both(seed_docs):
    docs = [*seed_docs, Doc(title="copy", text=seed_docs[0].text, lang="id")]
    summary = summarize(docs, "id", max_words=150)
    copied = [s for s in summary if s.doc == 0 or (s.doc == 5)]
    for s in copied:
        assert {0, 5} <= {s.doc, *s.also}


ENGLISH = [
    Doc(
        title="Earthquake of magnitude 6.1 strikes central Italy",
        text=(
            "ROME (Reuters) - An earthquake of magnitude 6.1 struck central Italy early on "
            "Wednesday, killing at least 38 people and flattening homes in several towns.\n"
            "The quake hit at 3:36 a.m. near the town of Norcia, the U.S. Geological Survey said.\n"
            "Rescue workers searched through the rubble for survivors throughout the day.\n"
            "Prime Minister Matteo Renzi said the government would help rebuild the towns."
        ),
        published=datetime(2016, 8, 24),
    ),
    Doc(
        title="Deadly quake hits Italy",
        text=(
            "At least 38 people were killed when a 6.1 magnitude earthquake struck central "
            "Italy on Wednesday, officials said.\n"
            "Whole towns were flattened and rescuers dug through rubble with their bare hands.\n"
            "The mayor of Amatrice said half of his town had disappeared.\n"
            "Is your family safe? Tell us in the comments."
        ),
        published=datetime(2016, 8, 24),
    ),
]


def test_english_multi_document():
    summary = summarize(ENGLISH, None, max_words=60)
    assert summary
    assert sum(len(words(s.text)) for s in summary) <= 60
    texts = [s.text for s in summary]
    assert not any(t.endswith("?") or "comments" in t for t in texts)
    assert not any(t.startswith(("ROME", "(Reuters)")) for t in texts)
    for s in summary:
        assert s.text in ENGLISH[s.doc].text
    # the shared fact (38 dead in a 6.1 quake) is said once, and credited to both outlets
    deaths = [s for s in summary if "38" in s.text]
    assert len(deaths) == 1
    assert sorted([deaths[0].doc, *deaths[0].also]) == [0, 1]


def test_unknown_language_and_empty_inputs():
    assert summarize([], None) == []
    assert summarize([Doc(title="", text="")], None) == []
    assert summarize([Doc(title="x", text="   \n  ")], "xx") == []
    tok = [
        Doc(
            title="Eesti",
            text=(
                "Valitsus kiitis neljapäeval heaks uue eelarve, mis suurendab kulutusi "
                "haridusele ja tervishoiule. Opositsioon kritiseeris eelarvet teravalt ja "
                "nõudis maksude langetamist. Peaminister ütles, et eelarve on tasakaalus ja "
                "vastutustundlik."
            ),
        ),
        Doc(title="?", text="12 34 56 78 90 12 34 56 78 90 12 34 56 78 90."),
    ]
    summary = summarize(tok, None, max_words=30)
    assert summary
    assert all(s.text in tok[s.doc].text for s in summary)
    # no title of 4+ words: the headline is the one-sentence summary
    first = summarize(tok, None, max_words=None, max_sentences=1)[0].text
    assert choose_headline(tok) == first
    assert len(choose_headline(tok).split()) >= 4 and choose_headline(tok) in tok[0].text


def test_order_is_chronological_then_by_position():
    early = Doc(
        title="a",
        text="Banjir besar melanda kota Bekasi pada Senin pagi setelah hujan deras semalaman.",
        published=datetime(2024, 1, 1),
    )
    late = Doc(
        title="b",
        text="Pemerintah kota Bekasi mengumumkan status tanggap darurat banjir pada Selasa sore.",
        published=datetime(2024, 1, 2),
    )
    summary = summarize([late, early], "id", max_words=100)
    assert [s.doc for s in summary] == [1, 0]


def test_headline_is_one_of_the_titles(seed_docs):
    docs = [
        Doc(
            title="Harris: Korut Lakukan Kesalahan Besar Jika Pasok Senjata ke Rusia - Kompas.com",
            text=seed_docs[0].text,
        ),
        Doc(title="Resep Nasi Goreng Spesial Ala Restoran Bintang Lima", text=seed_docs[1].text),
        Doc(title="AS Ingatkan Korut Soal Pasokan Senjata ke Rusia", text=seed_docs[3].text),
    ]
    h = choose_headline(docs, "id")
    assert h in {
        "Harris: Korut Lakukan Kesalahan Besar Jika Pasok Senjata ke Rusia",
        "AS Ingatkan Korut Soal Pasokan Senjata ke Rusia",
    }


SINGLE = Doc(
    title="Banjir Bekasi",
    text=(
        "Banjir besar melanda sejumlah kawasan di kota Bekasi pada Senin pagi setelah hujan "
        "deras mengguyur wilayah itu sejak Minggu malam hingga menjelang subuh.\n"
        "Ketinggian air di beberapa perumahan warga di Bekasi Timur dan Bekasi Utara "
        "mencapai satu meter lebih.\n"
        "Pemerintah kota mengerahkan perahu karet untuk mengevakuasi warga yang terjebak "
        "di rumah mereka sejak pagi hari.\n"
        "Warga diminta tetap waspada karena hujan diperkirakan turun lagi."
    ),
    lang="id",
)


def test_single_article_starts_with_the_lead_and_stops_at_overflow():
    lead_words = len(
        words(
            "Banjir besar melanda sejumlah kawasan di kota Bekasi pada Senin pagi "
            "setelah hujan deras mengguyur wilayah itu sejak Minggu malam hingga "
            "menjelang subuh."
        )
    )
    summary = summarize([SINGLE], "id", max_words=lead_words + 12)
    assert summary[0].position == 0
    # the next-best sentence (position 1 or 2) does not fit: no lesser sentence fills the gap
    assert len(summary) == 1
    # the same budget with filling (stop_at_overflow off) takes one more sentence
    filled = summarize(
        [SINGLE],
        "id",
        max_words=lead_words + 12,
        params=replace(DEFAULT_PARAMS, stop_at_overflow=False),
    )
    assert len(filled) == 2
    # a lead longer than the budget does not leave the summary empty
    assert summarize([SINGLE], "id", max_words=lead_words - 1)
