"""StoryGrouper: the story bookkeeping around the stages (vectorize, edges, linkage,
cross-language joins): open stories, placement of each chunk, moves, ids, closing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from digest import features
from digest.grouping.crosslang import cross_pairs, join_languages, several_languages
from digest.grouping.edges import (
    Edges,
    combined_edges,
    near_duplicates,
    strongest_edges,
    time_decay,
)
from digest.grouping.linkage import average_linkage
from digest.grouping.params import DEFAULT_PARAMS, GroupingParams
from digest.grouping.pool import doc_chunks
from digest.grouping.vectorize import (
    YEAR_SPAN,
    DocFreq,
    DocVector,
    Extractor,
    Renumber,
    day_of,
    docs_of,
    utc,
)
from digest.models import Article


@dataclass
class Assignment:
    story_id: str
    new_story: bool
    near_duplicate_of: str | None  # article id of the earlier near-copy, if any
    score: float  # mean pair probability with the story's other articles (0 for new)


def default_story_id(article: Article) -> str:
    """Deterministic story id from the story's first article."""
    return default_story_id_of(article.id)


def default_story_id_of(article_id: str) -> str:
    return "s-" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:12]


@dataclass
class _Story:
    id: str
    num: int
    members: list[DocVector] = field(default_factory=list)  # most recent story_members
    size: int = 0
    first: datetime | None = None
    last: datetime | None = None
    touched: int = 0  # chunk counter of its last article (for closing the quietest)


@dataclass
class _Chunk:
    """One chunk being placed: the linkage nodes and the pool of vectors behind them.

    Nodes ``0..n_locked-1`` are the locked open stories; then one node per movable article
    (``new`` first, then ``recent``: placed earlier, decided again). ``pool`` holds the locked
    stories' kept members (the first ``offset``) then the movable articles; ``node`` is the
    node of each pool entry.
    """

    new: list[DocVector]
    recent: list[DocVector]
    stories: list[_Story]
    pool: list[DocVector]
    node: np.ndarray
    offset: int
    days: np.ndarray  # time of each pool entry in days (a locked member: its story's last)

    @property
    def n_locked(self) -> int:
        return len(self.stories)

    @property
    def n_movable(self) -> int:
        return len(self.new) + len(self.recent)


