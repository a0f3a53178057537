"""What every source adapter returns: articles, and one error per item that failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.models import Article


@dataclass
class ItemError:
    """One item (file, URL, feed entry) that could not be read, and why, in one line."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    skipped: int = 0  # items deliberately not read (unsupported type, not modified, known)

    def extend(self, other: LoadResult) -> None:
        self.articles.extend(other.articles)
        self.errors.extend(other.errors)
        self.skipped += other.skipped
