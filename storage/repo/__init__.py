"""The queries the flows need: idempotent upserts, open stories, digests, exports.

Plain functions over a SQLModel ``Session``; no Prefect here. The code lives in the modules
of this package, one per subject; ``from storage import repo; repo.X`` reaches all of it.
"""

from storage.repo._common import (
    IN_CHUNK,
    _chunks,
    article_time,
    row_to_article,
)
from storage.repo.articles import (
    StoreCounts,
    count_articles,
    store_articles,
    unassigned_articles,
)
from storage.repo.digests import (
    last_digest,
    record_digest,
    shown_story_ids,
)
from storage.repo.export import (
    export_articles,
    export_stories,
)
from storage.repo.sources import (
    FeedSource,
    all_sources,
    feed_sources,
    fetch_validators,
    get_fetch_state,
    known_urls,
    save_fetch_state,
    save_fetch_states,
    source_tags,
    tags_of_sources,
    upsert_source,
)
from storage.repo.stories import (
    Placement,
    close_quiet_stories,
    move_articles,
    open_stories,
    placement_ranks,
    save_placements,
    save_story_headline,
    save_story_summary,
    stories_articles,
    stories_to_digest,
    story_articles,
    story_outlet_counts,
)

__all__ = [
    "IN_CHUNK",
    "FeedSource",
    "Placement",
    "StoreCounts",
    "_chunks",
    "all_sources",
    "article_time",
    "close_quiet_stories",
    "count_articles",
    "export_articles",
    "export_stories",
    "feed_sources",
    "fetch_validators",
    "get_fetch_state",
    "known_urls",
    "last_digest",
    "move_articles",
    "open_stories",
    "placement_ranks",
    "record_digest",
    "row_to_article",
    "save_fetch_state",
    "save_fetch_states",
    "save_placements",
    "save_story_headline",
    "save_story_summary",
    "shown_story_ids",
    "source_tags",
    "store_articles",
    "stories_articles",
    "stories_to_digest",
    "story_articles",
    "story_outlet_counts",
    "tags_of_sources",
    "unassigned_articles",
    "upsert_source",
]
