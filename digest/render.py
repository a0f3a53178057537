"""Rendering a digest as Markdown, HTML (CSS inlined, for email), plain text and JSON.

Article text is hostile: HTML is autoescaped, Markdown is backslash-escaped, links are only
ever http(s).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

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
    is_new: bool = False  # from an article added since the previous digest (updated stories)


@dataclass
class StoryView:
    id: str
    headline: str
    sentences: list[SentenceView]
    sources: list[SourceRef]
    first_seen: datetime
    last_updated: datetime
    is_new: bool = True  # never in a digest before
    score: float = 0.0  # digest.rank.story_score
    new_articles: int = 0  # articles added since the previous digest
    section: str = ""  # the tag of the sources file / OPML folder it is filed under
    lang: str | None = None  # the language most of its articles are in
    number: int = 0  # its position in the digest (set by DigestView.arranged)

    @property
    def outlets(self) -> list[str]:
        """Distinct outlets, in the order of their first article."""
        return list(dict.fromkeys(src.outlet for src in self.sources))

    @property
    def link(self) -> str | None:
        """The first http(s) link of its articles (for one-line entries)."""
        return next((src.url for src in self.sources if safe_href(src.url)), None)

    @property
    def anchor(self) -> str:
        return f"story-{self.number}"


@dataclass
class Subsection:
    title: str  # the language's name, or "" when the digest is not split by language
    stories: list[StoryView] = field(default_factory=list)  # shown in full
    brief: list[StoryView] = field(default_factory=list)  # one line each


@dataclass
class Section:
    title: str  # the tag, "Other" for untagged stories, "" when no source has tags
    subsections: list[Subsection] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "section-" + (re.sub(r"[^\w]+", "-", self.title.lower()).strip("-") or "all")

    @property
    def count(self) -> int:
        return sum(len(s.stories) + len(s.brief) for s in self.subsections)


# Names of languages in the language itself, for section titles; other codes are shown as is.
LANGUAGE_NAMES = {
    "id": "Bahasa Indonesia",
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "pt": "Português",
    "ms": "Bahasa Melayu",
    "jv": "Basa Jawa",
}
OTHER_SECTION = "Other"


def language_name(code: str | None) -> str:
    if not code:
        return "Other languages"
    return LANGUAGE_NAMES.get(code, code)


@dataclass
class DigestView:
    generated_at: datetime
    stories: list[StoryView] = field(default_factory=list)  # shown in full, best first
    window_start: datetime | None = None
    window_end: datetime | None = None
    previous_at: datetime | None = None
    title: str = "News digest"
    brief: list[StoryView] = field(default_factory=list)  # the others, one line each
    by_language: bool = False  # sections split by language (NEWSDIGEST_DIGEST_BY_LANGUAGE)
    # Archive pages link to the index; an email does not (set by the archive writer).
    archive_index: str | None = None
    archive_feed: str | None = None

    @property
    def all_stories(self) -> list[StoryView]:
        return [*self.stories, *self.brief]

    @property
    def story_count(self) -> int:
        return len(self.stories) + len(self.brief)

    @property
    def new_count(self) -> int:
        return sum(1 for s in self.all_stories if s.is_new)

    @property
    def updated_count(self) -> int:
        return self.story_count - self.new_count

    @property
    def article_count(self) -> int:
        return sum(len(s.sources) for s in self.all_stories)

    @property
    def outlet_count(self) -> int:
        return len({src.outlet for s in self.all_stories for src in s.sources})

    @property
    def lang(self) -> str:
        """The language most of the digest is in (the ``lang`` of the HTML)."""
        counts = Counter(s.lang for s in self.all_stories if s.lang)
        return counts.most_common(1)[0][0] if counts else "en"

    def arranged(self) -> list[Section]:
        """Sections by tag (ordered by their best story), then by language when configured;
        in each, the full stories in rank order, then the one-liners. Numbers the stories."""
        tagged = any(s.section for s in self.all_stories)
        sections: dict[str, Section] = {}
        subs: dict[tuple[str, str], Subsection] = {}
        for full, group in ((True, self.stories), (False, self.brief)):
            for story in group:
                title = (story.section or OTHER_SECTION) if tagged else ""
                section = sections.setdefault(title, Section(title))
                sub_title = language_name(story.lang) if self.by_language else ""
                sub = subs.get((title, sub_title))
                if sub is None:
                    sub = subs[(title, sub_title)] = Subsection(sub_title)
                    section.subsections.append(sub)
                (sub.stories if full else sub.brief).append(story)
        # The untagged ones last, under "Other".
        ordered = [s for t, s in sections.items() if t != OTHER_SECTION or not tagged]
        if tagged and OTHER_SECTION in sections:
            ordered.append(sections[OTHER_SECTION])
        n = 0
        for section in ordered:
            for sub in section.subsections:
                for story in [*sub.stories, *sub.brief]:
                    n += 1
                    story.number = n
        return ordered


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown syntax so article text renders as the words it is."""
    text = " ".join(str(text).split()).replace("<", "&lt;").replace(">", "&gt;")
    return _MD_LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def safe_href(url: str | None) -> bool:
    return bool(url) and re.match(r"^\s*https?://[^\s/]", url, re.I) is not None


