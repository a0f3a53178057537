"""The order of a digest: which stories are shown in full, and in what order.

Every story new or updated since the last digest is in it; the ``NEWSDIGEST_DIGEST_MAX_STORIES``
best are shown in full (headline, summary, sources), the others as one line each (headline,
outlets, link). The score of a story (higher first) is

    score = OUTLET_WEIGHT * distinct outlets
          + ARTICLE_WEIGHT * log2(1 + articles)
          + RECENCY_WEIGHT * 0.5 ** (hours since its latest article / RECENCY_HALF_LIFE_HOURS)
          + GROWTH_WEIGHT * log2(1 + articles added since the previous digest showed it)

so a story many outlets tell comes first (one more outlet outweighs any recency), then a
story with many reports, then the most recent and the fastest growing. Ties go to the most
recently updated story, then to the story id (a stable order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

OUTLET_WEIGHT = 1.0
ARTICLE_WEIGHT = 0.5
RECENCY_WEIGHT = 0.9
RECENCY_HALF_LIFE_HOURS = 24.0
GROWTH_WEIGHT = 0.5


@dataclass(frozen=True)
class RankInput:
    """What the score of one story is made of."""

    outlets: int
    articles: int
    latest: datetime  # time of its most recent article
    new_articles: int = 0  # articles added since a previous digest showed it (0 if never)


def story_score(item: RankInput, now: datetime) -> float:
    hours = max(0.0, (now - item.latest).total_seconds() / 3600)
    return (
        OUTLET_WEIGHT * item.outlets
        + ARTICLE_WEIGHT * math.log2(1 + item.articles)
        + RECENCY_WEIGHT * 0.5 ** (hours / RECENCY_HALF_LIFE_HOURS)
        + GROWTH_WEIGHT * math.log2(1 + item.new_articles)
    )


def rank(
    items: Sequence[RankInput], now: datetime, ids: Sequence[str] | None = None
) -> list[tuple[int, float]]:
    """(position in ``items``, score), best first."""
    scored = [(i, story_score(it, now)) for i, it in enumerate(items)]
    keys = ids or [str(i) for i in range(len(items))]
    scored.sort(key=lambda p: (-round(p[1], 9), -items[p[0]].latest.timestamp(), keys[p[0]]))
    return scored
