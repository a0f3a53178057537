"""Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed via feedparser), OPML files and URL lists."""

from __future__ import annotations

import html as html_lib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
from trafilatura.feeds import FEED_TYPES as TRAFILATURA_FEED_TYPES

from digest.errors import SourceError
from digest.lang import normalize_lang
from digest.validate import check_date
from flows.sources.base import ItemError
from flows.sources.spec import is_url

_BLOCK_END = re.compile(
    r"<\s*(?:br|/p|/div|/li|/h[1-6]|/blockquote|/tr|/section|/article)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)


class FeedError(SourceError, ValueError):
    """A feed, OPML or URL list that cannot be read; the message is one line."""


@dataclass
class FeedEntry:
    link: str
    title: str = ""
    text: str = ""  # the entry's own content (or summary) as plain text
    published: datetime | None = None
    author: str | None = None
    guid: str | None = None


@dataclass
class ParsedFeed:
    title: str = ""
    link: str = ""
    lang: str | None = None
    entries: list[FeedEntry] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    warning: str | None = None  # the feed parsed, but was not well-formed


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed summaries), paragraphs separated by blank lines."""
    if not fragment:
        return ""
    text = _SCRIPT.sub(" ", fragment)
    text = _BLOCK_END.sub("\n\n", text)
    text = html_lib.unescape(_TAG.sub(" ", text))
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paras if p)


def _when(entry) -> datetime | None:
    """The entry's date; a date out of range (year 0001, 9999) is dropped with a warning."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = datetime(*value[:6], tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            return check_date(when, str(entry.get("link") or entry.get("id") or "feed entry"))
    return None


def _entry_text(entry) -> str:
    best = ""
    for content in entry.get("content") or []:
        value = content.get("value") or ""
        if len(value) > len(best):
            best = value
    summary = entry.get("summary") or ""
    if len(summary) > len(best):
        best = summary
    return html_to_text(best)


def is_json_feed(content: bytes) -> bool:
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org/version/" in content[:4096]


def _json_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _entry_link(feed_url: str, link: str, label: str, out: ParsedFeed) -> str | None:
    """An entry's link made absolute, or None with the entry's error recorded in ``out``."""
    if not link:
        out.errors.append(ItemError(label, "feed entry has no link"))
        return None
    link = urljoin(feed_url, link)
    if not re.match(r"^https?://", link, re.I):
        out.errors.append(ItemError(label, f"entry link {link[:80]} is not http(s)"))
        return None
    return link


def parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    """A JSON Feed 1.0 or 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"invalid JSON Feed: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FeedError("invalid JSON Feed: no items list")
    out = ParsedFeed(
        title=_str(data.get("title")),
        link=_str(data.get("home_page_url")) or url,
        lang=normalize_lang(_str(data.get("language")) or None),
    )
    for n, item in enumerate(data["items"], 1):
        if not isinstance(item, dict):
            out.errors.append(ItemError(f"{url}#item {n}", "JSON Feed item is not an object"))
            continue
        title = html_to_text(_str(item.get("title"))).replace("\n\n", " ")
        label = f"{url}#item {n}" + (f" ({title[:60]})" if title else "")
        link = _str(item.get("url")) or _str(item.get("external_url"))
        if not link and is_url(_str(item.get("id"))):
            link = _str(item.get("id"))
        link = _entry_link(url, link, label, out)
        if link is None:
            continue
        html_body = _str(item.get("content_html"))
        text = html_to_text(html_body) if html_body else _str(item.get("content_text"))
        if not text:
            text = html_to_text(_str(item.get("summary")))
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        author = next(
            (_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")), None
        )
        out.entries.append(
            FeedEntry(
                link=link,
                title=title,
                text=text,
                published=_json_date(item.get("date_published"))
                or _json_date(item.get("date_modified")),
                author=author,
                guid=_str(item.get("id")) or None,
            )
        )
    return out


def parse_feed(content: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Entries of a feed given as raw bytes (so the XML's own encoding is honoured); JSON
    Feed 1.0/1.1 too.

    Raises FeedError when the bytes are not a feed at all; a feed that parses despite
    errors keeps its entries and says so in ``warning``.
    """
    if is_json_feed(content) or (content_type or "").split(";")[0].strip().lower() in {
        "application/feed+json",
        "application/json",
    }:
        return parse_json_feed(content, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(content, response_headers=headers)
    exc = parsed.get("bozo_exception")
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        reason = str(exc).strip().splitlines()[0] if exc else "no feed elements found"
        raise FeedError(f"invalid feed XML: {reason}")
    feed = parsed.feed
    out = ParsedFeed(
        title=(feed.get("title") or "").strip(),
        link=feed.get("link") or url,
        lang=normalize_lang(feed.get("language")),
    )
    if parsed.get("bozo") and exc is not None:
        out.warning = (
            f"feed is not well-formed ({str(exc).strip().splitlines()[0]}); used what parsed"
        )
    for n, entry in enumerate(parsed.entries, 1):
        title = html_to_text(entry.get("title") or "").replace("\n\n", " ")
        link = (entry.get("link") or "").strip()
        if not link:
            # An entry without a link may still carry a permalink guid (RSS isPermaLink).
            guid = (entry.get("id") or "").strip()
            link = guid if is_url(guid) else ""
        label = f"{url}#entry {n}" + (f" ({title[:60]})" if title else "")
        link = _entry_link(url, link, label, out)
        if link is None:
            continue
        out.entries.append(
            FeedEntry(
                link=link,
                title=title,
                text=_entry_text(entry),
                published=_when(entry),
                author=entry.get("author"),
                guid=entry.get("id") or None,
            )
        )
    return out


# --- OPML and URL lists ------------------------------------------------------------------


@dataclass
class OutlineFeed:
    url: str
    title: str | None = None
    lang: str | None = None
    tags: list[str] = field(default_factory=list)


def parse_opml(data: bytes | str, origin: str = "OPML") -> list[OutlineFeed]:
    """The feeds an OPML file lists (``xmlUrl`` outlines); folders become tags."""
    try:
        root = ET.fromstring(data.encode("utf-8") if isinstance(data, str) else data)
    except ET.ParseError as exc:
        raise FeedError(f"invalid OPML: {exc}") from None
    if root.tag.lower() != "opml":
        raise FeedError(f"not an OPML file (root element <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise FeedError("invalid OPML: no <body>")
    feeds: list[OutlineFeed] = []
    seen: set[str] = set()

    def walk(node: ET.Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            attrs = {k.lower(): v for k, v in outline.attrib.items()}
            xml_url = (attrs.get("xmlurl") or "").strip()
            name = (attrs.get("title") or attrs.get("text") or "").strip() or None
            if xml_url:
                if xml_url not in seen:
                    seen.add(xml_url)
                    feeds.append(
                        OutlineFeed(
                            url=xml_url,
                            title=name,
                            lang=normalize_lang(attrs.get("language")),
                            tags=list(folders),
                        )
                    )
            else:
                walk(outline, folders + ([name] if name else []))

    walk(body, [])
    return feeds


def write_opml(feeds, title: str = "newsdigest sources") -> str:
    """An OPML 2.0 file of feeds (objects with url, name, lang, tags): the first tag of a
    feed is its folder, as :func:`parse_opml` reads folders back as tags."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = datetime.now(UTC).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for f in feeds:
        parent = body
        if f.tags:
            folder = f.tags[0]
            if folder not in folders:
                folders[folder] = ET.SubElement(body, "outline", text=folder, title=folder)
            parent = folders[folder]
        name = f.name or f.url
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": f.url}
        if f.lang:
            attrs["language"] = f.lang
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def read_url_list(path: Path) -> tuple[list[str], list[ItemError]]:
    """URLs of a text file, one a line; '#' starts a comment; bad lines are errors."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FeedError("not UTF-8 text: save the list as UTF-8") from None
    urls: list[str] = []
    errors: list[ItemError] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if is_url(line):
            if line not in urls:
                urls.append(line)
        else:
            errors.append(ItemError(f"{path}#line {n}", f"not an http(s) URL: {line[:80]}"))
    return urls, errors


_FEED_URL_HINT = re.compile(
    r"(\.(xml|rss|atom|rdf)$|/(feed|feeds|rss|atom)(/|$|\.)|[?&](feed|format)=(rss|atom|xml))",
    re.I,
)


def looks_like_feed_url(url: str) -> bool:
    """A guess from the URL alone (the response decides in the end)."""
    return bool(_FEED_URL_HINT.search(url.split("#", 1)[0]))


# --- home pages: a site's URL given as a source ---------------------------------------------

# The link types trafilatura.feeds takes for feeds (its list, without text/plain).
_FEED_LINK_TYPES = frozenset(TRAFILATURA_FEED_TYPES) - {"text/plain"}


def home_page_feeds(html: str, url: str) -> list[str] | None:
    """The feeds a home page declares (``<link rel="alternate" type="application/rss+xml">``,
    as trafilatura.feeds does), or None when the page is not a home page: a home page is the
    site's root (path "/") or a page that calls itself a website (og:type), not an article."""
    from trafilatura import load_html

    tree = load_html(html)
    if tree is None:
        return None
    og_type = " ".join(tree.xpath('//meta[@property="og:type"]/@content')).strip().lower()
    root = urlsplit(url).path in ("", "/")
    if not (root or og_type == "website") or "article" in og_type:
        return None
    found: list[str] = []
    for link in tree.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in _FEED_LINK_TYPES:
            href = urljoin(url, link.get("href").strip())
            if re.match(r"^https?://", href, re.I) and href not in found and href != url:
                found.append(href)
    if not found and not root:
        return None  # a page that says "website" but declares no feed: read it as a page
    return found
