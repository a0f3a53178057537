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

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.json_metadata import extract_json, extract_json_parse_error, normalize_json
from trafilatura.metadata import (
    JSON_MINIFY,
    META_URL,
    Document,
    examine_meta,
    extract_sitename,
    extract_title,
    extract_url,
    set_date_params,
)

from digest.dates import parse_date
from digest.lang import fold, normalize_lang, word_count
from digest.rules import paragraph_rules

log = logging.getLogger(__name__)

# trafilatura's precision mode: drops more side blocks, loses a little body text.
FAVOR_PRECISION = True
# Skip trafilatura's comparison with its fallback extractors (readability, jusText) on the
# first pass: it doubles the cost and, in precision mode, rarely changes the text. A page
# where the fast pass finds (almost) nothing gets the full pass, see RECALL_RETRY_CHARS.
FAST_FIRST_PASS = True
# When the first pass keeps less than this many characters, a full recall pass is tried.
RECALL_RETRY_CHARS = 400
# Pages rendered by JavaScript frameworks (Next.js, Nuxt, ...) may carry the article only as
# an HTML string inside a script's JSON state. When the page itself yields too little, the
# longest such string with at least this many <p> tags is extracted instead.
EMBEDDED_MIN_PARAGRAPHS = 2
EMBEDDED_MIN_CHARS = 200
_JSON_STRING = re.compile(rf'"((?:[^"\\]|\\.){{{EMBEDDED_MIN_CHARS},}})"', re.S)
_HAS_PARAGRAPH = re.compile(r"<p[\s>]|\\u003cp[\s>\\]", re.I)
_PARAGRAPH_TAG = re.compile(r"<p[\s>]", re.I)
# A decoded string that is itself JSON: '{...', '[...', or a React Server Components row '5:[...'
_JSON_DOCUMENT = re.compile(r"^\s*(?:[0-9a-zA-Z]{1,8}:)?\s*[\[{]")
# JSON-LD that is not valid JSON is searched with trafilatura's regular expressions, which
# cost seconds on big blocks: only below this size.
JSON_REPAIR_MAX_CHARS = 20_000
# Paragraphs at the start and end of the text where header/trailer debris is looked for.
EDGE_PARAGRAPHS = 3
# Debris lines are short: never drop a paragraph longer than this as header/trailer debris.
EDGE_MAX_WORDS = 12
READ_MORE_MAX_WORDS = 40

# The debris rules are data (digest/rules/paragraphs.toml); the word limits are here.
_RULES = paragraph_rules()
_READ_MORE_PARA = _RULES.read_more_paragraph
_READ_MORE_ALONE = _RULES.read_more_alone
_EMBED_ATTRIBUTION = _RULES.embed_attribution
_PHOTO_CREDIT = _RULES.photo_credit
_LABEL_VALUE = _RULES.label_value
_DATE_OR_TIME = _RULES.date_or_time
_AD_MARKER = _RULES.ad_marker
_PARENTHESIZED = _RULES.parenthesized
_BYLINE = _RULES.byline
_SENTENCE_END = _RULES.sentence_end
_PLACEHOLDER = _RULES.placeholder
AD_MAX_WORDS = 6
DATE_LINE_MAX_WORDS = 8
SHORT_EDGE_WORDS = 3


# libxml2 stops building the tree below this depth: a page nested deeper (by accident or to
# hide text) loses everything under it. Such pages are read again with their wrapper tags
# (div, span, font, ...) removed; if they are still too deep, HtmlTooDeep says so.
MAX_HTML_DEPTH = 255
# [^<>] keeps every match attempt short: linear on any input, "<a <a <a ..." included.
_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:-]*)[^<>]*?(/?)>")
_VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_WRAPPER_TAGS = re.compile(
    r"</?(?:div|span|font|section|center|b|i|u|em|strong|small|big|sup|sub|aside|main|"
    r"header|footer|nav|article|figure|blockquote|ul|ol|li|dl|dd|dt|table|tbody|tr|td|th)"
    r"\b[^<>]*>",
    re.I,
)


class HtmlTooDeep(ValueError):
    """The page's elements nest deeper than the HTML parser can follow; one line says so."""


def html_depth(html: str) -> int:
    """How deep the page's elements nest (a linear scan of the tags; void tags not counted)."""
    depth = deepest = 0
    for m in _TAG_RE.finditer(html):
        name = m.group(2).lower()
        if m.group(1):
            depth = max(0, depth - 1)
        elif not m.group(3) and name not in _VOID_TAGS:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


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
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset: no date (range checks follow)
        return None


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
        if _PLACEHOLDER.match(para):
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

    if not kept and any(_key(p) for p in paragraphs):
        # Every paragraph looked like debris: that says more about the rules than the page.
        log.warning(
            "paragraph rules would remove all %d paragraphs: kept them; first %.80r",
            len(paragraphs),
            paragraphs[0],
        )
        return [p for p in paragraphs if _key(p)]
    if len(kept) <= 2:
        return kept
    edges = set(range(min(EDGE_PARAGRAPHS, len(kept))))
    edges |= set(range(max(0, len(kept) - EDGE_PARAGRAPHS), len(kept)))
    drop = {i for i in edges if _is_edge_debris(kept[i], meta_keys)}
    out = [p for i, p in enumerate(kept) if i not in drop]
    return out or kept