# Characters kept as they are in a link; everything else (spaces, line breaks, control
# characters, brackets, parentheses, quotes, backslashes) is percent-encoded.
_URL_SAFE = ":/?#@!$&'*+,;=%-._~"


def link_url(url: str | None) -> str:
    """An http(s) URL made safe to put in a Markdown link, an href or a line of text: every
    character that could end the link or start a new line is percent-encoded; anything
    that is not http(s) gives ''."""
    if not safe_href(url):
        return ""
    return quote(url.strip(), safe=_URL_SAFE)


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
    env.filters.update(
        oneline=lambda v: " ".join(str(v).split()),
        md=escape_markdown,
        mdurl=link_url,
        url=link_url,
        dt=_dt,
        d=_d,
        safe_href=safe_href,
        langname=language_name,
    )
    return env


def render_template(name: str, autoescape: bool = True, **context) -> str:
    """A template of digest/templates with this module's filters (the archive uses it)."""
    return _env(autoescape).get_template(name).render(**context)


def render_markdown(view: DigestView) -> str:
    text = _env(False).get_template("digest.md.j2").render(view=view)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_text(view: DigestView) -> str:
    text = _env(False).get_template("digest.txt.j2").render(view=view)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


_INLINER = css_inline.CSSInliner(keep_at_rules=True)


def render_html(view: DigestView) -> str:
    """HTML with the stylesheet inlined into style attributes (what mail clients need); the
    phone-width rules (@media) stay in a <style> element for the clients that apply them."""
    html = _env(True).get_template("digest.html.j2").render(view=view)
    return _INLINER.inline(html)


def render_json(view: DigestView) -> str:
    def default(o):
        return o.isoformat() if isinstance(o, datetime) else str(o)

    data = asdict(view)
    return json.dumps(data, ensure_ascii=False, indent=2, default=default) + "\n"


def render_notification(
    view: DigestView, max_stories: int = 5, page: str | None = None
) -> tuple[str, str]:
    """(title, body) of a short digest for chat and push services: counts, the best
    headlines with their first link, how many more, and the digest's page when known."""
    n = view.story_count
    title = f"{view.title} {view.generated_at:%Y-%m-%d}: {n} stor{'y' if n == 1 else 'ies'}"
    lines = []
    for story in view.all_stories[:max_stories]:
        headline = escape_markdown(story.headline)
        outlets = escape_markdown(", ".join(story.outlets[:3]))
        link = link_url(story.link)
        lines.append(f"- [{headline}](<{link}>) ({outlets})" if link else f"- {headline}")
    more = n - min(n, max_stories)
    if more:
        lines.append(f"and {more} more")
    if page and safe_href(page):
        lines.append(f"Full digest: {link_url(page)}")
    return " ".join(title.split()), "\n".join(lines) if lines else "Nothing new."
