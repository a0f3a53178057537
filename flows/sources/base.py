"""What every source adapter returns: articles, and one error per item that failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.models import Article
from digest.validate import safe_label


@dataclass
class ItemError:
    """One item (file, URL, feed entry) that could not be read, and why, in one line."""

    item: str
    reason: str

    def __post_init__(self) -> None:
        # A file name with bytes that are not UTF-8, or a URL with control characters, must
        # not break the log line, the terminal or the database that reports it.
        self.item, self.reason = safe_label(str(self.item)), safe_label(str(self.reason))

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
