"""The fast paths of the ingest and the digest: worker processes, batched writes, ranking
before summarizing. Real processes, real SQLite and PostgreSQL."""

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digest.extract import extract_html
from digest.models import Article
from digest.settings import Settings
from flows import steps, workers
from flows.sources.base import LoadResult
from storage import repo
from storage.engine import as_utc, session
from storage.models import ArticleRow, StoryRow
from tests.test_storage import _article

PAGE = """<!DOCTYPE html><html lang="id"><head><title>Banjir di Jakarta</title></head><body>
<nav><a href="/">Beranda</a> <a href="/x">Nasional</a></nav><article><h1>Banjir di Jakarta</h1>
<p>Hujan deras sejak Senin malam membuat sejumlah wilayah di Jakarta Timur tergenang air
hingga setinggi satu meter, kata petugas Badan Penanggulangan Bencana Daerah pada Selasa.</p>
<p>Warga di bantaran Kali Ciliwung mengungsi ke masjid dan sekolah terdekat. Petugas
membagikan makanan dan selimut kepada lebih dari tiga ratus keluarga yang terdampak.</p>
<p>Gubernur meminta warga tetap waspada karena hujan diperkirakan masih turun hingga akhir
pekan, sementara pompa air dikerahkan ke titik-titik genangan yang paling parah.</p>
</article><footer>Hak cipta 2026</footer></body></html>"""


@pytest.fixture(scope="module")
def pool_settings():
    yield Settings(extract_processes=2)
    workers.shutdown()


def test_extraction_in_a_worker_process_gives_the_same_article(pool_settings):
    here = extract_html(PAGE, "https://news.example/banjir")
    there = workers.call(pool_settings, extract_html, PAGE, "https://news.example/banjir")
    assert there is not None and there == here
    assert "Kali Ciliwung" in there.text and there.title == "Banjir di Jakarta"


def test_a_dead_worker_is_one_error_and_the_pool_comes_back(pool_settings):
    with pytest.raises(workers.WorkerDied):
        workers.call(pool_settings, os._exit, 3)
    assert workers.call(pool_settings, abs, -4) == 4


ORPHAN_SCRIPT = """
import os, sys, time
from digest.settings import Settings
from flows import workers
settings = Settings(extract_processes=2)
workers.warm(settings)
pids = set()
for _ in range(200):  # the pool starts its processes as work arrives
    pids = {p.pid for p in workers._pool._processes.values()}
    if len(pids) == 2:
        break
    time.sleep(0.05)
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_leave_when_their_process_is_killed(tmp_path):
    """A killed run (SIGKILL, out of memory, a cancelled deployment) must not leave its
    extraction workers waiting on their queue forever."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10 * workers.PARENT_CHECK_SECONDS + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived their killed parent"


def test_preparing_in_worker_processes_matches_preparing_here(pool_settings, monkeypatch):
    raws = [
        Article(
            id="",
            title=f"Banjir {i}",
            text=f"Berita nomor {i}.\n\n" + PAGE_TEXT * (1 + i % 3),
            url=f"https://news.example/{i}",
            source="Outlet",
        )
        for i in range(30)
    ] + [Article(id="", title="kosong", text="terlalu pendek", url="https://news.example/x")]
    loaded = LoadResult(articles=raws)
    monkeypatch.setattr(steps, "get_settings", lambda: Settings(extract_processes=1))
    here = steps.prepare_articles(loaded)
    monkeypatch.setattr(steps, "get_settings", lambda: pool_settings)
    there = steps.prepare_articles(loaded)
    assert there.articles == here.articles and len(there.articles) == 30
    assert [str(e) for e in there.errors] == [str(e) for e in here.errors]
    assert len(there.errors) == 1 and "words left" in there.errors[0].reason


PAGE_TEXT = (
    "Hujan deras sejak Senin malam membuat sejumlah wilayah di Jakarta Timur tergenang air "
    "hingga setinggi satu meter, kata petugas pada Selasa. Warga mengungsi ke masjid.\n\n"
)