def page_metadata(tree: HtmlElement, url: str | None) -> Document:
    """Title, author, date, site name and canonical URL of a parsed page.

    trafilatura's own ``extract_metadata`` minus what we never use (categories, tags,
    licence) and minus its slow paths: JSON-LD is parsed as it comes (its regex repair only
    for small invalid blocks) and authors are looked for in meta tags and JSON-LD only, not
    with its whole-page author heuristics.
    """
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    for elem in tree.xpath(
        './/script[@type="application/ld+json" or @type="application/settings+json"]'
    ):
        text = elem.text
        if not text or text.isspace():
            continue
        try:
            schema = json.loads(text, strict=False)
        except ValueError:
            if len(text) > JSON_REPAIR_MAX_CHARS:
                continue
            text = normalize_json(JSON_MINIFY.sub(r"\1", text))
            try:
                schema = json.loads(text, strict=False)
            except ValueError:
                meta = extract_json_parse_error(text, meta)
                continue
        try:
            meta = extract_json(schema, meta)
        except Exception:  # odd JSON-LD shapes trip trafilatura's walker: skip the block
            continue
    # JSON-LD values come raw (entities, tags, escaped newlines): trafilatura's clean-up
    for field in ("title", "author", "sitename"):
        value = getattr(meta, field)
        if value is not None:
            setattr(meta, field, normalize_json(value) if isinstance(value, str) else None)
    if not meta.title:
        meta.title = extract_title(tree)
    if not meta.url:
        meta.url = extract_url(tree, url)
    meta.date = find_date(tree, **set_date_params(True), url=meta.url)
    if not meta.sitename:
        meta.sitename = extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url:
        m = META_URL.match(meta.url)
        if m:
            meta.sitename = m[1]
    meta.clean_and_trim()
    return meta


def _html_strings(text: str, depth: int) -> Iterator[str]:
    """JSON string literals in ``text`` that hold HTML with paragraphs, decoded; a literal
    that is itself JSON (a framework's serialised state) is searched one level deeper."""
    for m in _JSON_STRING.finditer(text):
        chunk = m.group(1)
        if not _HAS_PARAGRAPH.search(chunk):
            continue
        try:
            value = json.loads(f'"{chunk}"', strict=False)
        except ValueError:
            continue
        if _JSON_DOCUMENT.match(value):
            if depth > 1:
                yield from _html_strings(value, depth - 1)
        elif len(_PARAGRAPH_TAG.findall(value)) >= EMBEDDED_MIN_PARAGRAPHS:
            yield value


def embedded_article_html(tree: HtmlElement) -> str | None:
    """The longest HTML fragment with paragraphs found in a JSON string of an inline script
    (the article body of a page a JavaScript framework renders in the browser)."""
    best = ""
    for script in tree.iterfind(".//script"):
        text = script.text
        if script.get("src") or not text or not _HAS_PARAGRAPH.search(text):
            continue
        for value in _html_strings(text, depth=2):
            if len(value) > len(best):
                best = value
    return best or None


def _bare(tree: HtmlElement, url: str | None, precision: bool, fast: bool) -> str:
    """The body text of a parsed page (trafilatura works on a copy of the tree)."""
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        with_metadata=False,
        include_comments=False,
        include_tables=False,
        favor_precision=precision,
    )
    return (doc.text or "").strip() if doc is not None else ""


def extract_html(html: str, url: str | None = None) -> Extracted | None:
    """Main text and metadata of an article page, or None when there is no article in it.

    The page is parsed once; metadata and body text are read from that tree. A page nested
    deeper than :data:`MAX_HTML_DEPTH` is read flattened, or HtmlTooDeep is raised.
    """
    found = _extract_html(html, url)
    if found is not None:
        return found
    depth = html_depth(html)
    if depth <= MAX_HTML_DEPTH:
        return None
    flat = _WRAPPER_TAGS.sub("", html)
    found = _extract_html(flat, url)
    if found is None and html_depth(flat) > MAX_HTML_DEPTH:
        raise HtmlTooDeep(
            f"HTML nested {depth} levels deep, deeper than the {MAX_HTML_DEPTH} the parser "
            "follows: its text cannot be read"
        )
    return found


def _extract_html(html: str, url: str | None) -> Extracted | None:
    tree = trafilatura.load_html(html)
    if tree is None:
        return None
    meta = page_metadata(tree, url)
    raw = _bare(tree, url, FAVOR_PRECISION, FAST_FIRST_PASS)
    if len(raw) < RECALL_RETRY_CHARS and (FAVOR_PRECISION or FAST_FIRST_PASS):
        retry = _bare(tree, url, False, False)
        if len(retry) > len(raw):
            raw = retry
    if len(raw) < RECALL_RETRY_CHARS:
        fragment = embedded_article_html(tree)
        if fragment:
            inner = trafilatura.load_html(
                f"<html><body><article>{fragment}</article></body></html>"
            )
            embedded = _bare(inner, url, FAVOR_PRECISION, False) if inner is not None else ""
            if len(embedded) > len(raw):
                raw = embedded
    if not raw:
        return None
    title = (meta.title or "").strip()
    author = meta.author
    sitename = meta.sitename
    # trafilatura separates paragraphs with single newlines; we use blank lines.
    paragraphs = [p.strip() for p in raw.split("\n") if p.strip()]
    paragraphs = clean_paragraphs(paragraphs, title, author, sitename)
    if not paragraphs:
        return None
    return Extracted(
        title=title,
        text="\n\n".join(paragraphs),
        published=_fast_date(meta.date),
        author=author,
        sitename=sitename,
        lang=normalize_lang(meta.language),
        url=meta.url or url,
    )
