"""Stage: StoryGrouper (story bookkeeping): seeds, cross-language joins, similar-but-different
events, persistence, moves, bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest.grouping import (
    DEFAULT_PARAMS,
    Assignment,
    StoryGrouper,
    cluster_articles,
    default_story_id,
)
from digest.models import Article
from tests.helpers import bergen_fire_reports

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
T0 = datetime(2023, 9, 8, 9, 0, tzinfo=UTC)


def seeds() -> list[Article]:
    out = []
    for i, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out.append(
            Article(
                id=path.stem,
                title=lines[0],
                text="\n".join(lines[1:]),
                published=T0 + timedelta(hours=i),
            )
        )
    return out


HARRIS_EN = Article(
    id="en-harris",
    title='Harris warns North Korea arms deal with Russia would be a "big mistake"',
    text=(
        "US Vice President Kamala Harris said on Thursday that North Korea would be making a "
        '"big mistake" if it supplied weapons to Russia for its war in Ukraine.\n'
        "Harris, speaking in Jakarta where she is attending the ASEAN summit, told CBS News "
        "that such a deal would further isolate Pyongyang.\n"
        "North Korean leader Kim Jong Un is expected to travel to Russia this month to meet "
        "President Vladimir Putin and discuss arms supplies to Moscow, US officials said.\n"
        "White House national security adviser Jake Sullivan warned that North Korea would "
        '"pay a price" if it provided weapons to Russia.'
    ),
    published=T0 + timedelta(hours=6),
)

XI_EN = Article(  # another event naming some of the same people and places
    id="en-xi",
    title="Putin hosts Chinese leader Xi Jinping in Moscow for talks",
    text=(
        "Russian President Vladimir Putin welcomed Chinese President Xi Jinping to the Kremlin "
        "on Monday for two days of talks on trade and energy.\n"
        "The United States said the visit showed China was siding with Russia over the war in "
        "Ukraine. Secretary of State Antony Blinken criticised Beijing.\n"
        "Xi and Putin signed agreements on gas pipelines through Mongolia. Kim Jong Un of North "
        "Korea was not invited to the Jakarta meeting."
    ),
    published=T0 + timedelta(hours=7),
)


def quake(aid: str, title: str, text: str, day: int) -> Article:
    return Article(
        id=aid,
        title=title,
        text=text,
        published=datetime(2024, 3, day, 12, tzinfo=UTC),
        lang="en",
    )


QUAKES = [
    quake(
        "chile-1",
        "Magnitude 7.1 earthquake strikes northern Chile, killing three",
        "A magnitude 7.1 earthquake struck near the Chilean city of Antofagasta on Tuesday, "
        "killing three people and damaging roads, Chile's emergency office Senapred said. "
        "President Gabriel Boric said rescue teams were searching collapsed houses in Taltal.",
        5,
    ),
    quake(
        "japan-1",
        "Magnitude 6.4 earthquake shakes Hokkaido in northern Japan",
        "A magnitude 6.4 earthquake hit the island of Hokkaido on Wednesday, injuring 12 people "
        "and cutting power to 30,000 homes, the Japan Meteorological Agency said. Prime "
        "Minister Fumio Kishida said no tsunami was expected around Kushiro.",
        6,
    ),
    quake(
        "chile-2",
        "Chile earthquake: three dead after 7.1 quake near Antofagasta",
        "Three people died after a 7.1-magnitude earthquake shook Antofagasta in northern Chile "
        "on Tuesday. Senapred reported landslides on roads near Taltal, and President Gabriel "
        "Boric flew to the region to meet rescue teams.",
        5,
    ),
    quake(
        "japan-2",
        "Hokkaido earthquake injures 12, cuts power to 30,000 homes",
        "The magnitude 6.4 earthquake that struck Hokkaido on Wednesday injured 12 people, the "
        "Japan Meteorological Agency said. Power was cut to 30,000 homes around Kushiro; Prime "
        "Minister Fumio Kishida said there was no tsunami threat.",
        6,
    ),
]


def partition(ids: list[str]) -> set[frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for i, sid in enumerate(ids):
        groups.setdefault(sid, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def test_seeds_are_one_story():
    res = StoryGrouper().add_many(seeds())
    assert len({r.story_id for r in res}) == 1
    assert res[0].new_story and not any(r.new_story for r in res[1:])
    assert res[0].story_id == default_story_id(seeds()[0])
    assert all(r.score > 0 for r in res[1:])


def test_seeds_without_dates_or_language_are_one_story():
    arts = seeds()
    for a in arts:
        a.published = None
        a.lang = None
    assert len(set(cluster_articles(arts[::-1]))) == 1


def test_english_report_joins_the_indonesian_seed_story():
    res = StoryGrouper().add_many([*seeds(), HARRIS_EN, XI_EN])
    seed_story = res[0].story_id
    assert res[5].story_id == seed_story  # same event, other language
    assert res[6].story_id != seed_story and res[6].new_story  # other event, same names


def test_english_first_then_indonesian_still_one_story():
    ids = cluster_articles([HARRIS_EN, *seeds()])
    assert len(set(ids)) == 1


def test_different_events_with_shared_words_stay_apart():
    ids = cluster_articles(QUAKES)
    assert partition(ids) == {frozenset({0, 2}), frozenset({1, 3})}


def test_restore_then_add_extends_the_right_story_and_keeps_ids():
    arts = seeds()
    first = StoryGrouper().add_many(arts[:3] + QUAKES[:2])
    seed_story, chile_story = first[0].story_id, first[3].story_id
    assert seed_story != chile_story

    # a later run: rebuild the open stories from storage, then add new articles
    g = StoryGrouper()
    g.restore(seed_story, arts[:3])
    g.restore(chile_story, QUAKES[:1])
    g.restore(first[4].story_id, QUAKES[1:2])
    assert sorted(g.open_story_ids) == sorted({r.story_id for r in first})
    later = g.add_many([arts[3], QUAKES[2], arts[4]])
    assert [r.story_id for r in later] == [seed_story, chile_story, seed_story]
    assert not any(r.new_story for r in later)
    assert isinstance(later[0], Assignment)


def test_close_quiet_closes_only_stories_past_the_window():
    g = StoryGrouper()
    a = g.add_many(seeds())[0].story_id
    b = g.add(QUAKES[0]).story_id
    closed = g.close_quiet(datetime(2024, 3, 6, tzinfo=UTC))
    assert closed == [a]
    assert g.open_story_ids == [b]
    # a closed story is not joined again: a new seed-like article opens a new story
    again = g.add(Article(id="late", title=seeds()[1].title, text=seeds()[1].text))
    assert again.new_story and again.story_id != a


def test_syndicated_copy_is_marked_near_duplicate():
    arts = seeds()
    copy = Article(
        id="copy-of-000",
        title="Kamala Harris: Korut Akan Buat Kesalahan Besar",
        text="BACA JUGA: berita lain hari ini\n" + arts[0].text + "\nIKUTI KAMI DI MEDIA SOSIAL",
        published=arts[0].published + timedelta(hours=2),
    )
    res = StoryGrouper().add_many([*arts, copy])
    assert res[-1].near_duplicate_of == arts[0].id
    assert res[-1].story_id == res[0].story_id
    assert all(r.near_duplicate_of is None for r in res[:-1])


def test_cluster_articles_matches_add_many():
    arts = [*seeds(), HARRIS_EN, XI_EN, *QUAKES]
    stateless = cluster_articles(arts)
    stateful = [r.story_id for r in StoryGrouper().add_many(arts)]
    assert stateless == stateful
    assert len(set(stateless)) == 4


def test_partition_does_not_depend_on_the_order_within_a_batch():
    arts = [*seeds(), HARRIS_EN, XI_EN, *QUAKES]
    expected = partition([r.story_id for r in StoryGrouper().add_many(arts)])
    for order in (arts[::-1], arts[3:] + arts[:3], arts[1::2] + arts[::2]):
        ids = [r.story_id for r in StoryGrouper().add_many(order)]
        by_article = dict(zip([a.id for a in order], ids, strict=True))
        got = partition([by_article[a.id] for a in arts])
        assert got == expected


def test_a_later_article_regroups_a_recent_one_and_ids_stay():
    x1, x2, x3 = bergen_fire_reports()
    g = StoryGrouper()
    s1 = g.add_many([x1])[0].story_id
    s2 = g.add_many([x2])[0].story_id
    assert s1 != s2  # alone, the second report shares too little with the first
    assert g.add_many([x3])[0].story_id == s1
    assert g.moves == [(x2.id, s2, s1)]  # decided again with the new evidence
    assert g.merged == {s2: s1} and g.open_story_ids == [s1]


def test_without_the_recluster_window_earlier_decisions_stay():
    x1, x2, x3 = bergen_fire_reports()
    g = StoryGrouper(replace(DEFAULT_PARAMS, recluster_window=0))
    ids = [g.add_many([x])[0].story_id for x in (x1, x2, x3)]
    assert ids[0] != ids[1] and g.moves == []


def test_a_move_by_a_later_chunk_of_the_same_batch_is_reported():
    # chunks of one article: the second report opens a story, the third (a later chunk of
    # the same add_many call) moves it into the first one; the assignment says so
    x1, x2, x3 = bergen_fire_reports()
    res = StoryGrouper(replace(DEFAULT_PARAMS, chunk_size=1)).add_many([x1, x2, x3])
    assert [r.story_id for r in res] == [res[0].story_id] * 3
    assert [r.new_story for r in res] == [True, False, False]


def test_at_most_max_open_stories_stay_open_the_quietest_close():
    g = StoryGrouper(replace(DEFAULT_PARAMS, max_open_stories=2, quiet_days=1e6))
    arts = (QUAKES[0], seeds()[0], bergen_fire_reports()[0])
    ids = [g.add_many([a])[0].story_id for a in arts]
    assert len(set(ids)) == 3
    assert g.open_story_ids == ids[1:]


def test_without_the_lone_article_pass_only_the_cross_language_join_links_languages():
    # attach pass off: the English report shares too few words to link by similarity; the
    # shared names join it to the Indonesian story
    p = replace(DEFAULT_PARAMS, attach_threshold=None)
    res = StoryGrouper(p).add_many([*seeds(), HARRIS_EN, XI_EN])
    assert res[5].story_id == res[0].story_id
    assert res[6].story_id != res[0].story_id