def test_a_new_batch_is_stored_with_every_column(db_url):
    arts = [_article(i, url=f"https://news.example/{i}") for i in range(1200)]  # > one chunk
    with session(db_url) as s:
        src = repo.upsert_source(s, "feed:x", "url", "X")
        counts = repo.store_articles(s, arts, src)
        assert (counts.new, counts.duplicate) == (1200, 0)
        assert sorted(counts.new_ids) == sorted(a.id for a in arts)
        row = s.exec(select(ArticleRow).where(ArticleRow.uid == "a-7")).one()
        assert (row.url, row.title, row.outlet, row.lang, row.source_id) == (
            "https://news.example/7",
            "Judul 7",
            "Outlet",
            "id",
            src,
        )
        assert row.ingested_at is not None and row.published is not None
        again = repo.store_articles(s, [*arts[:3], replace(arts[3], id="a-x", url="https://b/3")])
        assert (again.new, again.duplicate) == (0, 4)


def test_placements_create_stories_links_and_near_duplicate_marks(db_url):
    arts = [_article(i, url=f"https://news.example/{i}") for i in range(5)]
    with session(db_url) as s:
        repo.store_articles(s, arts)
        saved = repo.save_placements(
            s,
            [
                repo.Placement("a-0", "s-a", 1.0),
                repo.Placement("a-1", "s-a", 0.8),
                repo.Placement("a-2", "s-b", 1.0),
                repo.Placement("a-3", "s-b", 0.9, near_duplicate_of="a-2"),
            ],
        )
        assert saved == {"new_stories": 2, "extended_stories": 0}
        again = repo.save_placements(s, [repo.Placement("a-4", "s-a", 0.7)])
        assert again == {"new_stories": 0, "extended_stories": 1}
        stories = {row["id"]: row["articles"] for row in repo.export_stories(s)}
        assert sorted(stories["s-a"]) == ["a-0", "a-1", "a-4"]
        assert sorted(stories["s-b"]) == ["a-2", "a-3"]
        story_a = s.exec(select(StoryRow).where(StoryRow.uid == "s-a")).one()
        # the latest article's time: a-4 was published 4 hours after a-0
        assert as_utc(story_a.last_article_at) == datetime(2024, 1, 1, 4, tzinfo=UTC)
        marks = dict(s.exec(select(ArticleRow.uid, ArticleRow.near_duplicate_of)).all())
        assert marks == {"a-0": None, "a-1": None, "a-2": None, "a-3": "a-2", "a-4": None}


def test_only_the_stories_in_the_digest_are_summarized(sqlite_url):
    # three stories: told by 3, 2 and 1 outlets; the digest has room for two
    arts = []
    for story, outlets in (("x", 3), ("y", 2), ("z", 1)):
        for k in range(outlets):
            a = _article(len(arts), url=f"https://news.example/{story}{k}")
            arts.append(replace(a, source=f"Outlet {k}", text=a.text + story))
    arts = [replace(a, content_hash=f"h{i}") for i, a in enumerate(arts)]
    with session(sqlite_url) as s:
        repo.store_articles(s, arts)
        uids = iter([a.id for a in arts])
        placements = [
            repo.Placement(next(uids), f"s-{story}")
            for story, outlets in (("x", 3), ("y", 2), ("z", 1))
            for _ in range(outlets)
        ]
        repo.save_placements(s, placements)
        view, chosen = steps.build_digest(
            s, since=None, max_words=60, max_sentences=2, max_stories=2
        )
        # every story is in the digest (the third as one line), only the top two summarized
        assert [st.uid for st in chosen] == ["s-x", "s-y", "s-z"]
        assert [st.id for st in view.stories] == ["s-x", "s-y"]
        assert [st.id for st in view.brief] == ["s-z"]
        assert all(st.sentences for st in view.stories)
        assert view.brief[0].headline
        summarized = dict(s.exec(select(StoryRow.uid, StoryRow.summarized_at)).all())
        assert summarized["s-z"] is None and summarized["s-x"] and summarized["s-y"]
        assert repo.story_outlet_counts(s, [st.id for st in chosen[:2]]) == {
            chosen[0].id: 3,
            chosen[1].id: 2,
        }
        assert timedelta(0) <= datetime.now(UTC) - as_utc(chosen[0].summarized_at)
