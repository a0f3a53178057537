"""Multi-document summaries (digest/summarize.py) on the seed story and small cases."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from digest.lang import words
from digest.models import Doc
from digest.summarize import (
    DEFAULT_PARAMS,
    METHODS,
    choose_headline,
    lexrank_scores,
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


def test_seed_summary_covers_the_facts(seed_summary):
    text = " ".join(s.text for s in seed_summary).lower()
    facts = {
        # Harris: a "big mistake", or that it would isolate both / show Russia's desperation
        "Harris's warning": "harris" in text
        and re.search(r"kesalahan besar|mengisolasi|keputusasaan|putus asa", text),
        "Kim's trip to meet Putin": re.search(
            r"kim.{0,120}(berkunjung|perjalanan|kunjungan|bertemu).{0,120}(rusia|putin)", text
        ),
        "Sullivan's threat": "sullivan" in text
        and re.search(r"konsekuensi|membayar harga|akibat", text),
        # what each side wants: Russia artillery / anti-tank missiles, Kim technology and food
        "arms-deal wants": re.search(
            r"satelit|kapal selam|teknologi|artileri|antitank|bantuan pangan", text
        ),
    }
    missing = [name for name, ok in facts.items() if not ok]
    assert not missing, (missing, [s.text for s in seed_summary])


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


def test_vectorized_lexrank_matches_dense_power_method():
    rng = np.random.default_rng(0)
    dense = rng.random((30, 12)) * (rng.random((30, 12)) < 0.3)
    dense[5] = 0  # an isolated sentence
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1
    x = dense / norms
    a = x @ x.T
    np.fill_diagonal(a, 0)
    deg = a.sum(axis=1)
    n = len(a)
    m = np.where(deg[:, None] > 0, a / np.where(deg[:, None] > 0, deg[:, None], 1), 1.0 / n)
    p = np.full(n, 1.0 / n)
    for _ in range(500):
        p = 0.15 / n + 0.85 * m.T @ p
        p /= p.sum()
    got = lexrank_scores(sp.csr_matrix(x), DEFAULT_PARAMS.damping, 500)
    assert np.allclose(got, p, atol=1e-6)


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


def test_stemming_shortcuts_keep_affixed_words_and_names():
    from digest.summarize import _content_terms, _Folder, _units

    docs = [
        Doc(
            title="",
            text="Presiden Jokowi mengumumkan kebijakan pembangunan jalan tol yang baru kemarin.",
            lang="id",
        )
    ]
    folder = _Folder()
    units = _units(docs, ["id"], folder)
    toks = _content_terms(units, folder)[0]
    assert {"umum", "bijak", "bangun"} <= set(toks)  # affixed words are stemmed
    assert "jokowi" in toks and "presiden" in toks  # names and roots kept whole
