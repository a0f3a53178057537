"""HTML to article text with trafilatura (pure: no network).

trafilatura finds the article body; on top of it we drop the debris it lets through, with
rules that hold across outlets and languages:

- the title, author, outlet or date repeated as a paragraph of their own;
- inline "Baca juga:" / "Read more:" / "Lesen Sie auch:" paragraphs (and a bare marker
  together with the teaser line after it);
- embedded-post attributions ("— Name (@handle) July 18, 2026", "pic.twitter.com/...");
- photo credits ("Foto: ...") and, at the very start or end, short "Label: value" lines
  ("Lesedauer: 4 Minuten", "Quelle: dpa", "(NTB)") and bylines ("Von Nina Magoley");
- paragraphs repeated word for word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import trafilatura

from digest.dates import parse_date
from digest.lang import fold, normalize_lang, word_count

# trafilatura's precision mode: drops more side blocks, loses a little body text.
FAVOR_PRECISION = True
# When the precision pass keeps less than this many characters, a recall pass is tried.
RECALL_RETRY_CHARS = 400
# Paragraphs at the start and end of the text where header/trailer debris is looked for.
EDGE_PARAGRAPHS = 3
# Debris lines are short: never drop a paragraph longer than this as header/trailer debris.
EDGE_MAX_WORDS = 12
READ_MORE_MAX_WORDS = 40

_READ_MORE = (
    r"baca(?:\s+(?:juga|pula|selengkapnya))?|lihat\s+juga|simak\s+juga|"
    r"read\s+(?:more|also|next)|see\s+also|also\s+read|more\s+on\s+this|related|"
    r"lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema|auch\s+interessant|"
    r"lire\s+aussi|(?:à|a)\s+lire\s+aussi|leia\s+(?:também|mais)|leggi\s+anche|"
    r"lee\s+(?:también|más)|l(?:ä|a)s\s+(?:också|mer)|les\s+også|l(?:æ|ae)s\s+også|"
    r"lees\s+ook|czytaj\s+(?:więcej|też|także)|zobacz\s+też|"
    r"читайте\s+(?:также|також)|читайте\s+также|ayrıca\s+okuyun|funda\s+olunye\s+udaba\s+lapha"
)
# "Baca juga: Judul lain" / "READ MORE | Headline" / "(Baca juga: ...)"
_READ_MORE_PARA = re.compile(rf"^[\[(]?\s*(?:{_READ_MORE})\s*(?:[:|»>–—-]|\.\.\.|…)", re.I)
# The marker alone; the teaser headline follows as the next paragraph.
_READ_MORE_ALONE = re.compile(rf"^[\[(]?\s*(?:{_READ_MORE})\s*[:|»>–—.…)\]]*\s*$", re.I)
_EMBED_ATTRIBUTION = re.compile(
    r"^[—–-]\s*.{1,100}\(@\w{1,30}\)\s+\w+\.?\s+\d{1,2},\s+\d{4}$|pic\.twitter\.com/\w+", re.I
)
_PHOTO_CREDIT = re.compile(
    r"^[\[(]?(?:foto|fotos|photo|photos|bild|bilder|image|images|picture|credit|kuva|"
    r"zdjęcie|фото|fotó|写真|사진)(?:\s*\[[^\]]*\])?\s*:\s*.{1,120}$",
    re.I,
)
# "Lesedauer: 4 Minuten", "Quelle: ntv.de", "Redaktion: A, B", "(Quelle: APA/sda/dpa)"
_LABEL_VALUE = re.compile(r"^\(?[^\W\d][\w .'-]{0,24}:\s*[^!?]{1,100}\)?$")
# "05.08.2024, 20:59 Uhr", "Stand: 22.04.2024", "Uppdaterad 15.59 | Publicerad 14.14"
_DATE_OR_TIME = re.compile(
    r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}[:.]\d{2}\b|\b\d{4}-\d{2}-\d{2}\b"
)
# Advertising slots and "continue reading" buttons, in the languages we meet most.
_AD_MARKER = re.compile(
    r"\b(?:advertisement|advertising|anzeige|werbung|publicité|publicidad|pubblicità|reklame|"
    r"annons|annonse|mainos|реклама|reklama|story continues below|article continues below|"
    r"continue reading below|scroll to continue)\b",
    re.I,
)
AD_MAX_WORDS = 6
DATE_LINE_MAX_WORDS = 8
SHORT_EDGE_WORDS = 3
# "(NTB)", "(dpa)"
_PARENTHESIZED = re.compile(r"^\([^()]{1,40}\)$")
_BYLINE = re.compile(r"^(?:von|by|par|por|di|av|af|door|от|od)\s+\S.{0,60}$", re.I)
_SENTENCE_END = re.compile(r"[.!?…]['\"”’»)]*$")


@dataclass
class Extracted:
    title: str
    text: str
    published: datetime | None
    author: str | None
    sitename: str | None
    lang: str | None
    url: str | None


def _fast_date(value: str | None) -> datetime | None:
    """trafilatura gives ISO dates; only odd strings need the (slow) general parser."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return parse_date(value)
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(text)))


