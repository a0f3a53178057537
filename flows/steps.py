"""The pipeline's steps as plain functions (no Prefect): the flows wrap these in tasks.

Each step takes a database URL or session and plain data, so it can be tested directly.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from digest.clean import drop_repeated_lines
from digest.files import atomic_write_text
from digest.formats import SummaryItem, load_summary
from digest.grouping import DEFAULT_PARAMS as GROUPING_PARAMS
from digest.grouping import StoryGrouper
from digest.models import Article, Doc
from digest.prepare import ArticleRejected, prepare_article
from digest.render import (
    DigestView,
    SentenceView,
    SourceRef,
    StoryView,
    render_html,
    render_json,
    render_markdown,
    render_text,
)
from digest.summarize import choose_headline, summarize
from digest.validate import MAX_TITLE_CHARS, RecordRejected, cap_chars, validate_article
from flows.sources.base import ItemError, LoadResult
from storage import repo
from storage.engine import as_utc
from storage.models import DigestRow, StoryRow, utcnow

log = logging.getLogger("newsdigest")


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
    for raw in loaded.articles:
        label = _label(raw)
        try:
            raw = validate_article(raw)
            if default_outlet and not raw.source:
                raw = replace(raw, source=default_outlet)
            art = prepare_article(raw)
        except (ArticleRejected, RecordRejected) as exc:
            out.errors.append(ItemError(label, str(exc)))
            continue
        except Exception as exc:  # one odd article costs itself, never its source or the run
            log.debug("unexpected error preparing %s", label, exc_info=True)
            out.errors.append(ItemError(label, f"unexpected error: {type(exc).__name__}: {exc}"))
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


def store_loaded(
    session: Session, source_key: str, kind: str, prepared: LoadResult, name: str | None = None
) -> IngestReport:
    """Store one source's prepared articles; return its counts."""
    source_id = repo.upsert_source(session, source_key, kind, name)
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


@dataclass
class GroupReport:
    articles: int = 0
    new_stories: int = 0
    extended_stories: int = 0
    near_duplicates: int = 0
    moved: int = 0  # earlier articles the new evidence put in another story
    closed: int = 0


def group_new_articles(session: Session, quiet_days: float) -> GroupReport:
    """Put every article not yet in a story into an open story or a new one."""
    rows = repo.unassigned_articles(session)
    report = GroupReport(articles=len(rows))
    if rows:
        window = timedelta(days=quiet_days)
        earliest = min(repo.article_time(r) for r in rows)
        grouper = StoryGrouper(replace(GROUPING_PARAMS, quiet_days=quiet_days))
        try:
            since = earliest - window
        except OverflowError:  # defensive: article_time keeps dates in range
            since = datetime.min.replace(tzinfo=earliest.tzinfo)
        stories = repo.open_stories(session, since=since)
        ranks = repo.placement_ranks(session, [a.id for arts in stories.values() for a in arts])
        for uid, articles in stories.items():
            grouper.restore(uid, articles, [ranks.get(a.id, 0) for a in articles])
        assignments = grouper.add_many([repo.row_to_article(r) for r in rows])
        placements = [
            repo.Placement(r.uid, a.story_id, a.score, a.near_duplicate_of)
            for r, a in zip(rows, assignments, strict=True)
        ]
        saved = repo.save_placements(session, placements)
        report.moved = repo.move_articles(session, grouper.moves)
        report.new_stories = saved["new_stories"]
        report.extended_stories = saved["extended_stories"]
        report.near_duplicates = sum(1 for p in placements if p.near_duplicate_of)
    report.closed = repo.close_quiet_stories(session, before=utcnow() - timedelta(days=quiet_days))
    return report


# --- summaries and the digest ------------------------------------------------------------


