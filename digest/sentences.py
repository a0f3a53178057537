"""Sentence units for the summarizer: a rule-based splitter and a candidate filter.

The splitter works on any language written with Latin-style punctuation and knows the
abbreviations of Indonesian and English news (titles, degrees, street and number prefixes,
months). Every sentence it returns is a verbatim substring of the input (stripped), so a
summary sentence can always be traced back to its article. A dateline that opens a paragraph
("REPUBLIKA.CO.ID, WASHINGTON –", "Jakarta, CNN Indonesia --") is left out of the sentence.

``is_candidate`` says whether a sentence may appear in a summary: not too short or long, not
site debris, not a question to the reader, no dangling quote, not a heading or a teaser.
It does not rely on ``digest.clean`` having run first (defence in depth).
"""

from __future__ import annotations

import bisect
import re

from digest.lang import words
from digest.rules import dateline_end, sentence_rules

# Lowercased, without the final dot. A dot after one of these does not end a sentence.
ABBREVIATIONS = frozenset(
    """
    dr drs dra prof ir h hj kh st s.h s.e s.t s.pd s.kom s.sos s.ip s.ag s.psi s.hum s.si
    s.ked s.farm m.si m.sc m.a m.m m.h m.t m.pd m.kom m.hum m.ag m.kes ph.d lc b.a b.sc
    jl jln no nomor kec kab kel kota prov ds gg rt rw kp tbk pt cv ud bpk bp ibu sdr sdri yth
    rp us$ usd idr hlm tel telp fax hal vol ed dkk dll dsb dst tsb pkl ps mr mrs ms mx jr sr
    gen lt col capt cpt sgt maj cmdr adm gov sen rep rev hon pres supt insp det ft mt
    inc ltd co corp bros llc plc dept univ assn est approx vs etc e.g i.e cf al fig
    jan feb mar apr jun jul aug agu sep sept okt oct nov des dec
    """.split()  # noqa: SIM905 - a word list is easier to read and extend as text
)

