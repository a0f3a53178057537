"""The digest side of the pipeline as plain functions (no Prefect): group the stored articles
into stories, summarize, rank, build the digest view, write and record it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from digest.archive import FEED_NAME, INDEX_NAME, write_archive
from digest.files import atomic_write_text
from digest.formats import SummaryItem, load_summary
from digest.grouping import DEFAULT_PARAMS as GROUPING_PARAMS
from digest.grouping import StoryGrouper
from digest.models import Doc
from digest.rank import RankInput, rank
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
from digest.settings import get_settings
from digest.summarize import choose_headline, summarize
from digest.validate import MAX_TITLE_CHARS, cap_chars
from flows import workers
from storage import repo
from storage.engine import as_utc
from storage.models import DigestRow, StoryRow, utcnow

log = logging.getLogger("newsdigest")


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
        # Big batches extract their features in worker processes (the grouper decides when).
        procs = workers.processes(get_settings())
        grouper = StoryGrouper(replace(GROUPING_PARAMS, quiet_days=quiet_days, workers=procs))
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


def summarize_story(
    session: Session,
    story: StoryRow,
    max_words: int,
    max_sentences: int,
    *,
    headline_only: bool = False,
    rows: Sequence | None = None,
    commit: bool = True,
) -> None:
    """(Re)write a story's headline and summary when it changed since the last summary.

    ``headline_only``: a story the digest shows as one line needs a headline, not a summary
    (summarizing thousands of one-line stories was most of a large run's digest time); its
    summary is written when it makes the top of a digest. ``rows``: the story's articles
    when the caller has them (:func:`repo.story_articles`); ``commit=False`` leaves a
    headline to the caller's commit (one for many stories)."""
    if story.summarized_at and as_utc(story.summarized_at) >= as_utc(story.last_updated):
        return
    if headline_only and story.headline:
        return
    if rows is None:
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
    if headline_only:
        repo.save_story_headline(session, story, _headline(docs, lang), commit=commit)
        return
    sentences = summarize(docs, lang, max_words=max_words, max_sentences=max_sentences)
    summary = [
        SummaryItem(
            text=s.text,
            article=originals[s.doc].uid,
            also=[originals[i].uid for i in s.also if i != s.doc],
        )
        for s in sentences
    ]
    repo.save_story_summary(session, story, _headline(docs, lang), summary)


def _headline(docs: list[Doc], lang: str | None) -> str:
    # A title made from the lede (plain-text articles without one) is a weak headline: prefer
    # the outlets' own titles when the story has any.
    titled = [d for d in docs if not _title_is_lede(d.title, d.text)] or docs
    # Scripts without spaces between words (Thai, Chinese, Japanese) can make a whole
    # paragraph one "sentence": a headline is never longer than a title may be.
    return cap_chars(" ".join(choose_headline(titled, lang).split()), MAX_TITLE_CHARS)


def _title_is_lede(title: str, text: str) -> bool:
    stem = title.rstrip("…").rstrip()
    return bool(stem) and text.startswith(stem)


def story_view(
    session: Session,
    story: StoryRow,
    previous_at: datetime | None,
    shown_before: bool = False,
    tags: dict[int, list[str]] | None = None,
    rows: Sequence | None = None,
) -> StoryView:
    """A story as the digest shows it. ``shown_before``: an earlier digest contained it (else
    it is new, whenever it began); articles and summary sentences added since the previous
    digest are counted and marked. ``rows``: its articles, when the caller has them."""
    if rows is None:
        rows = repo.story_articles(session, story)
    position = {r.uid: i + 1 for i, r in enumerate(rows)}
    fresh = {
        r.uid
        for r in rows
        if previous_at is None or (as_utc(r.ingested_at) or previous_at) > previous_at
    }
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
        sentences.append(
            SentenceView(
                text=item.text,
                sources=refs,
                article_id=item.article,
                is_new=shown_before and item.article in fresh,
            )
        )
    if shown_before and fresh and not any(x.is_new for x in sentences):
        sentences.extend(_news_sentences(rows, fresh, position, {x.text for x in sentences}))
    # The story's section: the tag most of its articles' sources carry.
    tag_votes: Counter[str] = Counter()
    for r in rows:
        for tag in (tags or {}).get(r.source_id, [])[:1]:
            tag_votes[tag] += 1
    langs = Counter(r.lang for r in rows if r.lang)
    return StoryView(
        id=story.uid,
        headline=story.headline,
        sentences=sentences,
        sources=sources,
        first_seen=as_utc(story.first_seen),
        last_updated=as_utc(story.last_updated),
        is_new=not shown_before,
        new_articles=len(fresh) if shown_before else len(rows),
        section=tag_votes.most_common(1)[0][0] if tag_votes else "",
        lang=langs.most_common(1)[0][0] if langs else None,
    )


# An updated story whose summary quotes none of its new articles: this many sentences of them
# (the first of each, newest first, that no earlier article of the story says) are added.
NEW_SENTENCES_MAX = 2


def _news_sentences(
    rows: Sequence, fresh: set[str], position: dict[str, int], shown: set[str]
) -> list[SentenceView]:
    """What the new articles of an updated story add: their first sentence that no earlier
    article says (verbatim, attributed, marked new)."""
    from digest.sentences import is_candidate, split_sentences

    older = [r.text for r in rows if r.uid not in fresh]
    out: list[SentenceView] = []
    for r in sorted((r for r in rows if r.uid in fresh), key=repo.article_time, reverse=True):
        for sentence in split_sentences(r.text, r.lang):
            if sentence in shown or not is_candidate(sentence, r.lang):
                continue
            if any(sentence in text for text in older):
                continue
            out.append(SentenceView(sentence, [position[r.uid]], r.uid, is_new=True))
            shown.add(sentence)
            break
        if len(out) >= NEW_SENTENCES_MAX:
            break
    return out


def build_digest(
    session: Session,
    *,
    since: timedelta | None,
    max_words: int,
    max_sentences: int,
    max_stories: int,
    now: datetime | None = None,
    by_language: bool = False,
) -> tuple[DigestView, list[StoryRow]]:
    """Every story new or updated since the previous digest (or within ``since``): the
    ``max_stories`` best (digest.rank) summarized in full, the others as one line each."""
    now = now or utcnow()
    previous = repo.last_digest(session)
    previous_at = as_utc(previous.created_at) if previous else None
    window_start = now - since if since else None
    stories = repo.stories_to_digest(session, since=window_start)
    shown = repo.shown_story_ids(session, [s.id for s in stories])
    members = repo.stories_articles(session, [s.id for s in stories])
    tags = repo.tags_of_sources(session, (r.source_id for rows in members.values() for r in rows))
    inputs = []
    for s in stories:
        rows = members[s.id]
        fresh = [r for r in rows if previous_at is None or as_utc(r.ingested_at) > previous_at]
        inputs.append(
            RankInput(
                outlets=len({r.outlet or "" for r in rows}),
                articles=len(rows),
                latest=max((repo.article_time(r) for r in rows), default=as_utc(s.last_updated)),
                new_articles=len(fresh) if s.id in shown else 0,
            )
        )
    ranked = rank(inputs, now, [s.uid for s in stories])
    views = []
    for n, (i, score) in enumerate(ranked):
        story = stories[i]
        rows = members[story.id]
        summarize_story(
            session,
            story,
            max_words,
            max_sentences,
            headline_only=n >= max_stories,
            rows=rows,
            commit=False,
        )
        view = story_view(session, story, previous_at, story.id in shown, tags, rows=rows)
        view.score = round(score, 4)
        views.append(view)
    session.commit()  # the headlines of the one-line stories, at once
    view = DigestView(
        generated_at=now,
        stories=views[:max_stories],
        brief=views[max_stories:],
        window_start=window_start,
        window_end=now,
        previous_at=previous_at,
        by_language=by_language,
    )
    return view, [stories[i] for i, _ in ranked]


def write_digest(
    view: DigestView,
    out_dir: Path,
    *,
    public_url: str | None = None,
    feed_max_entries: int = 30,
) -> Path:
    """Write digest-<time>.md/.html/.txt/.json (and latest.md) into ``out_dir``, then the
    archive's index.html and feed.xml; return the .md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{view.generated_at:%Y%m%d-%H%M%S}"
    n = 1
    while (out_dir / f"{stem}.md").exists():
        n += 1
        stem = f"digest-{view.generated_at:%Y%m%d-%H%M%S}-{n}"
    markdown = render_markdown(view)
    page = replace(view, archive_index=INDEX_NAME, archive_feed=FEED_NAME)
    outputs = {
        ".md": markdown,
        ".html": render_html(page),
        ".txt": render_text(view),
        ".json": render_json(view),
    }
    for suffix, content in outputs.items():
        atomic_write_text(out_dir / f"{stem}{suffix}", content)  # no half-written digest
    atomic_write_text(out_dir / "latest.md", markdown)
    write_archive(out_dir, view.title, public_url, feed_max_entries)
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
