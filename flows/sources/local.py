"""Local files and folders: .txt, .md, .html, .json and .jsonl (format A of DESIGN.md)."""

from __future__ import annotations

import codecs
import logging
import os
import re
from dataclasses import replace
from pathlib import Path

from digest.dates import parse_date
from digest.errors import SourceError
from digest.extract import HtmlTooDeep, extract_html
from digest.formats import FormatError, parse_article, read_json_records
from digest.models import Article
from digest.prepare import outlet_from_url, title_from_plain_text
from digest.validate import safe_label
from flows.sources.base import ItemError, LoadResult

log = logging.getLogger("newsdigest.local")

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES
BINARY_SNIFF_BYTES = 8192

_MD_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.M)


class FileRejected(SourceError, ValueError):
    """The file cannot be read as articles; the message says why in one line."""


def load_local(path: Path, max_bytes: int) -> LoadResult:
    """Articles from a file or every supported file under a folder; bad files become errors."""
    result = LoadResult()
    if not path.exists():
        result.errors.append(ItemError(str(path), "no such file or folder"))
        return result
    files = _list_files(path, result) if path.is_dir() else [path]
    for f in files:
        if any(part.startswith(".") for part in f.relative_to(path).parts if path.is_dir()):
            continue
        if f.suffix.lower() not in SUPPORTED_SUFFIXES:
            result.skipped += 1
            continue
        try:
            result.extend(load_file(f, max_bytes))
        except FileRejected as exc:
            result.errors.append(ItemError(str(f), str(exc)))
        except OSError as exc:
            result.errors.append(ItemError(str(f), f"cannot read: {exc.strerror or exc}"))
        except Exception as exc:  # one odd file costs itself, never the folder
            log.exception("unexpected error reading %s", safe_label(str(f)))
            result.errors.append(ItemError(str(f), f"unexpected error: {type(exc).__name__}"))
    return result


def _list_files(folder: Path, result: LoadResult) -> list[Path]:
    """Every file under ``folder`` (symbolic links to folders not followed); a subfolder
    that cannot be listed is an error of its own."""
    files: list[Path] = []

    def unreadable(exc: OSError) -> None:
        where = exc.filename or str(folder)
        result.errors.append(ItemError(str(where), f"cannot list: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs.sort()
        files.extend(Path(root) / n for n in names if (Path(root) / n).is_file())
    return sorted(files)


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text; FileRejected for empty, oversized, binary or non-UTF-8 files."""
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("empty file")
    if size > max_bytes:
        raise FileRejected(
            f"file is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:.0f} MB limit "
            "(raise NEWSDIGEST_MAX_FILE_BYTES to read it)"
        )
    data = path.read_bytes()
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"not valid {enc.upper().removesuffix('-SIG')} after its byte order mark "
                    f"(offset {exc.start + len(bom)}): save the file as UTF-8"
                ) from None
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise FileRejected("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            "save the file as UTF-8"
        ) from None


def load_file(path: Path, max_bytes: int) -> LoadResult:
    """The articles of one file; bad records of a .jsonl file are errors of their own."""
    suffix = path.suffix.lower()
    text = read_text(path, max_bytes)
    if not text.strip():
        raise FileRejected("file holds only white space")
    origin = str(path.resolve())
    if suffix in JSON_SUFFIXES:
        return parse_json_articles(text, origin, lines=suffix != ".json")
    return LoadResult(articles=[_parse_document(path, suffix, text, origin)])


def _parse_document(path: Path, suffix: str, text: str, origin: str) -> Article:
    if suffix in HTML_SUFFIXES:
        try:
            extracted = extract_html(text)
        except HtmlTooDeep as exc:
            raise FileRejected(str(exc)) from None
        if extracted is None:
            raise FileRejected("no article text found in the HTML")
        return Article(
            id="",
            title=extracted.title,
            text=extracted.text,
            url=extracted.url,
            source=extracted.sitename,
            published=extracted.published,
            lang=extracted.lang,
            origin=origin,
        )
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(text, origin)
    title, body = title_from_plain_text(text)
    return Article(id="", title=title, text=body, origin=origin)


def parse_markdown(text: str, origin: str) -> Article:
    """Markdown with optional YAML-ish front matter (title, date, source, url, lang)."""
    meta: dict[str, str] = {}
    m = _MD_FRONT_MATTER.match(text)
    if m:
        for line in m.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("'\"")
        text = text[m.end() :]
    title = meta.get("title", "")
    if not title:
        h = re.search(r"^#\s+(.+)$", text, re.M)
        if h:
            title = h.group(1).strip()
            text = text[: h.start()] + text[h.end() :]
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    url = meta.get("url") or None
    return Article(
        id="",
        title=title,
        text=text,
        url=url,
        source=meta.get("source") or outlet_from_url(url),
        published=parse_date(meta.get("date")),
        lang=meta.get("lang") or None,
        origin=origin,
    )


def parse_json_articles(text: str, origin: str, *, lines: bool) -> LoadResult:
    """Format A records: a JSON object or array (.json), or one object a line (.jsonl)."""
    result = LoadResult()
    try:
        records = read_json_records(text, lines=lines)
    except FormatError as exc:
        raise FileRejected(f"{exc.reason} ({exc.where})") from None
    several = sum(1 for rec in records if rec.error is None) > 1
    for rec in records:
        item = f"{origin}#{rec.where}"
        try:
            if rec.error is not None:
                raise rec.error
            article = parse_article(rec.value, rec.where)
            _warn_unread_date(rec.value, article, item)
        except FormatError as exc:
            result.errors.append(ItemError(item, exc.reason))
            continue
        result.articles.append(
            replace(
                article,
                source=article.source or outlet_from_url(article.url),
                origin=item if several else origin,
            )
        )
    return result


def _warn_unread_date(record: dict, article: Article, item: str) -> None:
    """A ``published`` string that gave no date (unreadable, or out of range: year 0001,
    9999) is dropped with a warning; the article is kept."""
    value = record.get("published")
    if isinstance(value, str) and value.strip() and article.published is None:
        log.warning(
            "%s: publication date %r is unreadable or out of range (1900 to 2 days from "
            "now): ignored",
            safe_label(item),
            safe_label(value)[:60],
        )
