"""Property tests of summarizing (issue 14): never crash, verbatim, budget held."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.lang import words
from digest.models import Doc
from digest.summarize import summarize

WORDS = st.sampled_from(
    [
        "Kim",
        "Putin",
        "Harris",
        "Sullivan",
        "Rusia",
        "Korea",
        "Utara",
        "senjata",
        "bertemu",
        "the",
        "minister",
        "said",
        "on",
        "Monday",
        "talks",
        "weapons",
        "deal",
        ".",
        ",",
        "!",
        "?",
        "“",
        "”",
        '"',
        "(",
        ")",
        "Sen.",
        "U.S.",
        "a.m.",
        "he",
        "they",
        "12",
        "2023",
    ]
)
SENTENCE = st.lists(WORDS, min_size=3, max_size=25).map(lambda ws: " ".join(ws) + ".")
ARTICLE = st.lists(st.one_of(SENTENCE, st.text(max_size=40)), max_size=8).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(ARTICLE, min_size=1, max_size=4),
    st.sampled_from([None, "id", "en"]),
    st.sampled_from([None, 10, 30, 100]),
)
def test_summary_is_verbatim_and_within_budget(texts, lang, budget):
    docs = [Doc(title=f"t{i}", text=t) for i, t in enumerate(texts)]
    summary = summarize(docs, lang, max_words=budget)
    if budget is not None:
        assert sum(len(words(s.text)) for s in summary) <= budget
    else:
        assert len(summary) <= 6
    for s in summary:
        assert s.text in docs[s.doc].text
        assert s.doc not in s.also
    assert len({s.text for s in summary}) == len(summary)
