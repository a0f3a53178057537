"""Grouping on a stream: one event per story (time, scores, specific names), singletons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.grouping import StoryGrouper, cluster_articles
from digest.models import Article
from tests.helpers import bergen_fire_reports


def _art(aid: str, title: str, text: str, day: datetime) -> Article:
    return Article(id=aid, title=title, text=text, published=day, lang="en")


SAT = datetime(2017, 7, 8, 18, tzinfo=UTC)

PREVIEW = _art(
    "persib-preview",
    "Persib host Persela at Si Jalak Harupat looking for a first home win",
    "Persib Bandung host Persela Lamongan at Si Jalak Harupat stadium on Saturday evening. "
    "Coach Djadjang Nurdjaman said striker Carlton Cole is fit after a knee problem and will "
    "lead the attack with Atep. Persela coach Aji Santoso expects a hard game in Bandung. "
    "Persib have not won at home since May and sit tenth in the Liga 1 table.",
    SAT - timedelta(days=1),
)
REPORT = _art(
    "persib-persela",
    "Persib beat Persela 2-1 at Si Jalak Harupat",
    "Persib Bandung beat Persela Lamongan 2-1 at Si Jalak Harupat on Saturday, their first "
    "home win since May. Carlton Cole headed the opener after 20 minutes and Atep scored the "
    "second before Persela pulled one back through Ivan Carlos. Coach Djadjang Nurdjaman "
    "praised the crowd; Persela coach Aji Santoso said his side deserved a draw.",
    SAT,
)
NEXT_WEEK = _art(
    "persib-madura",
    "Persib held 0-0 by Madura United in Bandung",
    "Persib Bandung were held to a goalless draw by Madura United at Si Jalak Harupat on "
    "Saturday. Carlton Cole missed two chances in the first half and Atep hit the post. "
    "Coach Djadjang Nurdjaman said the team lacked sharpness; Madura United coach Gomes de "
    "Oliveira was pleased with a point in Bandung. Persib stay in the middle of the Liga 1 table.",
    SAT + timedelta(days=7),
)


def partition(ids: list[str]) -> set[frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for i, sid in enumerate(ids):
        groups.setdefault(sid, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def test_two_match_reports_of_one_club_a_week_apart_are_two_stories():
    assert len(set(cluster_articles([REPORT, NEXT_WEEK]))) == 2
    g = StoryGrouper()  # as the pipeline: one batch a day
    first = g.add_many([REPORT])[0].story_id
    assert g.add_many([NEXT_WEEK])[0].story_id != first


def test_different_scores_keep_two_reports_apart_even_without_dates():
    undated = [Article(**{**vars(a), "published": None}) for a in (REPORT, NEXT_WEEK)]
    assert len(set(cluster_articles(undated))) == 2


def test_a_preview_and_the_report_of_one_match_are_one_story():
    ids = cluster_articles([PREVIEW, REPORT, NEXT_WEEK])
    assert partition(ids) == {frozenset({0, 1}), frozenset({2})}
    g = StoryGrouper()
    first = g.add_many([PREVIEW])[0].story_id
    assert g.add_many([REPORT])[0].story_id == first


def _fire_story_then(later: Article) -> tuple[list[str], list[str]]:
    x1, x2, x3 = bergen_fire_reports()
    one_batch = cluster_articles([x1, x2, x3, later])
    g = StoryGrouper()
    daily = [r.story_id for r in g.add_many([x1, x2, x3])]
    daily += [r.story_id for r in g.add_many([later])]
    return one_batch, daily


def test_twenty_days_later_a_new_story_unless_the_same_specific_event():
    last = bergen_fire_reports()[-1].published
    another_fire = _art(
        "bergen-fire-2",
        "Fire in Bergen: boathouse burns near the harbour",
        "A fire destroyed a boathouse near the harbour in Bergen on Sunday night. Fire chief "
        "Lars Eide said twenty firefighters fought the flames for two hours. Nobody was hurt. "
        "Police do not suspect arson. Smoke was seen across the city until morning.",
        last + timedelta(days=20),
    )
    for ids in _fire_story_then(another_fire):
        assert len(set(ids[:3])) == 1 and ids[3] != ids[0]
    follow_up = _art(
        "bergen-fire-insurers",
        "Hansa Timber warehouse fire: insurers pay 80 million kroner, guard cleared",
        "Insurers will pay Hansa Timber 80 million kroner for the warehouse destroyed by fire in "
        "Bergen harbour, the company said. Inspector Kari Vik said the night guard who reported "
        "a gas smell two hours before the flames has been cleared. Fire chief Lars Eide said "
        "the forty firefighters who fought the fire for six hours saved the Bryggen quarter.",
        last + timedelta(days=20),
    )
    one_batch, _ = _fire_story_then(follow_up)
    assert len(set(one_batch)) == 1
