"""Property tests of sentence splitting (issue 14): never crash, verbatim, linear time."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.sentences import is_candidate, split_sentences

PUNCT = st.sampled_from([*list(" .!?\"'“”‘’`()[]-–—_\n\t…,;:"), "Sen.", "U.S.", "a.m.", " (AP) _ "])
TEXT = st.lists(st.one_of(st.text(max_size=12), PUNCT), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(["id", "en", None]))
def test_split_never_crashes_and_is_verbatim(text, lang):
    pieces = split_sentences(text, lang)
    pos = 0
    for s in pieces:
        assert s and s == s.strip()
        found = text.find(s, pos)
        assert found >= 0, (s, text)  # verbatim and in order
        pos = found + 1
        is_candidate(s, lang)  # never raises


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for s in split_sentences(text, "en"):
            is_candidate(s, "en")
        best = min(best, time.perf_counter() - t)
    return best


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(["x", "a.", "Sen. ", '"Kalimat satu. ', "`` ", "kata lanjut\n", "@x"]))
def test_split_time_is_linear_in_the_input(unit):
    """A 100,000-character token (or any repeated pattern) costs about 5x a 20,000 one
    (quadratic: 25x; the floor of 5 ms absorbs timer noise on tiny inputs)."""
    small = _seconds(unit * (20_000 // len(unit)))
    big = _seconds(unit * (100_000 // len(unit)))
    assert big < 3.0  # seconds, on a shared 2-core machine
    assert big < 15 * max(small, 5e-3), (unit, small, big)
