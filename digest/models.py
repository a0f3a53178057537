"""Plain data passed between the stages (no database, no Prefect)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Article:
    """One text from one outlet, after loading (format A of DESIGN.md, plus provenance)."""

    id: str
    title: str
    text: str
    url: str | None = None
    source: str | None = None  # the outlet's name
    published: datetime | None = None
    lang: str | None = None
    origin: str | None = None  # file path or URL it was read from
    tags: list[str] = field(default_factory=list)
    content_hash: str | None = None  # of the cleaned text, set by digest.prepare


@dataclass
class Doc:
    """One article as input to the summarizer (format C of DESIGN.md)."""

    title: str
    text: str
    published: datetime | None = None
    url: str | None = None
    lang: str | None = None
    source: str | None = None


@dataclass
class SummarySentence:
    """A summary sentence, verbatim from ``docs[doc]``; ``also`` lists other docs saying it."""

    text: str
    doc: int
    also: list[int] = field(default_factory=list)
    position: int = 0  # sentence index inside its document
