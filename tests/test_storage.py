"""Storage on a real SQLite file and a real PostgreSQL database: idempotent, exact counts."""

from datetime import UTC, datetime, timedelta

from digest.models import Article
from digest.prepare import content_hash
from storage import repo
from storage.engine import open_db, safe_url, session
from storage.models import utcnow


def _article(n: int, *, url: str | None = None, text: str | None = None, origin=None) -> Article:
    text = text or f"Artikel nomor {n} dengan isi yang berbeda " * 5
    return Article(
        id=f"a-{n}",
        title=f"Judul {n}",
        text=text,
        url=url,
        source="Outlet",
        published=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        lang="id",
        origin=origin,
        content_hash=content_hash(text),
    )


def test_store_is_idempotent(db_url):
    arts = [_article(i, url=f"https://news.example/{i}") for i in range(3)] + [_article(9)]
    with session(db_url) as s:
        src = repo.upsert_source(s, "feed:x", "url", "X")
        first = repo.store_articles(s, arts, src)
        again = repo.store_articles(s, arts, src)
        assert (first.new, first.updated, first.duplicate) == (4, 0, 0)
        assert (again.new, again.updated, again.duplicate) == (0, 0, 4)
        assert repo.count_articles(s) == 4
        assert repo.upsert_source(s, "feed:x", "url", "X") == src


def test_same_text_other_url_is_a_duplicate_and_changed_text_an_update(db_url):
    a = _article(1, url="https://one.example/a")
    copy = _article(2, url="https://two.example/b", text=a.text)
    edited = _article(3, url="https://one.example/a", text="Teks yang sudah diperbarui " * 5)
    with session(db_url) as s:
        assert repo.store_articles(s, [a]).new == 1
        assert repo.store_articles(s, [copy]).duplicate == 1
        counts = repo.store_articles(s, [edited])
        assert (counts.new, counts.updated) == (0, 1)
        rows = list(repo.export_articles(s))
        assert len(rows) == 1 and rows[0]["text"].startswith("Teks yang sudah")


def test_edited_local_file_updates_its_article(db_url):
    with session(db_url) as s:
        repo.store_articles(s, [_article(1, origin="/data/a.txt")])
        counts = repo.store_articles(s, [_article(2, origin="/data/a.txt", text="Versi baru " * 9)])
        assert (counts.new, counts.updated) == (0, 1)
        assert repo.count_articles(s) == 1


def test_duplicates_inside_one_batch(db_url):
    a = _article(1)
    with session(db_url) as s:
        counts = repo.store_articles(s, [a, a, _article(2)])
        assert (counts.new, counts.duplicate) == (2, 1)


def test_stories_and_digest_bookkeeping(db_url):
    arts = [_article(i) for i in range(3)]
    with session(db_url) as s:
        repo.store_articles(s, arts)
        assert [r.uid for r in repo.unassigned_articles(s)] == ["a-0", "a-1", "a-2"]
        placed = repo.save_placements(
            s,
            [
                repo.Placement("a-0", "s-1"),
                repo.Placement("a-1", "s-1"),
                repo.Placement("a-2", "s-2", near_duplicate_of="a-0"),
            ],
        )
        assert placed == {"new_stories": 2, "extended_stories": 0}
        assert repo.unassigned_articles(s) == []
        open_ = repo.open_stories(s, since=datetime(2023, 1, 1, tzinfo=UTC))
        assert sorted(open_) == ["s-1", "s-2"] and len(open_["s-1"]) == 2
        assert repo.open_stories(s, since=datetime(2030, 1, 1, tzinfo=UTC)) == {}
        due = repo.stories_to_digest(s)
        assert len(due) == 2
        repo.record_digest(s, due, None, utcnow(), "x.md")
        assert repo.stories_to_digest(s) == []
        repo.store_articles(s, [_article(5)])
        assert repo.save_placements(s, [repo.Placement("a-5", "s-1")])["extended_stories"] == 1
        assert [st.uid for st in repo.stories_to_digest(s)] == ["s-1"]
        stories = {row["id"]: row for row in repo.export_stories(s)}
        assert stories["s-1"]["articles"] == ["a-0", "a-1", "a-5"]
        exported = {row["id"]: row for row in repo.export_articles(s)}
        assert exported["a-2"]["near_duplicate_of"] == "a-0"


def test_migrations_run_once_and_passwords_stay_hidden(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    open_db(url)
    open_db(url)
    assert "secret" not in safe_url("postgresql+psycopg://u:secret@h/db")


def test_first_use_from_many_threads_migrates_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'threads.db'}"

    def count(_):
        with session(url) as s:
            return repo.count_articles(s)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(count, range(8))) == [0] * 8


def test_moved_articles_change_story_and_an_emptied_story_leaves_the_digest(db_url):
    arts = [_article(i) for i in range(3)]
    with session(db_url) as s:
        repo.store_articles(s, arts)
        repo.save_placements(
            s,
            [
                repo.Placement("a-0", "s-1"),
                repo.Placement("a-1", "s-2"),
                repo.Placement("a-2", "s-2"),
            ],
        )
        ranks = repo.placement_ranks(s, ["a-0", "a-1", "a-2"])
        assert ranks["a-0"] < ranks["a-1"] < ranks["a-2"]
        moves = [("a-1", "s-2", "s-1"), ("a-2", "s-2", "s-3")]
        assert repo.move_articles(s, moves) == 2
        assert repo.move_articles(s, moves) == 0  # applying them again changes nothing
        stories = {row["id"]: row for row in repo.export_stories(s)}
        assert stories["s-1"]["articles"] == ["a-0", "a-1"]
        assert stories["s-3"]["articles"] == ["a-2"]
        assert "s-2" not in stories  # emptied
        assert sorted(st.uid for st in repo.stories_to_digest(s)) == ["s-1", "s-3"]
        open_ = repo.open_stories(s, since=datetime(2023, 1, 1, tzinfo=UTC))
        assert sorted(open_) == ["s-1", "s-3"]
