"""The pipeline's steps as plain functions (no Prefect): the flows wrap these in tasks.

Each step takes a database URL or session and plain data, so it can be tested directly.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from digest.clean import drop_repeated_lines
from digest.models import Article
from digest.prepare import ArticleRejected, prepare_article
from digest.settings import get_settings
from digest.validate import RecordRejected, validate_article
from flows import workers
from flows.sources.base import ItemError, LoadResult
from storage import repo

log = logging.getLogger("newsdigest")

# The digest side lives in flows/digest_steps.py; its steps are re-exported here, where the
# flows and tests have always found them.
from flows.digest_steps import (  # noqa: E402
    GroupReport,
    build_digest,
    group_new_articles,
    record_digest,
    story_view,
    summarize_story,
    write_digest,
)

__all__ = [
    "GroupReport",
    "IngestReport",
    "articles_for_cluster",
    "build_digest",
    "group_new_articles",
    "prepare_articles",
    "record_digest",
    "store_loaded",
    "story_view",
    "summarize_story",
    "write_digest",
]


@dataclass
class IngestReport:
    """Counts of one ingest: what a run prints and logs at the end."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    # Source health of the run: sources that worked, failed (key -> reason), or were not tried
    # because they failed too often or are backing off (key -> reason).
    ok_sources: int = 0
    failed_sources: dict[str, str] = field(default_factory=dict)
    held_sources: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"new {self.new}, updated {self.updated}, duplicate {self.duplicate}, "
            f"failed {self.failed}, skipped {self.skipped}"
        )

    def merge(self, other: IngestReport) -> None:
        for k in ("new", "updated", "duplicate", "failed", "skipped"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.errors.extend(other.errors)
        for key, counts in other.per_source.items():
            mine = self.per_source.setdefault(key, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                mine[k] = mine.get(k, 0) + v
        self.ok_sources += other.ok_sources
        self.failed_sources.update(other.failed_sources)
        self.held_sources.update(other.held_sources)


def prepare_articles(loaded: LoadResult, default_outlet: str | None = None) -> LoadResult:
    """Clean and enrich loaded articles; the ones that cannot be used become errors."""
    out = LoadResult(errors=list(loaded.errors), skipped=loaded.skipped)
    by_outlet: dict[str, list[int]] = defaultdict(list)
    raws: list[Article] = []
    for raw in loaded.articles:
        try:
            raw = validate_article(raw)
        except RecordRejected as exc:
            out.errors.append(ItemError(_label(raw), str(exc)))
            continue
        except Exception as exc:  # one odd article costs itself, never its source or the run
            log.debug("unexpected error validating %s", _label(raw), exc_info=True)
            out.errors.append(
                ItemError(_label(raw), f"unexpected error: {type(exc).__name__}: {exc}")
            )
            continue
        raws.append(
            replace(raw, source=default_outlet) if default_outlet and not raw.source else raw
        )
    # CPU-bound and pure: spread over the worker processes when the batch is large.
    for raw, (art, why) in zip(
        raws, workers.map_items(get_settings(), _prepare_one, raws), strict=True
    ):
        if art is None:
            out.errors.append(ItemError(_label(raw), why))
            continue
        by_outlet[art.source or ""].append(len(out.articles))
        out.articles.append(art)
    # Lines one outlet repeats in many of this batch's articles are its boilerplate.
    texts = {o: [out.articles[i].text for i in idx] for o, idx in by_outlet.items() if o}
    for outlet, cleaned in drop_repeated_lines(texts).items():
        for i, text in zip(by_outlet[outlet], cleaned, strict=True):
            if text != out.articles[i].text:
                out.articles[i] = replace(out.articles[i], text=text)
    return out


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _label(raw: Article) -> str:
    for value in (raw.url, raw.origin, raw.id):
        if value and isinstance(value, str):
            return value
    return "article"


def _prepare_one(raw: Article) -> tuple[Article | None, str]:
    try:
        return prepare_article(raw), ""
    except ArticleRejected as exc:
        return None, str(exc)
    except Exception as exc:  # one odd article costs itself, never its source or the run
        return None, f"unexpected error: {type(exc).__name__}: {exc}"


def store_loaded(
    session: Session,
    source_key: str,
    kind: str,
    prepared: LoadResult,
    name: str | None = None,
    tags: Sequence[str] | None = None,
) -> IngestReport:
    """Store one source's prepared articles (and its tags); return its counts."""
    source_id = repo.upsert_source(session, source_key, kind, name, tags=tags)
    errors = list(prepared.errors)
    try:
        counts = repo.store_articles(session, prepared.articles, source_id)
    except (OperationalError, InterfaceError):
        raise  # the database itself failed: the task retries the whole source
    except (SQLAlchemyError, ValueError) as exc:
        # One article the database refuses must not cost the others: store one at a time.
        session.rollback()
        log.warning(
            "source %s: storing as a batch failed (%s); storing one at a time",
            source_key,
            _first_line(exc),
        )
        counts = repo.StoreCounts()
        for art in prepared.articles:
            try:
                counts.add(repo.store_articles(session, [art], source_id))
            except (OperationalError, InterfaceError):
                raise
            except (SQLAlchemyError, ValueError) as one:
                session.rollback()
                errors.append(ItemError(_label(art), f"cannot be stored: {_first_line(one)}"))
    report = IngestReport(
        new=counts.new,
        updated=counts.updated,
        duplicate=counts.duplicate,
        failed=len(errors),
        skipped=prepared.skipped,
        errors=[str(e) for e in errors],
    )
    report.per_source[source_key] = {
        "new": counts.new,
        "updated": counts.updated,
        "duplicate": counts.duplicate,
        "failed": len(errors),
        "skipped": prepared.skipped,
    }
    return report


# --- grouping ----------------------------------------------------------------------------


def articles_for_cluster(articles: Sequence[Article]) -> list[Article]:
    """Format A articles (see :func:`digest.formats.parse_article`) cleaned as in the
    pipeline, for the stateless ``cluster`` command: it groups what ``run`` would group."""
    from digest.clean import clean_text
    from digest.lang import detect_language

    out = []
    for a in articles:
        lang = a.lang or detect_language(a.text)
        out.append(replace(a, text=clean_text(a.text, lang), lang=lang))
    return out
