"""What a ``--source`` argument (or a sources-file entry) names, before anything is read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_URL = re.compile(r"^https?://\S+$", re.I)
# A .txt file is a list of URLs when its first lines are all URLs (or comments).
URL_LIST_SNIFF_LINES = 20


@dataclass
class SourceSpec:
    key: str  # a path or a URL: the identity of the source in the database
    kind: str  # "local" (file or folder), "url" (feed or page), "opml", "urls" (list file)
    name: str | None = None  # outlet name to use when the articles name none
    lang: str | None = None  # pinned language: else each article's is detected from its text
    tags: list[str] = field(default_factory=list)
    # The name is the outlet of every article, whatever the page says (sources file
    # ``force_name = true``): else it applies only to pages that name no publisher.
    force_name: bool = False

    @property
    def is_web(self) -> bool:
        return self.kind in {"url", "opml", "urls"}


def is_url(value: str) -> bool:
    return bool(_URL.match(value.strip()))


def _is_url_list(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="strict") as fh:
            lines = [ln.strip() for _, ln in zip(range(URL_LIST_SNIFF_LINES), fh, strict=False)]
    except (OSError, UnicodeDecodeError):
        return False
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    return bool(lines) and all(is_url(ln) for ln in lines)


def classify(arg: str) -> SourceSpec:
    """One command-line source: a URL, an OPML file, a file of URLs, or local articles."""
    arg = arg.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", arg, re.I):
        return SourceSpec(key=arg, kind="url")
    path = Path(arg).expanduser()
    if path.is_file() and path.suffix.lower() == ".opml":
        return SourceSpec(key=str(path.resolve()), kind="opml")
    if path.is_file() and path.suffix.lower() in {".txt", ".list", ".urls"} and _is_url_list(path):
        return SourceSpec(key=str(path.resolve()), kind="urls")
    return SourceSpec(key=str(path.resolve()) if path.exists() else arg, kind="local")
