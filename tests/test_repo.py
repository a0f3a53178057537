"""storage.repo on a real SQLite file and a real PostgreSQL database: stories going quiet,
fetch validators, summaries stored and exported (format S). More in test_storage.py."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from digest.formats import SummaryItem, parse_story
from digest.models import Article
from digest.prepare import content_hash
from storage import repo
from storage.engine import session
from storage.models import FetchState, StoryRow

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _article(n: int, when: datetime) -> Article:
    text = f"Laporan nomor {n} tentang banjir di kota yang berbeda setiap hari " * 4
    return Article(
        id=f"a-{n}",
        title=f"Judul {n}",
        text=text,
        published=when,
        lang="id",
        content_hash=content_hash(text),
    )


def test_quiet_stories_close_and_recent_ones_stay_open(db_url):
    with session(db_url) as s:
        repo.store_articles(s, [_article(1, T0), _article(2, T0 + timedelta(days=5))])
        repo.save_placements(s, [repo.Placement("a-1", "old"), repo.Placement("a-2", "recent")])
        closed = repo.close_quiet_stories(s, before=T0 + timedelta(days=3))
        assert closed == 1
        state = {r.uid: r.closed for r in s.exec(select(StoryRow)).all()}
        assert state == {"old": True, "recent": False}
        assert repo.close_quiet_stories(s, before=T0 + timedelta(days=3)) == 0  # closed once
        # A new article placed in a closed story opens it again.
        repo.store_articles(s, [_article(3, T0 + timedelta(days=6))])
        repo.save_placements(s, [repo.Placement("a-3", "old")])
        assert not s.exec(select(StoryRow).where(StoryRow.uid == "old")).one().closed


def test_fetch_validators_round_trip_in_batches(db_url):
    urls = [f"https://news.example/{i}" for i in range(repo.IN_CHUNK + 3)]
    with session(db_url) as s:
        assert repo.fetch_validators(s, urls) == {}
        repo.save_fetch_states(s, {u: (f'"e{i}"', None, 200) for i, u in enumerate(urls)})
        found = repo.fetch_validators(s, [*urls, "https://news.example/never"])
        assert len(found) == len(urls) and found[urls[-1]] == (f'"e{len(urls) - 1}"', None)
        # Saving again updates in place: one row per URL.
        repo.save_fetch_states(s, {urls[0]: (None, "Tue, 05 Mar 2024 10:00:00 GMT", 200)})
        assert repo.fetch_validators(s, urls[:1]) == {
            urls[0]: (None, "Tue, 05 Mar 2024 10:00:00 GMT")
        }
        assert len(s.exec(select(FetchState)).all()) == len(urls)


def test_summary_is_stored_and_exported_as_format_s(db_url):
    with session(db_url) as s:
        repo.store_articles(s, [_article(1, T0), _article(2, T0)])
        repo.save_placements(s, [repo.Placement("a-1", "s-1"), repo.Placement("a-2", "s-1")])
        story = s.exec(select(StoryRow).where(StoryRow.uid == "s-1")).one()
        items = [SummaryItem("Banjir “besar” melanda.", "a-1", ["a-2"])]
        repo.save_story_summary(s, story, "Banjir melanda kota", items)
        (row,) = list(repo.export_stories(s))
        parsed = parse_story(row)
        assert parsed.headline == "Banjir melanda kota"
        assert parsed.articles == ["a-1", "a-2"] and parsed.summary == items
        assert parsed.first_seen is not None and parsed.first_seen.tzinfo is not None
