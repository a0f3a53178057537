"""Titles, dates, language, outlet and identity of prepared articles."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.dates import find_date_in_text, is_date_line, parse_date
from digest.lang import detect_language
from digest.models import Article
from digest.prepare import ArticleRejected, content_hash, prepare_article, title_from_plain_text

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))


def _prepared(path: Path) -> Article:
    title, body = title_from_plain_text(path.read_text(encoding="utf-8"))
    return prepare_article(Article(id="", title=title, text=body, origin=str(path)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Seperti dilansir Reuters, Jumat (8/9/2023), para pejabat",
            datetime(2023, 9, 8, tzinfo=UTC),
        ),
        ("Jumat, 8 September 2023 09:09 WIB", datetime(2023, 9, 8, 2, 9, tzinfo=UTC)),
        ("June 23, 2024", datetime(2024, 6, 23, tzinfo=UTC)),
        ("Published 2024-03-01T10:00:00+07:00 by", datetime(2024, 3, 1, 3, 0, tzinfo=UTC)),
    ],
)
def test_dates_from_text(text, expected):
    assert find_date_in_text(text) == expected


def test_no_date_without_a_year():
    assert find_date_in_text("Dilansir Reuters, Jumat (8/9), pemimpin") is None
    assert parse_date("bukan tanggal") is None
    assert not is_date_line("Korea Utara mendukung Rusia")


def test_language_detection():
    assert detect_language(SEEDS[0].read_text(encoding="utf-8")) == "id"
    assert detect_language("The president said on Monday that the talks were progressing.") == "en"
    assert detect_language("1 2 3") is None


def test_seed_titles_dates_outlets():
    arts = [_prepared(p) for p in SEEDS]
    by_outlet = {a.source for a in arts}
    assert {"detikNews", "Republika", "Tempo"} <= by_outlet
    tempo = next(a for a in arts if a.source == "Tempo")
    assert tempo.title.startswith("Wapres AS Kamala Harris")
    assert tempo.published == datetime(2023, 9, 8, 2, 9, tzinfo=UTC)
    assert not tempo.text.startswith("Wapres AS"), "the title line is not repeated in the text"
    assert "09:09 WIB" not in tempo.text
    republika = next(a for a in arts if a.source == "Republika")
    assert republika.title == "AS Ingatkan Korut Jangan Sekali-Sekali Suplai Senjata ke Rusia"
    # detik's first line is the lede, not a title: it stays in the text
    detik = _prepared(SEEDS[0])
    assert detik.text.startswith("Wakil Presiden Amerika Serikat (AS) Kamala Harris")
    assert detik.title and len(detik.title.split()) <= 15
    assert all(a.lang == "id" for a in arts)
    assert len({a.id for a in arts}) == 5
    assert len({a.content_hash for a in arts}) == 5


def test_identity_ignores_case_and_spacing():
    assert content_hash("Hello  World") == content_hash("hello world")
    a = prepare_article(Article(id="", title="T", text="kata " * 40, url="https://x.example/a"))
    b = prepare_article(Article(id="", title="T", text="kata " * 40, url="https://x.example/a"))
    assert a.id == b.id and a.id.startswith("a-")


def test_rejects_empty_and_too_short():
    with pytest.raises(ArticleRejected, match="empty"):
        prepare_article(Article(id="", title="", text="   "))
    with pytest.raises(ArticleRejected, match="words left"):
        prepare_article(
            Article(id="", title="", text="SCROLL TO CONTINUE WITH CONTENT\nTiga kata saja.")
        )
