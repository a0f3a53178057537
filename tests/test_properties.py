"""Property tests (hypothesis) for the entry points that take untrusted text: validation,
grouping and summarizing. Whatever Unicode comes in, they do not crash; summaries quote
their sources verbatim and keep their word and sentence budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.formats import FormatError, parse_article
from digest.grouping import cluster_articles
from digest.lang import words
from digest.models import Article, Doc
from digest.summarize import choose_headline, summarize
from digest.validate import (
    MAX_TITLE_CHARS,
    RecordRejected,
    cap_chars,
    clean_chars,
    one_line,
    validate_article,
)

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

# Words from a few scripts (so that sentences share vocabulary and summaries have something to
# choose), mixed with anything Unicode has: controls, formatting characters, combining marks,
# emoji, scripts without spaces.
VOCAB = [
    "banjir",
    "Jakarta",
    "warga",
    "mengungsi",
    "hujan",
    "deras",
    "pemerintah",
    "bantuan",
    "flood",
    "residents",
    "evacuated",
    "rain",
    "government",
    "aid",
    "bridge",
    "council",
    "1.500",
    "2024",
    "Rp",
    "M.Si.",
    "Jl.",
    "dr.",
    "U.S.",
    "e.g.",
    "สะพาน",
    "ประชาชน",
    "北港市",
    "议会",
    "東京",
    "地震",
    "Ünïcödé",
    "naïve",
    "😀",
    "\u200b",
    "\u202e",
]
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)
WORD = st.one_of(
    st.sampled_from(VOCAB),
    st.sampled_from(VOCAB),
    st.sampled_from(VOCAB),
    ANY_TEXT.filter(lambda t: len(t) < 30),
)
SENTENCE = st.builds(
    lambda ws, end: " ".join(ws) + end,
    st.lists(WORD, min_size=1, max_size=25),
    st.sampled_from([".", "!", "?", "…", "", "。", ". "]),
)
DOC_TEXT = st.lists(st.one_of(SENTENCE, SENTENCE, SENTENCE, ANY_TEXT), min_size=0, max_size=12).map(
    lambda parts: "\n\n".join(" ".join(parts[i : i + 3]) for i in range(0, len(parts), 3))
)
LANG = st.sampled_from([None, "id", "en", "th", "zh", "xx", "", "id-ID"])


@st.composite
def docs(draw) -> list[Doc]:
    n = draw(st.integers(min_value=0, max_value=5))
    t0 = datetime(2024, 5, 2, tzinfo=UTC)
    return [
        Doc(
            # Lone surrogates included: JSON's "\ud800" escapes make them.
            title=draw(SENTENCE | ANY_TEXT),
            text=draw(DOC_TEXT),
            published=draw(st.none() | st.just(t0 + timedelta(hours=i))),
            lang=draw(LANG),
            source=draw(st.none() | st.sampled_from(["A", "B", "C"])),
        )
        for i in range(n)
    ]


@PROPERTY
@given(docs(), LANG, st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=8))
def test_summaries_are_verbatim_and_within_budget(ds, lang, max_words, max_sentences):
    sentences = summarize(ds, lang, max_words=max_words, max_sentences=max_sentences)
    assert len(sentences) <= max_sentences
    assert sum(len(words(s.text)) for s in sentences) <= max_words
    for s in sentences:
        assert 0 <= s.doc < len(ds)
        # quoted, never rewritten (an article with an empty body is told by its title)
        source = ds[s.doc].text if ds[s.doc].text.strip() else ds[s.doc].title
        assert s.text and s.text in source
        assert all(0 <= i < len(ds) for i in s.also)


@PROPERTY
@given(docs(), LANG)
def test_headline_never_crashes(ds, lang):
    headline = choose_headline(ds, lang)
    assert isinstance(headline, str)


@PROPERTY
@given(docs())
def test_grouping_never_crashes_and_labels_every_article(ds):
    articles = [
        Article(
            id=f"a{i}",
            title=d.title,
            text=d.text,
            published=d.published,
            lang=d.lang,
            source=d.source,
            content_hash=f"h{i}",
        )
        for i, d in enumerate(ds)
    ]
    labels = cluster_articles(articles)
    assert len(labels) == len(articles)
    assert all(isinstance(label, str) and label for label in labels)
    # The same articles again give the same grouping (no hidden state between calls).
    again = cluster_articles(articles)
    assert [labels.index(x) for x in labels] == [again.index(x) for x in again]


@PROPERTY
@given(ANY_TEXT | DOC_TEXT)
def test_clean_chars_leaves_no_controls_and_is_idempotent(text):
    cleaned = clean_chars(text)
    assert clean_chars(cleaned) == cleaned
    assert not any(ord(c) < 32 and c not in "\t\n" for c in cleaned)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)
    cleaned.encode("utf-8")  # always encodable (the database and the terminal need it)
    line = one_line(text)
    assert "\n" not in line and one_line(line) == line


@PROPERTY
@given(ANY_TEXT, st.integers(min_value=2, max_value=300))
def test_cap_chars_holds_the_limit(text, limit):
    capped = cap_chars(text, limit)
    assert len(capped) <= limit
    assert capped == text or capped.endswith("…")


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@PROPERTY
@given(
    st.fixed_dictionaries(
        {},
        optional={
            k: JSON_VALUE
            | st.just("2024-05-02T08:00:00+07:00")
            | st.just("0001-01-01")
            | st.just("https://x.example/a")
            for k in ("id", "title", "text", "url", "source", "published", "lang")
        },
    )
    | JSON_VALUE
)
def test_any_json_record_is_an_article_or_one_clear_rejection(record):
    """The boundary of the pipeline: format A's field types, then validation of the values."""
    try:
        article = validate_article(parse_article(record, "line 1"))
    except (FormatError, RecordRejected) as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert isinstance(article.text, str) and len(article.title) <= MAX_TITLE_CHARS
    assert article.url is None or article.url.startswith(("http://", "https://"))
    assert article.published is None or datetime(1900, 1, 1, tzinfo=UTC) <= article.published
    article.text.encode("utf-8")  # storable
    assert validate_article(article) == article  # validation is idempotent
