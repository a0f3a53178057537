"""Story grouping: incremental, persistent, order-robust clustering of news articles.

Stages (one module each): ``params`` (every threshold and weight), ``vectorize`` (hashed
features, vectors, TF-IDF), ``edges`` (candidate edges, edge cap, near-copies), ``linkage``
(average linkage, union-find), ``crosslang`` (cross-language joins), ``pool`` (processes and
threads), ``grouper`` (StoryGrouper: the story bookkeeping).

The representation follows Miranda et al. (EMNLP 2018, "Multilingual Clustering of Streaming
News"): every article's fields (title terms, body terms, names: capitalized sequences and
places, figures) are weighted separately into one TF-IDF vector, and two articles' similarity
is its cosine lowered by conflicts that tell two events of the same kind apart (salient names
of one missing from the other, no year or figure in common). Features are hashed into a
fixed space (no vocabulary to grow) by the worker processes that extract them.

Articles are not placed one at a time. Each ``add_many`` batch (cut into chunks of
``chunk_size`` articles, so memory stays bounded and time linear) is grouped *together*:

1. candidate pairs come from a sparse product of the TF-IDF matrix with its transpose (an
   inverted index in matrix form): the chunk's articles against themselves and against the
   recent members of the open stories; pairs sharing no feature are never touched;
2. each candidate pair gets the combined similarity (the conflicts come from one more sparse
   product, of the salient names, years and figures); each new article keeps its
   ``max_edges`` strongest edges; cross-language pairs (an Indonesian and an English report)
   are joined afterwards on their shared names;
3. average-linkage agglomeration over that sparse graph merges while the average similarity
   between two clusters is at least ``link_threshold``. The articles placed most recently
   (``recluster_window``, the new ones included) are decided again, each its own node; each
   open story's older members are one locked node (two of them never merge). A cluster
   holding a locked node extends that story; a cluster of re-decided articles keeps the story
   most of them came from; any other cluster opens a new story named after its first
   article. Re-decided articles that changed story are listed in ``StoryGrouper.moves``.

The agglomeration does not depend on the order of the articles inside a chunk. Document
frequencies are counted over everything seen plus the chunk before any vector is built.
Syndicated copies (near-identical bodies, by shingle containment) are marked as
``near_duplicate_of`` the earlier article and always put in its story. Memory is bounded by
the open stories: a story keeps only its ``story_members`` most recent articles' vectors,
closes after ``quiet_days`` without a new article, and at most ``max_open_stories`` stay open.
"""

from digest.grouping.grouper import (
    Assignment,
    StoryGrouper,
    cluster_articles,
    default_story_id,
    default_story_id_of,
)
from digest.grouping.params import DEFAULT_PARAMS, GroupingParams

__all__ = [
    "DEFAULT_PARAMS",
    "Assignment",
    "GroupingParams",
    "StoryGrouper",
    "cluster_articles",
    "default_story_id",
    "default_story_id_of",
]