def summarize_story(session: Session, story: StoryRow, max_words: int, max_sentences: int) -> None:
    """(Re)write a story's headline and summary when it changed since the last summary."""
    if story.summarized_at and as_utc(story.summarized_at) >= as_utc(story.last_updated):
        return
    rows = repo.story_articles(session, story)
    # Near-copies would only vote twice for the same sentences.
    originals = [r for r in rows if not r.near_duplicate_of] or rows
    docs = [
        Doc(
            title=r.title,
            text=r.text,
            published=as_utc(r.published),
            url=r.url,
            lang=r.lang,
            source=r.outlet,
        )
        for r in originals
    ]
    langs = Counter(r.lang for r in originals if r.lang)
    lang = langs.most_common(1)[0][0] if langs else None
    sentences = summarize(docs, lang, max_words=max_words, max_sentences=max_sentences)
    summary = [
        SummaryItem(
            text=s.text,
            article=originals[s.doc].uid,
            also=[originals[i].uid for i in s.also if i != s.doc],
        )
        for s in sentences
    ]
    # A title made from the lede (plain-text articles without one) is a weak headline: prefer
    # the outlets' own titles when the story has any.
    titled = [d for d in docs if not _title_is_lede(d.title, d.text)] or docs
    # Scripts without spaces between words (Thai, Chinese, Japanese) can make a whole
    # paragraph one "sentence": a headline is never longer than a title may be.
    headline = cap_chars(" ".join(choose_headline(titled, lang).split()), MAX_TITLE_CHARS)
    repo.save_story_summary(session, story, headline, summary)


def _title_is_lede(title: str, text: str) -> bool:
    stem = title.rstrip("…").rstrip()
    return bool(stem) and text.startswith(stem)


def story_view(session: Session, story: StoryRow, previous_at: datetime | None) -> StoryView:
    rows = repo.story_articles(session, story)
    position = {r.uid: i + 1 for i, r in enumerate(rows)}
    sources = [
        SourceRef(
            article_id=r.uid,
            outlet=r.outlet or "Unknown outlet",
            title=r.title,
            url=r.url,
            published=as_utc(r.published),
            near_duplicate=bool(r.near_duplicate_of),
        )
        for r in rows
    ]
    sentences = []
    for item in load_summary(story.summary_json):
        refs = [position[i] for i in (item.article, *item.also) if i in position]
        sentences.append(SentenceView(text=item.text, sources=refs, article_id=item.article))
    first_seen = as_utc(story.first_seen)
    return StoryView(
        id=story.uid,
        headline=story.headline,
        sentences=sentences,
        sources=sources,
        first_seen=first_seen,
        last_updated=as_utc(story.last_updated),
        is_new=previous_at is None or first_seen > previous_at,
    )


def build_digest(
    session: Session,
    *,
    since: timedelta | None,
    max_words: int,
    max_sentences: int,
    max_stories: int,
    now: datetime | None = None,
) -> tuple[DigestView, list[StoryRow]]:
    """The stories new or updated since the previous digest (or within ``since``), summarized."""
    now = now or utcnow()
    previous = repo.last_digest(session)
    previous_at = as_utc(previous.created_at) if previous else None
    window_start = now - since if since else None
    stories = repo.stories_to_digest(session, since=window_start)
    for story in stories:
        summarize_story(session, story, max_words, max_sentences)
    # Most-reported first, then most recent: a story many outlets tell matters more.
    views = [story_view(session, s, previous_at) for s in stories]
    order = sorted(
        range(len(views)),
        key=lambda i: (
            -len({src.outlet for src in views[i].sources}),
            -views[i].last_updated.timestamp(),
        ),
    )[:max_stories]
    view = DigestView(
        generated_at=now,
        stories=[views[i] for i in order],
        window_start=window_start,
        window_end=now,
        previous_at=previous_at,
    )
    return view, [stories[i] for i in order]


def write_digest(view: DigestView, out_dir: Path) -> Path:
    """Write digest-<time>.md/.html/.txt/.json (and latest.md) into ``out_dir``; return the .md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{view.generated_at:%Y%m%d-%H%M%S}"
    n = 1
    while (out_dir / f"{stem}.md").exists():
        n += 1
        stem = f"digest-{view.generated_at:%Y%m%d-%H%M%S}-{n}"
    markdown = render_markdown(view)
    outputs = {
        ".md": markdown,
        ".html": render_html(view),
        ".txt": render_text(view),
        ".json": render_json(view),
    }
    for suffix, content in outputs.items():
        atomic_write_text(out_dir / f"{stem}{suffix}", content)  # no half-written digest
    atomic_write_text(out_dir / "latest.md", markdown)
    return out_dir / f"{stem}.md"


def record_digest(
    session: Session, view: DigestView, stories: Sequence[StoryRow], path: Path | None
) -> DigestRow:
    return repo.record_digest(
        session,
        stories,
        view.window_start,
        view.window_end or view.generated_at,
        str(path) if path else None,
    )


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
