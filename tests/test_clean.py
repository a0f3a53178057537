"""Cleaning rules, on the seeds and on made-up debris (no Prefect, no database)."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.clean import (
    clean_text,
    drop_repeated_lines,
    find_dateline_outlet,
    guess_outlet_from_signatures,
    repeated_lines,
)
from digest.extract import clean_paragraphs
from digest.models import Article
from digest.prepare import prepare_article
from digest.rules import find_dateline, rules_for
from flows.sources.base import LoadResult
from flows.steps import prepare_articles
from tests.debris import DATELINE_FRAGMENT, debris_in

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))


def test_seed_files_are_there_with_their_debris():
    assert len(SEEDS) == 5
    found = {p for path in SEEDS for p in debris_in(path.read_text(encoding="utf-8"))}
    assert len(found) >= 15, "the raw seeds carry the debris the cleaner must remove"


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_seed_debris_removed(path):
    raw = path.read_text(encoding="utf-8")
    cleaned = clean_text(raw, "id")
    assert debris_in(cleaned) == []
    for para in cleaned.split("\n\n"):
        assert not DATELINE_FRAGMENT.match(para), para


def test_dateline_removed_without_breaking_the_sentence():
    text = "REPUBLIKA.CO.ID, WASHINGTON – Korea Utara diingatkan agar tak memasok senjata."
    assert clean_text(text, "id") == "Korea Utara diingatkan agar tak memasok senjata."
    text = "TEMPO.CO, Jakarta - Wakil Presiden Amerika Serikat Kamala Harris mengatakan."
    assert clean_text(text, "id").startswith("Wakil Presiden Amerika Serikat")
    text = "JAKARTA, KOMPAS.com - presiden menyatakan hal itu."
    assert clean_text(text, "id") == "Presiden menyatakan hal itu."


def test_dateline_only_at_the_start():
    text = "Paragraf pertama yang biasa saja.\n\nLalu TEMPO.CO, Jakarta - di tengah teks."
    assert "TEMPO.CO, Jakarta" in clean_text(text, "id")


def test_dateline_names_the_outlet():
    raw = (SEEDS[3]).read_text(encoding="utf-8")
    assert find_dateline_outlet(raw, "id") == "REPUBLIKA.CO.ID"
    assert find_dateline_outlet("Tidak ada dateline di sini.", "id") is None


def test_outlet_signature():
    assert guess_outlet_from_signatures(SEEDS[0].read_text(encoding="utf-8"), "id") == "detikNews"
    assert guess_outlet_from_signatures("Just a plain text.", "en") is None


def test_related_block_cut_to_the_end():
    text = "Isi berita utama di sini.\n\nBerita terkait\n\nJudul lain\n\n8 jam lalu\n\nBaca Selengkapnya"
    assert clean_text(text, "id") == "Isi berita utama di sini."


def test_inline_baca_juga_removed():
    text = "Harga naik tajam. Baca juga: Harga cabai melonjak di Jakarta"
    assert "Baca juga" not in clean_text(text, "id")
    assert clean_text(text, "id").startswith("Harga naik tajam.")


def test_english_rules():
    text = (
        "WASHINGTON (Reuters) - The president spoke on Monday.\n"
        "Read more: Another story\n"
        "Advertisement\n"
        "He said it was fine.\n"
        "(Reporting by Jane Doe; Editing by John Roe)"
    )
    cleaned = clean_text(text, "en")
    assert cleaned == "The president spoke on Monday.\n\nHe said it was fine."


def test_unknown_language_gets_every_rule_and_never_crashes():
    text = "SCROLL TO CONTINUE WITH CONTENT\nTexte en français.\nBaca Juga\n"
    assert clean_text(text, None) == "Texte en français."
    assert clean_text(text, "fr") == "Texte en français."
    assert clean_text("", "zz") == ""


def test_control_and_invisible_characters_removed():
    assert clean_text("A\u200bB\x00C\r\nD\u00a0 E", "en") == "ABC\n\nD E"


def test_rules_are_data_per_language():
    assert rules_for("id").cut_from and rules_for("en").cut_from
    assert rules_for("id") is not rules_for("en")


def test_repeated_lines_rule():
    footer = "Ikuti kanal kami untuk berita terbaru setiap hari"
    texts = [f"Berita nomor {i} tentang hal berbeda.\n{footer}" for i in range(4)]
    texts.append("Berita kelima tanpa footer.")
    assert repeated_lines(texts) == {footer.casefold()}
    cleaned = drop_repeated_lines({"Outlet": texts})["Outlet"]
    assert all(footer not in t for t in cleaned)
    assert cleaned[0] == "Berita nomor 0 tentang hal berbeda."
    # two articles sharing a line is not enough evidence
    assert repeated_lines(texts[:2]) == set()


# --- nothing real disappears (issue 14, point 2) -----------------------------------------

ANTARA = (
    "Jakarta (ANTARA News) - Pemerintah Kabupaten Jayawijaya mendatangkan tim arkeolog dari "
    "Makassar dan Jayapura untuk melakukan konservasi terhadap empat mumi yang ada di wilayah "
    "itu, kata Kepala Dinas Kebudayaan dan Pariwisata Alpius Wetipo di Wamena, Senin."
)


def test_wire_dateline_strips_only_the_prefix_of_a_one_paragraph_article():
    cleaned = clean_text(ANTARA, "id")
    assert cleaned == ANTARA.removeprefix("Jakarta (ANTARA News) - ")
    art = prepare_article(Article(id="", title="", text=ANTARA))
    assert art.text == cleaned and len(art.text.split()) >= 25


@pytest.mark.parametrize(
    "para",
    [
        "Jakarta (ANTARA News) -",
        "TEMPO.CO, Jakarta - ",
        "WASHINGTON (Reuters) - ...",
        "JAKARTA, KOMPAS.com --",
    ],
)
def test_a_dateline_alone_is_not_removed(para):
    assert find_dateline(para, "id") is None
    assert clean_text(para, "id") == para.strip()


def test_a_rule_that_would_remove_everything_removes_nothing_and_is_logged(caplog):
    text = "Berita terkait\nKorea Utara diingatkan agar tak memasok senjata ke Rusia lagi."
    with caplog.at_level("WARNING", logger="digest.clean"):
        cleaned = clean_text(text, "id")
    assert cleaned == text.replace("\n", "\n\n")
    assert "would remove all 2 lines (cut_from at line 1)" in caplog.text
    # the same rule still cuts a trailing block when something is left before it
    assert clean_text("Isi berita.\n" + text, "id") == "Isi berita."


def test_repeated_lines_never_empty_an_article(caplog):
    texts = ["Ikuti kanal kami untuk berita terbaru setiap hari"] * 3
    with caplog.at_level("WARNING", logger="digest.clean"):
        assert drop_repeated_lines({"Outlet": texts})["Outlet"] == texts
    assert "repeated-lines rule would remove all of an article of Outlet" in caplog.text


def test_pipeline_drops_the_lines_an_outlet_repeats():
    """prepare_articles applies the repeated-lines rule per outlet, and only per outlet."""
    footer = "Dapatkan notifikasi kabar pilihan dari Warta Kota langsung di ponsel Anda"
    body = (
        "Pemerintah kota meresmikan jembatan baru nomor {i} yang menghubungkan dua kecamatan "
        "padat penduduk, kata wali kota dalam upacara peresmian di lokasi pada hari Senin pagi "
        "yang dihadiri ratusan warga."
    )
    raw = [Article(id="", title="", text=body.format(i=i) + "\n\n" + footer) for i in range(4)]
    other = Article(id="", title="", text=body.format(i=9) + "\n\n" + footer, source="Lain")
    loaded = LoadResult(articles=[*raw, other])
    prepared = prepare_articles(loaded, default_outlet="Warta Kota")
    texts = {a.source: [] for a in prepared.articles}
    for a in prepared.articles:
        texts[a.source].append(a.text)
    assert len(texts["Warta Kota"]) == 4
    assert all(footer not in t and "jembatan baru" in t for t in texts["Warta Kota"])
    assert footer in texts["Lain"][0]  # one article of another outlet is no evidence


# --- properties ------------------------------------------------------------------------------

WORDS = [
    "pemerintah",
    "kota",
    "meresmikan",
    "jembatan",
    "baru",
    "presiden",
    "mengatakan",
    "rakyat",
    "harga",
    "beras",
    "naik",
    "the",
    "minister",
    "said",
    "on",
    "monday",
    "that",
    "prices",
    "rose",
    "sharply",
    "in",
    "jakarta",
    "and",
    "surabaya",
]
sentence = st.lists(st.sampled_from(WORDS), min_size=4, max_size=18).map(
    lambda ws: " ".join(ws).capitalize() + "."
)
paragraph = st.lists(sentence, min_size=1, max_size=3).map(" ".join)
article = st.lists(paragraph, min_size=1, max_size=4).map("\n\n".join)
debris = st.sampled_from(
    [
        "Baca juga: Harga cabai melonjak",
        "SCROLL TO CONTINUE WITH CONTENT",
        "Berita terkait",
        "Advertisement",
        "Reporter",
        "AP/Andrew Harnik",
        "Jakarta (ANTARA News) - ",
        "TEMPO.CO, Jakarta - ",
        "(mdk/rhm)",
        "3 jam lalu",
    ]
)
LANGS = st.sampled_from(["id", "en", None, "fr"])


@settings(max_examples=300, deadline=None)
@given(st.text(), LANGS)
def test_cleaning_never_crashes_and_is_idempotent_on_any_unicode(text, lang):
    once = clean_text(text, lang)
    assert isinstance(once, str)
    assert clean_text(once, lang) == once
    if re.search(r"\w", text):
        assert re.search(r"\w", once), "cleaning emptied a text that had words"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(article, debris), min_size=1, max_size=6).map("\n".join), LANGS)
def test_cleaning_is_idempotent_on_articles_mixed_with_debris(text, lang):
    once = clean_text(text, lang)
    assert clean_text(once, lang) == once


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.just(""), debris.map(lambda d: d + "\n")), article, LANGS)
def test_cleaning_never_empties_a_text_made_of_real_sentences(head, body, lang):
    cleaned = clean_text(head + body, lang)
    if not head:
        assert cleaned == body  # real sentences alone: nothing to remove
    else:
        # One debris line may take its follower (a caption, a name), never the whole text.
        assert cleaned.endswith(body.split("\n\n")[-1])


def test_page_paragraph_rules_never_remove_every_paragraph(caplog):
    real = "Harga beras naik tajam di pasar induk Cipinang pada pekan ini, kata pedagang."
    assert clean_paragraphs(["Baca juga: Harga cabai melonjak", real]) == [real]
    only_debris = ["Baca juga: Harga cabai melonjak", "Foto: Reuters"]
    with caplog.at_level("WARNING", logger="digest.extract"):
        assert clean_paragraphs(only_debris) == only_debris
    assert "paragraph rules would remove all 2 paragraphs" in caplog.text


def test_one_dateline_per_article_even_when_cleaned_again():
    first = (
        "TEMPO.CO, Jakarta - Harga beras naik tajam di pasar induk Cipinang pada pekan ini, "
        "kata para pedagang kepada wartawan."
    )
    second = "Pasangan Anies - Sandi memutuskan absen dalam acara debat pasangan calon tadi malam."
    cleaned = clean_text(first + "\n\n" + second, "id")
    assert cleaned == first.removeprefix("TEMPO.CO, Jakarta - ") + "\n\n" + second
    assert clean_text(cleaned, "id") == cleaned
    # a short header line before the dateline paragraph is passed over
    dated = clean_text("Senin, 5 Juni 2017\n\n" + first, "id")
    assert dated == "Senin, 5 Juni 2017\n\n" + first.removeprefix("TEMPO.CO, Jakarta - ")


def test_a_lede_that_starts_with_the_title_is_not_a_repeated_title():
    """Issue 14.2: the dateline went, then the one paragraph was taken for the title."""
    title = "Pemerintah Kabupaten Jayawijaya mendatangkan tim arkeolog"
    art = prepare_article(Article(id="", title=title, text=ANTARA))
    assert art.text.startswith(title) and art.text == clean_text(ANTARA, "id")
    # the title repeated as a line of its own, or with the outlet's suffix, still goes
    for repeat in (title, title + " | Antara News"):
        art = prepare_article(Article(id="", title=title, text=repeat + "\n\n" + ANTARA))
        assert art.text == clean_text(ANTARA, "id")