class StoryGrouper:
    """Assigns articles to open stories or opens new ones; see the package docstring.

    ``extract``: the feature extractor (article -> :class:`digest.features.ArticleFeatures`);
    with ``workers`` > 1 it runs in worker processes, so it must be a module-level function.
    """

    def __init__(
        self,
        params: GroupingParams = DEFAULT_PARAMS,
        new_story_id: Callable[[Article], str] | None = None,
        extract: Extractor = features.extract,
    ) -> None:
        self.params = params
        self.new_story_id = new_story_id or default_story_id
        self.extract = extract
        self._df = DocFreq(params.feature_bits)
        self._renumber = Renumber((1 << params.feature_bits) + YEAR_SPAN)
        self._stories: dict[int, _Story] = {}
        self._by_id: dict[str, int] = {}
        self._next_num = 0
        self._clock = 0
        # Re-decided articles that changed story: (article id, from story, to story), and
        # stories left empty by those moves: emptied id -> the story that took its last one.
        self.moves: list[tuple[str, str, str]] = []
        self._serial = 0  # placement counter (see DocVector.placed)
        self._window: list[DocVector] = []  # the most recently placed articles (see _remember)
        self.merged: dict[str, str] = {}

    # ----------------------------------------------------------------- public interface

    @property
    def open_story_ids(self) -> list[str]:
        return [s.id for s in self._stories.values()]

    def restore(
        self, story_id: str, articles: Sequence[Article], placed: Sequence[int] | None = None
    ) -> None:
        """Rebuild an open story from stored articles, without re-clustering them.

        ``placed``: the order in which they were placed (higher: later; see recluster_window);
        without it they are never decided again.
        """
        docs = docs_of(articles, self.params, self.extract)
        self._df.count(docs)
        if story_id in self._by_id:
            story = self._stories[self._by_id[story_id]]
        else:
            story = self._open(story_id)
        self._extend(story, docs)
        if placed is not None:
            for d, rank in zip(docs, placed, strict=True):
                d.placed = rank
                self._serial = max(self._serial, rank)
            self._remember([d for d in docs if d.placed > 0])

    def add(self, article: Article) -> Assignment:
        """Place one article (a batch of one: the same method as ``add_many``)."""
        return self._place_chunk([article], docs_of([article], self.params, self.extract))[0]

    def add_many(self, articles: Sequence[Article]) -> list[Assignment]:
        """Group the articles together (chunk by chunk), one assignment per article, in order.

        Before each chunk, the stories quiet for ``quiet_days`` before the chunk's earliest
        dated article are closed: nothing in the chunk could join them.
        """
        out: list[Assignment] = []
        first_move = len(self.moves)
        for chunk, docs in doc_chunks(articles, self.params, self.extract):
            dates = [d.published for d in docs if d.published is not None]
            if dates:
                self.close_quiet(min(dates))
            out += self._place_chunk(chunk, docs)
        # an article of an earlier chunk of this batch may have moved since
        position = {a.id: k for k, a in enumerate(articles)}
        for article_id, _, to in self.moves[first_move:]:
            k = position.get(article_id)
            if k is not None:
                out[k].story_id, out[k].new_story = to, False
        return out

    def close_quiet(self, now: datetime) -> list[str]:
        """Close the stories whose last article is older than ``params.quiet_days``."""
        try:
            limit = utc(now) - timedelta(days=self.params.quiet_days)
        except OverflowError:  # a window longer than the calendar: nothing ever closes
            return []
        closed = [num for num, s in self._stories.items() if s.last is not None and s.last < limit]
        return [self._close(num) for num in closed]

    # ----------------------------------------------------------------- placing a chunk

    def _place_chunk(self, articles: Sequence[Article], new: list[DocVector]) -> list[Assignment]:
        """Place a chunk: gather, link, then record the stories (new and moved articles)."""
        self._clock += 1
        self._df.count(new)
        for a, d in zip(articles, new, strict=True):
            d.article = a
        chunk = self._gather(new)
        edges = combined_edges(
            chunk.pool, chunk.offset, self.params, self._idf(self.params.combined_idf_floor),
            self._renumber, chunk.days,
        )  # fmt: skip
        dups = near_duplicates(edges, chunk.pool, chunk.offset, len(new), self.params)
        roots, sizes = self._link(chunk, edges, dups)
        scores = self._scores(chunk, edges, roots, sizes)
        out = self._assign(chunk, roots, scores, dups)
        self._finish(new)
        return out

    def _gather(self, new: list[DocVector]) -> _Chunk:
        """The pool of a chunk: locked stories (those with a member not being decided again)
        and their members, then the movable articles (the new ones, then the most recent)."""
        recent = self._recent(len(new))
        movable = new + recent
        moving = {id(d) for d in movable}
        stories: list[_Story] = []
        pool: list[DocVector] = []
        node_of: list[int] = []
        for story in self._stories.values():
            kept = [d for d in story.members if id(d) not in moving]
            if kept:
                node_of += [len(stories)] * len(kept)
                stories.append(story)
                pool += kept
        offset = len(node_of)
        node_of += range(len(stories), len(stories) + len(movable))
        node = np.array(node_of, np.int64)
        pool += movable
        days = np.fromiter((d.day for d in pool), np.float64, len(pool))
        last = np.array([day_of(s.last) for s in stories] or [np.nan], np.float64)
        story_days = last[node[:offset]]  # a locked member counts at its story's last article
        days[:offset] = np.where(np.isnan(story_days), days[:offset], story_days)
        return _Chunk(new, recent, stories, pool, node, offset, days)

    def _link(
        self, chunk: _Chunk, edges: Edges, dups: dict[int, int]
    ) -> tuple[list[int], list[int]]:
        """Average linkage over the strongest edges, then the cross-language joins: the root
        node of every node, and the size (articles) of every node."""
        p = self.params
        a, b, sim = edges
        n_locked, node = chunk.n_locked, chunk.node
        keep = strongest_edges(a, b, sim, chunk.offset, p.max_edges)
        sizes = np.bincount(node[: chunk.offset], minlength=n_locked).tolist()
        sizes += [1] * chunk.n_movable
        links = zip(
            (a[keep] + n_locked).tolist(), node[b[keep]].tolist(), sim[keep].tolist(), strict=True
        )
        pre = [(i + n_locked, int(node[j])) for i, j in dups.items()]
        roots = average_linkage(n_locked, sizes, links, p.link_threshold, pre, p.attach_threshold)
        if several_languages(chunk.pool):
            pairs = cross_pairs(chunk.pool, chunk.offset, p, self._idf(1.0), self._renumber)
            if len(pairs[0]):
                xa, xb = pairs
                decay = time_decay(np.abs(chunk.days[xa + chunk.offset] - chunk.days[xb]), p)
                roots = join_languages(roots, pairs, chunk.pool, node, n_locked, p, decay)
        return roots, sizes

    def _scores(
        self, chunk: _Chunk, edges: Edges, roots: list[int], sizes: list[int]
    ) -> np.ndarray:
        """Mean similarity of each movable article with its cluster's other articles."""
        a, b, sim = edges
        n, offset = chunk.n_movable, chunk.offset
        root_arr = np.array(roots, np.int64)
        same = root_arr[a + chunk.n_locked] == root_arr[chunk.node[b]]
        w = sim * same
        score_sum = np.bincount(a, weights=w, minlength=n)
        score_sum += np.bincount(b[b >= offset] - offset, weights=w[b >= offset], minlength=n)
        cluster_size = np.bincount(root_arr, weights=np.array(sizes, float), minlength=len(roots))
        others = cluster_size[root_arr[chunk.n_locked :]] - 1
        return np.where(others > 0, score_sum / np.maximum(others, 1), 0.0)

    def _assign(
        self, chunk: _Chunk, roots: list[int], scores: np.ndarray, dups: dict[int, int]
    ) -> list[Assignment]:
        """Story of every cluster; the new articles' assignments; the re-decided articles'
        moves; the stories extended."""
        n_locked = chunk.n_locked
        story_of_root = self._stories_of_clusters(
            chunk.stories, roots, chunk.recent, n_locked + len(chunk.new)
        )
        out: list[Assignment] = []
        members: dict[int, list[DocVector]] = {}
        for i, d in enumerate(chunk.new):
            r = roots[i + n_locked]
            story = story_of_root.get(r)
            first = story is None
            if first:
                story = story_of_root[r] = self._open(self.new_story_id(d.article))
            members.setdefault(story.num, []).append(d)
            score = 0.0 if first else float(scores[i])
            dup = dups.get(i)
            copy_of = chunk.pool[dup].id if dup is not None else None
            out.append(Assignment(story.id, first, copy_of, score))
        for k, d in enumerate(chunk.recent):
            r = roots[n_locked + len(chunk.new) + k]
            story = story_of_root.get(r)
            if story is None:
                story = story_of_root[r] = self._open(default_story_id_of(d.id))
            if story.num != d.story:
                self._move(d, story)
        for num, docs in members.items():
            self._extend(self._stories[num], docs)
        return out

    def _finish(self, new: list[DocVector]) -> None:
        """Number the placed articles, remember them, keep at most ``max_open_stories``."""
        for d in new:
            d.article = None
            self._serial += 1
            d.placed = self._serial
        self._remember(new)
        while len(self._stories) > self.params.max_open_stories:
            quietest = min(self._stories.values(), key=lambda s: (s.touched, s.num))
            self._close(quietest.num)

    # ----------------------------------------------------------------- internals

    def _idf(self, floor: float) -> Callable[[np.ndarray], np.ndarray]:
        prior = self.params.idf_prior_docs
        return lambda ids: self._df.idf(ids, prior, floor)

    def _remember(self, docs: list[DocVector]) -> None:
        """Keep the ``recluster_window`` most recently placed articles (any story member or
        not): the ones a small batch decides again."""
        window = self.params.recluster_window
        if window <= 0 or not docs:
            return
        self._window += docs
        self._window.sort(key=lambda d: d.placed)
        del self._window[: max(0, len(self._window) - window)]

    def _recent(self, n_new: int) -> list[DocVector]:
        """Articles placed most recently in still open stories, to decide again with the new
        ones: ``recluster_window`` articles in all, the new ones included."""
        budget = self.params.recluster_window - n_new
        if budget <= 0:
            return []
        alive = [d for d in self._window if d.story in self._stories]
        return alive[-budget:]

    def _stories_of_clusters(
        self, locked: list[_Story], roots: list[int], recent: list[DocVector], first_recent: int
    ) -> dict[int, _Story]:
        """Story of each cluster: a locked story's for its cluster; for a cluster without one,
        the story most of its re-decided articles came from, if no other cluster took it."""
        out = {i: s for i, s in enumerate(locked) if roots[i] == i}
        taken = {s.num for s in out.values()}
        votes: dict[int, dict[int, int]] = {}
        for k, d in enumerate(recent):
            r = roots[first_recent + k]
            if r not in out:
                v = votes.setdefault(r, {})
                v[d.story] = v.get(d.story, 0) + 1
        ranked = sorted(
            (-n, num, r) for r, v in votes.items() for num, n in v.items()
        )  # most articles first, then the older story, then the cluster
        for _, num, r in ranked:
            if r in out or num in taken or num not in self._stories:
                continue
            out[r] = self._stories[num]
            taken.add(num)
        return out

    def _move(self, d: DocVector, into: _Story) -> None:
        """A re-decided article changes story (recorded in ``moves``)."""
        old = self._stories.get(d.story)
        if old is not None:
            old.members = [m for m in old.members if m is not d]
            old.size -= 1
            if old.size <= 0:
                self.merged[old.id] = into.id
                self._close(old.num)
        self.moves.append((d.id, old.id if old is not None else "", into.id))
        self._extend(into, [d])

    def _extend(self, story: _Story, docs: list[DocVector]) -> None:
        for d in docs:
            d.story = story.num
            if d.published is not None:
                if story.first is None or d.published < story.first:
                    story.first = d.published
                if story.last is None or d.published > story.last:
                    story.last = d.published
        story.members += docs
        story.size += len(docs)
        if len(story.members) > self.params.story_members:
            del story.members[: len(story.members) - self.params.story_members]
        story.touched = self._clock

    def _unique_id(self, story_id: str) -> str:
        if story_id not in self._by_id:
            return story_id
        n = 2
        while f"{story_id}-{n}" in self._by_id:
            n += 1
        return f"{story_id}-{n}"

    def _open(self, story_id: str) -> _Story:
        story_id = self._unique_id(story_id)
        num = self._next_num
        self._next_num += 1
        story = _Story(id=story_id, num=num, touched=self._clock)
        self._stories[num] = story
        self._by_id[story_id] = num
        return story

    def _close(self, num: int) -> str:
        story = self._stories.pop(num)
        del self._by_id[story.id]
        return story.id


def cluster_articles(
    articles: Sequence[Article],
    params: GroupingParams = DEFAULT_PARAMS,
    extract: Extractor = features.extract,
) -> list[str]:
    """Stateless: story id per input article, same method as StoryGrouper."""
    return [a.story_id for a in StoryGrouper(params, extract=extract).add_many(articles)]
