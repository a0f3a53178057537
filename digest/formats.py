"""The file formats of DESIGN.md, read and written here and nowhere else (JSON Lines, UTF-8).

- **A, article**: ``{"id", "title", "text", "url", "source", "published", "lang"}``
  (:func:`parse_article`, :func:`article_record`);
- **C, cluster to summarize**: ``{"id", "lang", "docs": [{"title", "text", "published",
  "url"}, ...]}`` (:func:`parse_cluster`, :func:`cluster_record`);
- **S, story**: ``{"id", "headline", "articles", "summary": [{"text", "article"}, ...],
  "first_seen", "last_updated"}`` (:func:`story_record`, :func:`parse_story`);
- the stored summary of a story (the ``summary`` of format S, with ``also``: the other
  articles that say the same): :func:`dump_summary`, :func:`load_summary`.

Readers check types at the boundary: a field of the wrong JSON type is a
:class:`FormatError` saying which record and which field ("line 3: title must be a string"),
never a crash further on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from digest.dates import parse_date
from digest.errors import InputFormatError
from digest.models import Article, Doc

__all__ = [
    "Cluster",
    "FormatError",
    "Record",
    "StoryRecord",
    "SummaryItem",
    "article_record",
    "cluster_record",
    "dump_summary",
    "iso",
    "jsonl_line",
    "load_summary",
    "parse_article",
    "parse_cluster",
    "parse_story",
    "read_json_records",
    "read_jsonl",
    "story_record",
    "write_jsonl",
]

FORMATS_HINT = "see File formats in the README: one JSON object a line, UTF-8"


class FormatError(InputFormatError):
    """One record (or line) of a format A, C or S file is not well formed.

    ``str()`` is ``"<where>: <reason>"``, e.g. ``"line 3: title must be a string"``.
    """

    hint = FORMATS_HINT

    def __init__(self, message: str, hint: str | None = None, *, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message, hint)
        self.where = where
        self.reason = message


# --- JSON Lines ----------------------------------------------------------------------------


@dataclass
class Record:
    """One JSON value of a file and where it was ("line 3", "record 2"); ``error`` instead
    of ``value`` when that line is not JSON."""

    where: str
    value: Any = None
    error: FormatError | None = None


def read_json_records(text: str, *, lines: bool = True) -> list[Record]:
    """The records of a JSON Lines text (``lines``) or of one JSON document (an object or an
    array of objects). A bad line is a Record with an ``error``; a bad JSON document raises."""
    if lines:
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(Record(f"line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                out.append(
                    Record(
                        f"line {n}",
                        error=FormatError(f"malformed JSON: {exc.msg}", where=f"line {n}"),
                    )
                )
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"malformed JSON: {exc.msg}", where=f"line {exc.lineno} column {exc.colno}"
        ) from None
    items = data if isinstance(data, list) else [data]
    return [Record(f"record {i}", item) for i, item in enumerate(items, 1)]


def read_jsonl(text: str) -> list[tuple[str, dict]]:
    """Every JSON object of a JSON Lines text with where it was; the first bad line raises."""
    out = []
    for rec in read_json_records(text, lines=True):
        if rec.error is not None:
            raise rec.error
        if not isinstance(rec.value, dict):
            raise FormatError("not a JSON object", where=rec.where)
        out.append((rec.where, rec.value))
    return out


def jsonl_line(row: dict) -> str:
    """One record as a line of JSON Lines (UTF-8 kept as is), with its newline."""
    return json.dumps(row, ensure_ascii=False) + "\n"


def write_jsonl(rows: Iterable[dict], out: TextIO) -> int:
    """Write ``rows`` as JSON Lines to ``out``; returns how many."""
    n = 0
    for row in rows:
        out.write(jsonl_line(row))
        n += 1
    out.flush()
    return n


# --- field checks --------------------------------------------------------------------------


def _object(value: Any, where: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise FormatError(f"not {what} object", where=where)
    return value


def _str(rec: dict, key: str, where: str, *, required: bool = False) -> str | None:
    value = rec.get(key)
    if value is None:
        if required:
            raise FormatError(f'missing "{key}"', where=where)
        return None
    if not isinstance(value, str):
        raise FormatError(f'"{key}" must be a string, not {_json_type(value)}', where=where)
    return value


def _id(rec: dict, key: str, where: str, *, required: bool) -> str | None:
    value = rec.get(key)
    if value is None or value == "":
        if required:
            raise FormatError(f'missing "{key}"', where=where)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FormatError(f'"{key}" must be a string, not {_json_type(value)}', where=where)
    return str(value)


def _date(rec: dict, key: str, where: str) -> datetime | None:
    value = _str(rec, key, where)
    return parse_date(value) if value else None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def iso(value: datetime | None) -> str | None:
    """A datetime as ISO-8601 in UTC (naive values are UTC), None stays None."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


# --- format A: articles --------------------------------------------------------------------


