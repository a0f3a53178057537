"""Rendering a digest as Markdown, HTML (CSS inlined, for email), plain text and JSON.

Article text is hostile: HTML is autoescaped, Markdown is backslash-escaped, links are only
ever http(s).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined

# Only what can change meaning inline: emphasis, code, links and images, raw HTML, tables.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
_MD_LINE_START = re.compile(r"^(\s*)([-=>]|\d+\.)", re.M)


@dataclass
class SourceRef:
    article_id: str
    outlet: str
    title: str
    url: str | None = None
    published: datetime | None = None
    near_duplicate: bool = False


@dataclass
class SentenceView:
    text: str
    sources: list[int]  # 1-based positions in StoryView.sources; the first is where it is from
    article_id: str = ""


@dataclass
class StoryView:
    id: str
    headline: str
    sentences: list[SentenceView]
    sources: list[SourceRef]
    first_seen: datetime
    last_updated: datetime
    is_new: bool = True


@dataclass
class DigestView:
    generated_at: datetime
    stories: list[StoryView] = field(default_factory=list)
    window_start: datetime | None = None
    window_end: datetime | None = None
    previous_at: datetime | None = None
    title: str = "News digest"

    @property
    def article_count(self) -> int:
        return sum(len(s.sources) for s in self.stories)

    @property
    def outlet_count(self) -> int:
        return len({src.outlet for s in self.stories for src in s.sources})


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown syntax so article text renders as the words it is."""
    text = " ".join(str(text).split()).replace("<", "&lt;").replace(">", "&gt;")
    return _MD_LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def safe_href(url: str | None) -> bool:
    return bool(url) and re.match(r"^https?://", url, re.I) is not None


def _md_url(url: str) -> str:
    return url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def _dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _d(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("digest", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(md=escape_markdown, mdurl=_md_url, dt=_dt, d=_d, safe_href=safe_href)
    return env


def render_markdown(view: DigestView) -> str:
    text = _env(False).get_template("digest.md.j2").render(view=view)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_text(view: DigestView) -> str:
    text = _env(False).get_template("digest.txt.j2").render(view=view)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_html(view: DigestView) -> str:
    """HTML with the stylesheet inlined into style attributes (what mail clients need)."""
    html = _env(True).get_template("digest.html.j2").render(view=view)
    return css_inline.inline(html)


def render_json(view: DigestView) -> str:
    def default(o):
        return o.isoformat() if isinstance(o, datetime) else str(o)

    data = asdict(view)
    return json.dumps(data, ensure_ascii=False, indent=2, default=default) + "\n"
