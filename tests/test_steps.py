"""flows.steps, the pipeline's plain steps, on a real SQLite file: headlines, and what the
digest calls new."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from digest.models import Article
from digest.prepare import content_hash
from digest.render import render_markdown
from flows import steps
from flows.sources.base import LoadResult
from flows.sources.local import load_local
from storage import repo
from storage.engine import session
from storage.models import StoryRow

QUAKE = (
    "Gempa bumi berkekuatan magnitudo 6,1 mengguncang Kabupaten Maluku Tengah pada Selasa "
    "pagi. Badan Meteorologi, Klimatologi, dan Geofisika menyatakan gempa tidak berpotensi "
    "tsunami. Warga di Ambon sempat panik dan keluar rumah, tetapi belum ada laporan kerusakan "
    "bangunan. Petugas terus memantau gempa susulan di wilayah tersebut."
)


def _store(s, articles) -> None:
    prepared = steps.prepare_articles(LoadResult(articles=articles))
    assert not prepared.errors, prepared.errors
    steps.store_loaded(s, "test", "local", prepared)


def test_story_is_new_once_then_updated(sqlite_url, seeds_dir):
    seeds = load_local(seeds_dir, 5 * 1024 * 1024).articles
    assert len(seeds) == 5
    kw = {"since": None, "max_words": 80, "max_sentences": 4, "max_stories": 10}
    with session(sqlite_url) as s:
        _store(s, seeds[:3])
        steps.group_new_articles(s, quiet_days=1e5)
        view, stories = steps.build_digest(s, **kw)
        assert [v.is_new for v in view.stories] == [True]
        steps.record_digest(s, view, stories, None)
        # Later: more reports of the same story, and a new story.
        _store(s, [*seeds[3:], Article(id="", title="Gempa guncang Maluku", text=QUAKE)])
        steps.group_new_articles(s, quiet_days=1e5)
        view, _ = steps.build_digest(s, **kw, now=datetime.now(UTC) + timedelta(seconds=1))
    by_size = sorted(view.stories, key=lambda v: len(v.sources))
    assert [len(v.sources) for v in by_size] == [1, 5]
    assert [v.is_new for v in by_size] == [True, False]
    markdown = render_markdown(view)
    assert markdown.count("*New story*") == 1 and markdown.count("*Updated story*") == 1


def test_headline_prefers_an_outlet_title_to_one_made_from_the_lede(sqlite_url):
    lede = (
        "Banjir bandang merendam ratusan rumah warga di Kabupaten Garut, Jawa Barat, "
        "pada Senin malam setelah hujan deras mengguyur selama enam jam."
    )
    body = (
        " Badan Penanggulangan Bencana Daerah mencatat tiga warga hilang dan ribuan orang "
        "mengungsi ke masjid dan sekolah terdekat. Petugas gabungan masih mencari korban di "
        "sepanjang Sungai Cimanuk."
    )
    texts = [lede + body, lede + body.replace("tiga warga", "empat warga")]
    real_title = "Catatan pekan ini dari redaksi kami"  # shares no word with the story
    articles = [
        # A plain-text article without a title: its title is the start of its lede.
        Article(
            id="lede",
            title=lede[:80].rsplit(" ", 1)[0] + "…",
            text=texts[0],
            lang="id",
            content_hash=content_hash(texts[0]),
            published=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        Article(
            id="titled",
            title=real_title,
            text=texts[1],
            lang="id",
            content_hash=content_hash(texts[1]),
            published=datetime(2024, 1, 2, tzinfo=UTC),
        ),
    ]
    with session(sqlite_url) as s:
        repo.store_articles(s, articles)
        repo.save_placements(s, [repo.Placement("lede", "s"), repo.Placement("titled", "s")])
        story = s.exec(select(StoryRow).where(StoryRow.uid == "s")).one()
        steps.summarize_story(s, story, max_words=60, max_sentences=3)
        assert story.headline == real_title
