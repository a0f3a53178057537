"""From a loaded article to a stored one: clean, title, date, language, outlet, identity."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from urllib.parse import urlsplit

from digest.clean import (
    clean_text,
    find_dateline_outlet,
    guess_outlet_from_signatures,
    normalize_text,
)
from digest.dates import find_date_in_text, is_date_line
from digest.errors import InputFormatError
from digest.lang import detect_language, fold, normalize_lang, word_count
from digest.models import Article
from digest.validate import cap_chars

__all__ = [
    "ArticleRejected",
    "article_id",
    "content_hash",
    "derive_title",
    "outlet_from_url",
    "prepare_article",
    "pretty_outlet",
    "title_from_plain_text",
]

# Below this many words after cleaning a text is a teaser, an error page or a photo gallery.
MIN_ARTICLE_WORDS = 25
# A first line this long or longer is the lede paragraph, not a title.
MAX_TITLE_CHARS = 200
# Titles made from a lede sentence are cut at this many words.
DERIVED_TITLE_WORDS = 14
# ... and at this many characters (about 14 words of Indonesian or English).
DERIVED_TITLE_CHARS = 100
# A first paragraph that is the title plus at most this many words ("| Republika Online") is
# the title repeated by the page; longer, it is the lede and stays.
TITLE_SUFFIX_MAX_WORDS = 6
# Header date lines ("Jumat, 8 September 2023 09:09 WIB") sit within the first paragraphs.
HEADER_PARAGRAPHS = 4

_SENTENCE_END = re.compile(r"[.?!…]['\"”’)]*$|[.?!]\s")
_FIRST_SENTENCE = re.compile(r"^(.+?[.?!…])(?:['\"”’]*)\s", re.S)


class ArticleRejected(InputFormatError, ValueError):
    """The item cannot become an article (empty, too short, not text): skip it, count it."""


def content_hash(text: str) -> str:
    """Identity of a cleaned text: case, accents and spacing do not matter."""
    return hashlib.sha256(" ".join(fold(text).split()).encode("utf-8")).hexdigest()


def article_id(url: str | None, text_hash: str) -> str:
    """Stable id: from the URL when there is one, else from the cleaned text."""
    key = url or text_hash
    return "a-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def title_from_plain_text(raw: str) -> tuple[str, str]:
    """Split a plain-text article into (title, body): the first line is a title only if it
    looks like one (short, on its own, or not ending like a sentence); else the title is ''.
    """
    lines = normalize_text(raw).split("\n")
    idx = next((i for i, line in enumerate(lines) if line and not is_date_line(line)), None)
    if idx is None:
        return "", raw
    first = lines[idx]
    next_blank = idx + 1 < len(lines) and not lines[idx + 1]
    looks_like_sentence = bool(_SENTENCE_END.search(first)) and not first.endswith("!")
    if len(first) <= MAX_TITLE_CHARS and (next_blank or not looks_like_sentence):
        return first, "\n".join(lines[:idx] + lines[idx + 1 :])
    return "", raw


def derive_title(text: str) -> str:
    """A title from the text's first sentence, cut to a readable length."""
    first_para = text.split("\n\n", 1)[0]
    m = _FIRST_SENTENCE.match(first_para + " ")
    sentence = (m.group(1) if m else first_para).strip()
    words = sentence.split()
    if len(words) <= DERIVED_TITLE_WORDS:
        title = sentence.rstrip(".")
    else:
        title = " ".join(words[:DERIVED_TITLE_WORDS]).rstrip(",;:") + "…"
    # Scripts without spaces between words (Thai, Chinese, Japanese): a "word" can be the
    # whole paragraph, so the title is cut in characters too.
    return cap_chars(title, DERIVED_TITLE_CHARS)


def outlet_from_url(url: str | None) -> str | None:
    """'https://www.tempo.co/x' -> 'tempo.co'."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def pretty_outlet(name: str) -> str:
    """'REPUBLIKA.CO.ID' -> 'Republika', 'TEMPO.CO' -> 'Tempo', 'Liputan6.com' -> 'Liputan6'."""
    base = re.sub(r"\.(co\.id|or\.id|com|co|id|net)$", "", name.strip(), flags=re.I)
    return base.capitalize() if base.isupper() else base


def _same_title(a: str, b: str) -> bool:
    """Whether paragraph ``b`` repeats title ``a``: the same, or the title and a short suffix
    ("Title - Kompas.com"); a lede that begins with the title's words is not a repeat."""
    fa, fb = " ".join(fold(a).split()), " ".join(fold(b).split())
    if not fa:
        return False
    suffix = len(fb.split()) - len(fa.split())
    return fa == fb or (len(fa) > 20 and fb.startswith(fa) and suffix <= TITLE_SUFFIX_MAX_WORDS)


def prepare_article(raw: Article) -> Article:
    """Clean and enrich one loaded article; raises ArticleRejected when nothing usable is left."""
    if not raw.text or not raw.text.strip():
        raise ArticleRejected("empty text")
    lang = normalize_lang(raw.lang) or detect_language(raw.text)
    text = clean_text(raw.text, lang)
    paragraphs = [p for p in text.split("\n\n") if p]

    published = raw.published
    body: list[str] = []
    for i, para in enumerate(paragraphs):
        if i < HEADER_PARAGRAPHS and is_date_line(para):
            published = published or find_date_in_text(para)
            continue
        body.append(para)
    title = (raw.title or "").strip()
    if title and body and _same_title(title, body[0]):
        body = body[1:]  # extractors and scrapes repeat the title as the first line
    text = "\n\n".join(body)
    n_words = word_count(text)
    if n_words < MIN_ARTICLE_WORDS:
        raise ArticleRejected(
            f"only {n_words} words left after cleaning (need {MIN_ARTICLE_WORDS})"
        )
    # Identified once; the cleaned text is only asked when the raw one gave no answer.
    lang = lang or detect_language(text)
    published = published or find_date_in_text(text)
    outlet = raw.source
    if not outlet:
        dateline = find_dateline_outlet(raw.text, lang)
        outlet = (
            pretty_outlet(dateline)
            if dateline
            else guess_outlet_from_signatures(raw.text, lang) or outlet_from_url(raw.url)
        )
    digest_of_text = content_hash(text)
    return replace(
        raw,
        id=raw.id or article_id(raw.url, digest_of_text),
        title=title or derive_title(text),
        text=text,
        published=published,
        lang=lang,
        source=outlet,
        content_hash=digest_of_text,
    )