_CLOSERS = "\"'”’»)]"
_OPEN_QUOTES = '"“‘«'
# A possible sentence end: terminal punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"(\.{2,}|…|[.!?]+)([" + re.escape(_CLOSERS) + r"]*)(\s+)")
_LOOKBACK = 64  # characters searched for the token before a period (abbreviations are short)
# Words that open a sentence, never a name: after one of these a period ends the sentence even
# when it follows an abbreviation ("... in the U.S. The move ...").
_STARTERS = frozenset(
    """
    the a an he she it they we his her its their our this that these those there but and
    in on at as after before when while if although however meanwhile yet still also so
    ia dia mereka kami kita ini itu namun tetapi tapi sementara menurut selain hal
    """.split()  # noqa: SIM905
)
# Times ("10 a.m. Monday") end a sentence unless a day, a month or a time zone follows.
_TIME_ABBREVIATIONS = frozenset({"a.m", "p.m"})
_TIME_FOLLOWERS = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december est edt cst cdt mst mdt pst
    pdt gmt utc et pt bst cet wib wita wit local
    """.split()  # noqa: SIM905
)
_NEXT_WORDS = re.compile(r"[\"'“‘(\[]*([^\s.,;:!?\"'”’)]+)(\.?)(?:\s+(\S+))?(?:\s+(\S+))?")
_INITIALS = re.compile(r"^(?:[A-Za-z]{1,3}\.)+[A-Za-z]{1,3}$")  # S.H, M.Si, U.S, Ph.D


def _token_ending(para: str, end: int) -> tuple[int, str]:
    """(start, text) of the whitespace-free token ending at ``end`` (at most ``_LOOKBACK``
    characters: abbreviations are short, and a bounded look keeps splitting linear)."""
    lo = max(0, end - _LOOKBACK)
    j = end
    while j > lo and not para[j - 1].isspace():
        j -= 1
    return j, para[j:end]


def _abbreviation_continues(token: str, token_start: int, para: str, after: int) -> bool:
    """Whether the period closing abbreviation ``token`` is not a sentence end, given the text
    of the paragraph from ``after`` on (the next words).

    A title abbreviation is followed by a name; it ends the sentence when the next word is
    a sentence opener ("the", "he"; not after an initial: "L. A Superior Court"), when the
    name before it comes again right after ("strongman Hun Sen. Hun Sen complained": a name,
    not "Sen." for senator), or, for times, when no day, month or time zone follows
    ("10 a.m. Police ...").
    """
    m = _NEXT_WORDS.match(para, after, after + 200)
    if not m:
        return True
    nxt, dot = m.group(1), m.group(2)
    low = nxt.lower()
    core = token.lstrip(_OPEN_QUOTES + "([").rstrip(".")
    if core[:1].isupper() and len(core) > 1 and "." not in core and m.group(3):
        j = token_start
        while j > 0 and j > token_start - _LOOKBACK and para[j - 1].isspace():
            j -= 1
        before = _token_ending(para, j)[1]
        following = [nxt, m.group(3).rstrip(".,;:!?\"'”’)")]
        if before and following == [before, core]:
            return False  # "Hun Sen. Hun Sen": the same name again
    if low in _STARTERS and not dot and len(core) > 1:
        return False
    if core.lower() in _TIME_ABBREVIATIONS and nxt[:1].isupper():
        return low in _TIME_FOLLOWERS
    return True


def _is_abbreviation(token: str) -> bool:
    token = token.lstrip(_OPEN_QUOTES + "([")
    core = token[:-1] if token.endswith(".") else token
    low = core.lower()
    if low in ABBREVIATIONS:
        return True
    if len(core) == 1 and core.isalpha() and core.isupper():
        return True  # an initial: "A. Yani", "John F. Kennedy"
    return bool(_INITIALS.match(core))  # S.H., M.Si., U.S., Ph.D.


# Doubled single quotes used as double quotes ('' and PTB-style ``), toggling like '"'.
_DOUBLED = re.compile(r"''|``|‘‘|‘’|’’")


def _quote_open(text: str) -> bool:
    """Whether a double quotation is left open at the end of ``text``."""
    straight = text.count('"') + len(_DOUBLED.findall(text))
    return straight % 2 == 1 or text.count("“") > text.count("”")


class _QuoteCounts:
    """``_quote_open(para[a:b])`` in O(log n) per question, for a and b after whitespace
    (sentence starts and boundaries: no quote mark straddles them): prefix positions of the
    quote marks, so splitting stays linear however many boundaries a long quotation holds."""

    def __init__(self, para: str) -> None:
        self.para = para
        self.straight: list[int] | None = None  # built on the first question

    def _build(self) -> None:
        para = self.para
        self.straight = sorted(
            [m.start() for m in re.finditer('"', para)]
            + [m.start() for m in _DOUBLED.finditer(para)]
        )
        self.left = [m.start() for m in re.finditer("“", para)]
        self.right = [m.start() for m in re.finditer("”", para)]

    @staticmethod
    def _count(positions: list[int], a: int, b: int) -> int:
        return bisect.bisect_left(positions, b) - bisect.bisect_left(positions, a)

    def open(self, a: int, b: int) -> bool:
        if self.straight is None:
            self._build()
        if self._count(self.straight, a, b) % 2 == 1:
            return True
        return self._count(self.left, a, b) > self._count(self.right, a, b)


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of paragraphs: lines, with a hard-wrapped line joined to its continuation."""
    spans: list[list[int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        body = text[start:end]
        if not body.strip():
            continue
        if spans:
            j = spans[-1][1] - 1  # last visible character of the paragraph so far
            while j >= spans[-1][0] and text[j].isspace():
                j -= 1
            last = text[j] if j >= spans[-1][0] else ""
            first = body.lstrip()[:1]
            if last and last not in ".!?:;\"'”’)…" and first.islower():
                spans[-1][1] = end
                continue
        spans.append([start, end])
    return [(s, e) for s, e in spans]


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    para = text[start:end]
    cut = dateline_end(para)
    out: list[tuple[int, int]] = []
    sent_start = cut
    quotes = _QuoteCounts(para)
    for m in _BOUNDARY.finditer(para, cut):
        nxt = para[m.end() : m.end() + 1]
        if not nxt:
            break
        punct, closers = m.group(1), m.group(2)
        follower = nxt
        if follower in _OPEN_QUOTES + "(['‘":
            follower = para[m.end() + 1 : m.end() + 2] or follower
        if follower.islower():
            continue  # "tersebut ... akan", "?" tanya dia.
        if punct == "." and not closers:
            token_start, token = _token_ending(para, m.start() + 1)
            if (
                token
                and _is_abbreviation(token)
                and _abbreviation_continues(token, token_start, para, m.end())
            ):
                continue
            if not (follower.isupper() or follower.isdigit() or nxt in _OPEN_QUOTES):
                continue
        # Inside a quotation that closes later in this paragraph: keep the quote whole.
        if quotes.open(sent_start, m.end()) and not quotes.open(sent_start, len(para)):
            continue
        out.append((start + sent_start, start + m.end()))
        sent_start = m.end()
    if sent_start < len(para):
        out.append((start + sent_start, end))
    return out


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """Sentences of ``text``, each a verbatim (stripped) substring of it, in order.

    ``lang`` is accepted for the interface; the rules cover Indonesian and English news and
    degrade to plain punctuation splitting elsewhere.
    """
    if not text or not text.strip():
        return []
    result = []
    for p_start, p_end in _paragraphs(text):
        for s, e in _split_paragraph(text, p_start, p_end):
            sentence = text[s:e].strip().lstrip("-–—").strip()  # "-- - Set album ..."
            if sentence:
                result.append(sentence)
    return result


# ---------------------------------------------------------------------------- candidates

# Words per candidate sentence. Calibrated on indosum-dev: reference sentences are 6..45
# words (5th..99th percentile); very long units are run-ons or merged paragraphs.
MIN_WORDS = 6
MAX_WORDS = 60
# Sixty words of news are well under 1,000 characters; no real word is 40 characters long.
MAX_CHARS = 1500
MAX_WORD_CHARS = 40
_BYLINE = re.compile(r"^By\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,3}\b")

_DEBRIS = sentence_rules().debris  # digest/rules/sentences.toml, on the lowercased sentence
_TERMINAL = ".!\"'”’)"


def _has_balanced_quotes(s: str) -> bool:
    doubled = len(_DOUBLED.findall(s))
    if (s.count('"') + doubled) % 2:
        return False
    if doubled == 0 and s.count("“") != s.count("”"):
        return False
    return s.count("(") == s.count(")")


def is_candidate(sentence: str, lang: str | None = None) -> bool:
    """Whether ``sentence`` may be used in a summary (see the module docstring)."""
    s = sentence.strip()
    if len(s) > MAX_CHARS:
        return False  # also bounds the cost of the patterns below on hostile input
    toks = words(s)
    n = len(toks)
    if n < MIN_WORDS or n > MAX_WORDS:
        return False
    if max(map(len, toks)) > MAX_WORD_CHARS:
        return False  # a run of characters, not a word
    if _BYLINE.match(s) and n <= 12:
        return False  # "By MATT APUZZO, Associated Press Writer"
    if _DEBRIS.search(s.lower()):
        return False
    tail = s.rstrip(_CLOSERS + " ")
    if tail.endswith(("?", ":", ";", ",", "…", "...")):
        return False  # a question to the reader, a lead-in, a teaser cut short
    first = next((c for c in s if c.isalnum()), "")
    if first.islower():
        return False  # a fragment (the rest of a broken sentence)
    if not _has_balanced_quotes(s):
        return False  # dangling quote: half of a quotation split across units
    n_letters = sum(map(str.isalpha, s))  # map over C methods: 5x a generator
    if n_letters and sum(map(str.isupper, s)) > 0.6 * n_letters:
        return False  # ALL-CAPS banner
    alpha_words = sum(1 for t in toks if any(map(str.isalpha, t)))
    if alpha_words < 0.6 * n:
        return False  # number soup, tables, scores
    # Title Case: share of capitalised words among the longer ones after the first. News
    # sentences full of names stay below 0.8 (indosum-dev leads); headlines do not.
    long_words = [t for t in toks[1:] if len(t) > 3]
    capitalised = sum(t[:1].isupper() for t in long_words)
    if n <= 25 and long_words and capitalised > 0.8 * len(long_words):
        return False  # a headline ("Wapres AS: Dukungan Militer ... adalah Kesalahan Besar!")
    # Without terminal punctuation, only a long sentence-like line counts (not a heading).
    return s[-1] in _TERMINAL or (n >= 10 and capitalised <= 0.5 * max(len(long_words), 1))


# A line after which the rest of a scraped page is a list of other stories.
_FOOTER = sentence_rules().footer  # digest/rules/sentences.toml


def is_footer(sentence: str) -> bool:
    """Whether ``sentence`` opens the related-stories footer of a scraped page."""
    return bool(_FOOTER.match(sentence.strip()))
