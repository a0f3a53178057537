"""Reading articles from local files: every format, and every kind of bad file."""

import json

from flows.sources.local import load_local
from flows.sources.spec import classify

MB = 1024 * 1024
GOOD_TEXT = (
    "Judul Berita Uji\n\nJAKARTA, KOMPAS.com - Pemerintah mengumumkan kebijakan baru pada "
    "Senin (4/9/2023) tentang harga beras yang naik di banyak daerah. Menteri mengatakan "
    "langkah itu perlu untuk menjaga daya beli warga dan stok nasional tetap aman sampai "
    "akhir tahun.\n"
)


def test_reads_every_format(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "b.md").write_text(
        "---\ntitle: Markdown Title\nurl: https://news.example.com/b\ndate: 2024-01-02\n---\n"
        "Some **bold** text with a [link](https://x.example) and more words.\n",
        encoding="utf-8",
    )
    (tmp_path / "c.html").write_text(
        "<html><head><title>HTML Title</title></head><body><article><h1>HTML Title</h1>"
        + "<p>Paragraph one of the article has enough words to count as text. </p>" * 5
        + "</article></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "d.json").write_text(
        json.dumps(
            [{"id": "x1", "title": "J1", "text": "t1"}, {"id": "x2", "title": "J2", "text": "t2"}]
        ),
        encoding="utf-8",
    )
    (tmp_path / "e.jsonl").write_text(
        json.dumps({"id": "y1", "title": "L1", "text": "l1", "published": "2024-05-06"}) + "\n",
        encoding="utf-8",
    )
    (tmp_path / "notes.csv").write_text("a,b\n", encoding="utf-8")
    result = load_local(tmp_path, 5 * MB)
    assert result.errors == []
    assert result.skipped == 1
    titles = sorted(a.title for a in result.articles)
    assert titles == ["HTML Title", "J1", "J2", "Judul Berita Uji", "L1", "Markdown Title"]
    md = next(a for a in result.articles if a.title == "Markdown Title")
    assert md.url == "https://news.example.com/b"
    assert "**" not in md.text and "](" not in md.text and "link" in md.text
    assert md.published is not None and md.published.year == 2024
    assert {a.id for a in result.articles if a.title in {"J1", "J2"}} == {"x1", "x2"}


def test_bad_files_are_errors_and_good_ones_still_load(tmp_path):
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    )
    (tmp_path / "latin1.txt").write_bytes("Berita tentang café dan señor".encode("latin-1"))
    with open(tmp_path / "huge.txt", "wb") as fh:
        fh.truncate(50 * MB)  # sparse: cheap to make, 50 MB to read
    (tmp_path / "broken.json").write_text('{"id": "1", "text": ', encoding="utf-8")
    (tmp_path / "lines.jsonl").write_text(
        '{"id": "ok", "title": "t", "text": "fine"}\n{not json}\n[1, 2]\n', encoding="utf-8"
    )
    result = load_local(tmp_path, 5 * MB)
    reasons = {e.item.rsplit("/", 1)[-1]: e.reason for e in result.errors}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"] == "binary file, not text"
    assert reasons["latin1.txt"].startswith("not valid UTF-8")
    assert "over the 5 MB limit" in reasons["huge.txt"]
    assert reasons["broken.json"].startswith("malformed JSON")
    assert reasons["lines.jsonl#line 2"].startswith("malformed JSON")
    assert "not an article object" in reasons["lines.jsonl#line 3"]
    assert len(result.errors) == 7
    assert sorted(a.title for a in result.articles) == ["Judul Berita Uji", "t"]
    assert all("\n" not in e.reason for e in result.errors)


def test_missing_path_is_an_error(tmp_path):
    result = load_local(tmp_path / "nope", MB)
    assert result.articles == [] and result.errors[0].reason == "no such file or folder"


def test_classify_sources(tmp_path):
    urls = tmp_path / "feeds.txt"
    urls.write_text(
        "# my feeds\nhttps://a.example/rss\nhttp://b.example/atom.xml\n", encoding="utf-8"
    )
    article = tmp_path / "article.txt"
    article.write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "x.opml").write_text("<opml/>", encoding="utf-8")
    assert classify("https://a.example/rss").kind == "url"
    assert classify(str(urls)).kind == "urls"
    assert classify(str(article)).kind == "local"
    assert classify(str(tmp_path / "x.opml")).kind == "opml"
    assert classify(str(tmp_path)).kind == "local"