def parse_article(value: Any, where: str = "", *, require: Iterable[str] = ("text",)) -> Article:
    """One format A record as an Article (``id`` "" when absent and not required).

    ``require`` names the fields that must be present (``cluster`` needs id, title, text;
    ingesting needs only the text). ``source`` is kept as given: the outlet is derived from
    the URL later, when it is missing.
    """
    rec = _object(value, where, "an article")
    need = set(require)
    missing = [k for k in ("id", "title", "text") if k in need and rec.get(k) is None]
    if missing:
        raise FormatError(f"missing {', '.join(missing)} (format A)", where=where)
    text = _str(rec, "text", where, required=True)
    return Article(
        id=_id(rec, "id", where, required="id" in need) or "",
        title=_str(rec, "title", where) or "",
        text=text or "",
        url=_str(rec, "url", where) or None,
        source=_str(rec, "source", where) or None,
        published=_date(rec, "published", where),
        lang=_str(rec, "lang", where) or None,
    )


def article_record(article: Article, **extra: Any) -> dict:
    """An Article as a format A record; ``extra`` fields follow (e.g. near_duplicate_of)."""
    return {
        "id": article.id,
        "title": article.title,
        "text": article.text,
        "url": article.url,
        "source": article.source,
        "published": iso(article.published),
        "lang": article.lang,
        **extra,
    }


# --- format C: clusters to summarize -------------------------------------------------------


@dataclass
class Cluster:
    """One format C record: the documents of one cluster, to summarize together."""

    id: str
    lang: str | None
    docs: list[Doc] = field(default_factory=list)


def parse_cluster(value: Any, where: str = "", *, default_id: str = "") -> Cluster:
    """One format C record; every doc needs a text (title, published, url optional)."""
    rec = _object(value, where, "a cluster")
    lang = _str(rec, "lang", where) or None
    docs_value = rec.get("docs")
    if not isinstance(docs_value, list):
        raise FormatError('no "docs" list (format C)', where=where)
    docs = []
    for i, d in enumerate(docs_value, 1):
        at = f"{where} doc {i}".strip()
        d = _object(d, at, "a document")
        docs.append(
            Doc(
                title=_str(d, "title", at) or "",
                text=_str(d, "text", at) or "",
                published=_date(d, "published", at),
                url=_str(d, "url", at) or None,
                lang=lang,
            )
        )
    return Cluster(id=_id(rec, "id", where, required=False) or default_id, lang=lang, docs=docs)


def cluster_record(cluster: Cluster) -> dict:
    return {
        "id": cluster.id,
        "lang": cluster.lang,
        "docs": [
            {"title": d.title, "text": d.text, "published": iso(d.published), "url": d.url}
            for d in cluster.docs
        ],
    }


# --- the stored summary and format S: stories ----------------------------------------------


@dataclass
class SummaryItem:
    """A summary sentence, quoted from ``article``; ``also``: other articles saying it."""

    text: str
    article: str
    also: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"text": self.text, "article": self.article, "also": list(self.also)}


def _summary_item(value: Any, where: str) -> SummaryItem:
    rec = _object(value, where, "a summary sentence")
    also = rec.get("also") or []
    if not isinstance(also, list) or not all(isinstance(a, str) for a in also):
        raise FormatError('"also" must be a list of article ids', where=where)
    return SummaryItem(
        text=_str(rec, "text", where, required=True) or "",
        article=_id(rec, "article", where, required=True) or "",
        also=list(also),
    )


def dump_summary(items: Iterable[SummaryItem]) -> str:
    """A story's summary as stored in the database (a JSON array)."""
    return json.dumps([i.as_dict() for i in items], ensure_ascii=False)


def load_summary(text: str | None) -> list[SummaryItem]:
    """A stored summary (see :func:`dump_summary`); empty or missing is no sentence."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"stored summary is malformed JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise FormatError("stored summary is not a JSON list")
    return [_summary_item(v, f"sentence {i}") for i, v in enumerate(data, 1)]


@dataclass
class StoryRecord:
    """One format S record."""

    id: str
    headline: str
    articles: list[str]
    summary: list[SummaryItem]
    first_seen: datetime | None = None
    last_updated: datetime | None = None
    closed: bool = False


def story_record(story: StoryRecord) -> dict:
    return {
        "id": story.id,
        "headline": story.headline,
        "articles": list(story.articles),
        "summary": [i.as_dict() for i in story.summary],
        "first_seen": iso(story.first_seen),
        "last_updated": iso(story.last_updated),
        "closed": story.closed,
    }


def parse_story(value: Any, where: str = "") -> StoryRecord:
    rec = _object(value, where, "a story")
    articles = rec.get("articles")
    if not isinstance(articles, list) or not all(isinstance(a, str) for a in articles):
        raise FormatError('"articles" must be a list of article ids', where=where)
    summary = rec.get("summary")
    if not isinstance(summary, list):
        raise FormatError('"summary" must be a list', where=where)
    closed = rec.get("closed", False)
    if not isinstance(closed, bool):
        raise FormatError('"closed" must be true or false', where=where)
    return StoryRecord(
        id=_id(rec, "id", where, required=True) or "",
        headline=_str(rec, "headline", where) or "",
        articles=list(articles),
        summary=[
            _summary_item(v, f"{where} sentence {i}".strip()) for i, v in enumerate(summary, 1)
        ],
        first_seen=_date(rec, "first_seen", where),
        last_updated=_date(rec, "last_updated", where),
        closed=closed,
    )
