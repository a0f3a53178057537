"""The whole pipeline through its plain steps (no Prefect): the seeds acceptance case."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import steps
from flows.sources.local import load_local
from storage import repo
from storage.engine import session
from tests.debris import DATELINE_FRAGMENT, debris_in
from tests.helpers import bergen_fire_reports, max_pairwise_cosine

MB = 1024 * 1024
# Two summary sentences above this cosine of stemmed content words say the same thing.
SAME_THING_COSINE = 0.5


def run_once(db_url: str, source: Path, out: Path):
    loaded = load_local(source, 5 * MB)
    prepared = steps.prepare_articles(loaded)
    with session(db_url) as s:
        report = steps.store_loaded(s, str(source), "local", prepared)
        groups = steps.group_new_articles(s, quiet_days=3)
        view, stories = steps.build_digest(
            s, since=None, max_words=150, max_sentences=6, max_stories=30
        )
        path = steps.write_digest(view, out)
        steps.record_digest(s, view, stories, path)
    return report, groups, view, path


@pytest.fixture
def seeds_copy(tmp_path, seeds_dir) -> Path:
    dest = tmp_path / "seeds"
    shutil.copytree(seeds_dir, dest)
    return dest


def test_seeds_make_one_clean_story(sqlite_url, seeds_copy, tmp_path):
    report, groups, view, path = run_once(sqlite_url, seeds_copy, tmp_path / "out")
    assert (report.new, report.failed) == (5, 0)
    assert groups.new_stories == 1
    assert len(view.stories) == 1
    story = view.stories[0]
    assert len(story.sources) == 5
    sentences = [s.text for s in story.sentences]
    assert sentences, "the story has a summary"
    assert sum(len(s.split()) for s in sentences) <= 150
    for s in sentences:
        assert debris_in(s) == [], s
        assert not DATELINE_FRAGMENT.match(s), s
    assert max_pairwise_cosine(sentences) < SAME_THING_COSINE
    assert sum("kesalahan besar" in s.lower() for s in sentences) <= 1
    # every sentence is verbatim in the article it is attributed to
    with session(sqlite_url) as s:
        texts = {row["id"]: row["text"] for row in repo.export_articles(s)}
        for row in repo.export_articles(s):
            assert debris_in(row["text"]) == [], row["id"]
        exported = list(repo.export_stories(s))
    assert len(exported) == 1 and len(exported[0]["articles"]) == 5
    for item in exported[0]["summary"]:
        assert item["text"] in texts[item["article"]]
    markdown = path.read_text(encoding="utf-8")
    assert debris_in(markdown) == []
    assert markdown.count("\n## ") == 1
    for outlet in ("Tempo", "Republika", "detikNews"):
        assert outlet in markdown
    for suffix in (".html", ".txt", ".json"):
        assert path.with_suffix(suffix).exists()
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["stories"]


def test_second_run_adds_nothing_and_says_so(sqlite_url, seeds_copy, tmp_path):
    run_once(sqlite_url, seeds_copy, tmp_path / "out")
    report, groups, view, path = run_once(sqlite_url, seeds_copy, tmp_path / "out")
    assert (report.new, report.duplicate) == (0, 5)
    assert groups.articles == 0
    assert view.stories == []
    assert "Nothing new" in path.read_text(encoding="utf-8")
    with session(sqlite_url) as s:
        assert repo.count_articles(s) == 5
        assert len(list(repo.export_stories(s))) == 1


def test_bad_files_are_counted_and_the_digest_still_made(sqlite_url, seeds_copy, tmp_path):
    (seeds_copy / "empty.txt").write_bytes(b"")
    (seeds_copy / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (seeds_copy / "latin1.txt").write_bytes("caf\xe9 ".encode("latin-1") * 50)
    with open(seeds_copy / "huge.txt", "wb") as fh:
        fh.truncate(50 * MB)
    (seeds_copy / "broken.json").write_text("{nope", encoding="utf-8")
    report, _, view, _ = run_once(sqlite_url, seeds_copy, tmp_path / "out")
    assert report.new == 5
    assert report.failed == 5
    assert len(report.errors) == 5
    assert len(view.stories) == 1 and len(view.stories[0].sources) == 5


def test_an_edited_seed_updates_and_the_story_is_in_the_next_digest(
    sqlite_url, seeds_copy, tmp_path
):
    run_once(sqlite_url, seeds_copy, tmp_path / "out")
    target = sorted(seeds_copy.glob("*.txt"))[1]
    target.write_text(
        target.read_text(encoding="utf-8") + "\nKorea Utara belum menanggapi peringatan itu.\n",
        encoding="utf-8",
    )
    report, *_ = run_once(sqlite_url, seeds_copy, tmp_path / "out")
    assert (report.new, report.updated, report.duplicate) == (0, 1, 4)


def test_a_later_run_regroups_an_earlier_article_in_the_database(db_url):
    with session(db_url) as s:
        for article in bergen_fire_reports():  # one run each
            repo.store_articles(s, [article])
            report = steps.group_new_articles(s, quiet_days=3650)
        assert report.moved == 1
        stories = {row["id"]: row["articles"] for row in repo.export_stories(s)}
        assert list(stories.values()) == [["bergen-1", "bergen-2", "bergen-3"]]
        assert len(repo.open_stories(s, since=datetime(2024, 1, 1, tzinfo=UTC))) == 1
