"""Cleaning rules, on the seeds and on made-up debris (no Prefect, no database)."""

from pathlib import Path

import pytest

from digest.clean import (
    clean_text,
    drop_repeated_lines,
    find_dateline_outlet,
    guess_outlet_from_signatures,
    repeated_lines,
    rules_for,
)
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
