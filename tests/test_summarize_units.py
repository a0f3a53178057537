"""Stage 1 of the summarizer: candidate units (digest/summarize/units.py)."""

from __future__ import annotations

from digest.models import Doc
from digest.summarize import doc_langs, split_units, unit_terms


def test_units_are_candidates_with_positions_and_merged_copies():
    a = Doc(
        title="a",
        text=(
            "Banjir besar melanda kota Bekasi pada Senin pagi setelah hujan deras.\n"
            "Baca juga: Banjir di Jakarta surut dalam dua hari terakhir ini.\n"
            "Ketinggian air di beberapa perumahan warga mencapai satu meter lebih.\n"
            "Berita terkait\n"
            "Pemerintah kota mengerahkan perahu karet untuk mengevakuasi warga."
        ),
    )
    b = Doc(title="b", text="Banjir besar melanda kota Bekasi pada Senin pagi setelah hujan deras.")
    units = split_units([a, b], ["id", "id"])
    # debris is not a candidate, nothing after the footer, b's copy merged into a's unit
    assert [u.text[:12] for u in units] == ["Banjir besar", "Ketinggian a"]
    assert units[0].docs == {0, 1} and units[0].doc == 0
    assert [(u.position, u.rank) for u in units] == [(0, 0), (2, 1)]
    assert units[1].n_words == len(units[1].tokens) == 10


def test_unit_terms_skip_rare_words_only_in_big_stories():
    docs = [Doc(title="", text="Pemerintah mengumumkan kebijakan pembangunan jalan tol baru.")]
    units = split_units(docs, ["id"])
    assert "umum" in unit_terms(units)[0]
    # above the unit cap, a word used once is kept unstemmed
    assert "mengumumkan" in unit_terms(units, stem_hapax_max_units=0)[0]


def test_doc_langs_given_own_or_detected():
    en = Doc(title="", text="The government announced a new budget for schools and hospitals.")
    tagged = Doc(title="", text="x", lang="id-ID")
    assert doc_langs([en, tagged], "EN") == ["en", "en"]
    assert doc_langs([en, tagged], None) == ["en", "id"]
