"""The scraping debris of the seed articles: none of it may reach stored text or a digest."""

import re

DEBRIS_PATTERNS = [
    r"SCROLL TO CONTINUE",
    r"Baca Juga",
    r"Lihat juga Video",
    r"Simak berita selengkapnya",
    r"Selanjutnya, wanti-wanti",
    r"^Advertising$",
    r"Pilihan Editor",
    r"Berita terkait",
    r"Baca Selengkapnya",
    r"\b\d+ (jam|hari) lalu\b",
    r"Yuk koleksi buku",
    r"!\[\]\(\)",
    r"sumber : Reuters",
    r"^Red: ",
    r"^Reporter$",
    r"REPUBLIKA\.CO\.ID",
    r"TEMPO\.CO, Jakarta",
    r"AP/Andrew Harnik",
    r"Berita Terpopuler",
    r"Netanyahu",  # from Tempo's related-articles list, not the story
]
_COMPILED = [re.compile(p, re.I | re.M) for p in DEBRIS_PATTERNS]
DATELINE_FRAGMENT = re.compile(r"^\s*(CO\.ID|CO\b|ID\b|COM\b)[,\s]")


def debris_in(text: str) -> list[str]:
    """The debris patterns found in ``text`` (empty when clean)."""
    return [p.pattern for p in _COMPILED if p.search(text)]
