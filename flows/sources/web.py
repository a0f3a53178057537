"""Feeds and article pages over HTTP (filled in by the web-ingestion work)."""

from __future__ import annotations

from digest.settings import Settings
from flows.sources.base import ItemError, LoadResult
from flows.sources.spec import SourceSpec


def load_web_source(spec: SourceSpec, settings: Settings, db_url: str) -> LoadResult:
    """Articles of one feed, page, OPML file or URL list."""
    return LoadResult(errors=[ItemError(spec.key, "web sources are not supported yet")])