def _is_edge_debris(para: str, meta_keys: set[str]) -> bool:
    """A short header/trailer line: a byline, a label, the author, a source in brackets."""
    words = word_count(para)
    if words > EDGE_MAX_WORDS:
        return False
    if words <= SHORT_EDGE_WORDS and not _SENTENCE_END.search(para):
        return True  # "Berlin", "Darum gehts", a bare author name, a section label
    if words <= DATE_LINE_MAX_WORDS and _DATE_OR_TIME.search(para):
        return True
    if _key(para) in meta_keys:
        return True
    if _PARENTHESIZED.match(para):
        return True
    if _BYLINE.match(para) and not _SENTENCE_END.search(para):
        return True
    return bool(_LABEL_VALUE.match(para))


def clean_paragraphs(
    paragraphs: list[str],
    title: str = "",
    author: str | None = None,
    sitename: str | None = None,
) -> list[str]:
    """The article's paragraphs without the debris listed in this module's docstring."""
    meta_keys = {_key(v) for v in (title, author, sitename) if v and _key(v)}
    if author:  # "A; B" or "A, B" bylines name each author on their own line too
        meta_keys |= {_key(a) for a in re.split(r"[;,|]| and | und ", author) if _key(a)}
    title_key = _key(title) if title else ""

    kept: list[str] = []
    seen: set[str] = set()
    skip_teaser = False
    for para in paragraphs:
        if skip_teaser:
            skip_teaser = False
            # A teaser headline (no sentence end); "Read more" before a real paragraph is
            # a "continue reading" button, and the paragraph is the article's.
            if word_count(para) <= READ_MORE_MAX_WORDS and not _SENTENCE_END.search(para):
                continue
        words = word_count(para)
        if _READ_MORE_ALONE.match(para):
            skip_teaser = True
            continue
        if _READ_MORE_PARA.match(para) and words <= READ_MORE_MAX_WORDS:
            continue
        if _EMBED_ATTRIBUTION.search(para) and words <= 60:
            continue
        if _PHOTO_CREDIT.match(para) and words <= 20:
            continue
        if _AD_MARKER.search(para) and words <= AD_MAX_WORDS:
            continue
        key = _key(para)
        if not key:
            continue
        if title_key and key == title_key and len(kept) < EDGE_PARAGRAPHS:
            continue
        if key in seen and words >= 3:
            continue  # the same paragraph twice (teasers, repeated captions)
        seen.add(key)
        kept.append(para)

    if len(kept) <= 2:
        return kept
    edges = set(range(min(EDGE_PARAGRAPHS, len(kept))))
    edges |= set(range(max(0, len(kept) - EDGE_PARAGRAPHS), len(kept)))
    drop = {i for i in edges if _is_edge_debris(kept[i], meta_keys)}
    out = [p for i, p in enumerate(kept) if i not in drop]
    return out or kept


def _bare(html: str, url: str | None, precision: bool) -> dict | None:
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=precision,
    )
    if doc is None:
        return None
    return doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)


def extract_html(html: str, url: str | None = None) -> Extracted | None:
    """Main text and metadata of an article page, or None when there is no article in it."""
    data = _bare(html, url, FAVOR_PRECISION)
    if FAVOR_PRECISION and len((data or {}).get("text") or "") < RECALL_RETRY_CHARS:
        retry = _bare(html, url, False)
        if retry and len(retry.get("text") or "") > len((data or {}).get("text") or ""):
            data = retry
    if data is None:
        return None
    raw = (data.get("text") or "").strip()
    if not raw:
        return None
    title = (data.get("title") or "").strip()
    author = data.get("author")
    sitename = data.get("sitename")
    # trafilatura separates paragraphs with single newlines; we use blank lines.
    paragraphs = [p.strip() for p in raw.split("\n") if p.strip()]
    paragraphs = clean_paragraphs(paragraphs, title, author, sitename)
    if not paragraphs:
        return None
    return Extracted(
        title=title,
        text="\n\n".join(paragraphs),
        published=_fast_date(data.get("date")),
        author=author,
        sitename=sitename,
        lang=normalize_lang(data.get("language")),
        url=data.get("url") or url,
    )
