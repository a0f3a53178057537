"""Who says it: the attribution part of a reported-speech sentence (speaker, title, verb).

Wire copy attributes most facts ("National security adviser Jake Sullivan said on Tuesday
that ...", '"...," kata Penasihat Keamanan Nasional AS Jake Sullivan kepada wartawan.').
Two sentences of one speaker share that part word for word while saying different things,
so the redundancy cuts compare sentences without it (``coverage.py``). Recognised forms:

- a prefix: up to 14 words, no quotation before it, then a speech verb ("said", "warned",
  "mengatakan", "memperingatkan" ...), up to the "that"/"bahwa" within 6 words after it
  (else the verb alone); "X happened, police said ..." (one comma, at most 3 words before
  the verb) is not a prefix;
- "According to X, ..." / "Menurut X, ...": up to the first comma;
- a tail after a closing quotation or the first comma whose rest is at most 15 words and
  names a speech verb within its first 3 words or as its last word ('," said John Smith.',
  ', police said.', ', kata Sullivan.').

Token positions refer to ``digest.text.words(text)``.
"""

from __future__ import annotations

import re

from digest.text import WORD_RE

# Reporting verbs (lowercase forms as written); English and Indonesian.
SPEECH_VERBS = frozenset(
    """
    said says say told tells warned warns added adds stated states announced announces
    noted notes explained explains claimed claims confirmed confirms insisted insists argued
    argues stressed stresses urged urges acknowledged acknowledges reported reports wrote
    writes asked asks added declared declares testified testifies
    mengatakan kata katanya ujar ujarnya menurut menyatakan menuturkan tutur tuturnya
    memperingatkan mengingatkan menegaskan mengungkapkan ungkap ungkapnya menjelaskan jelas
    jelasnya menyebut menyebutkan sebut sebutnya menambahkan tambahnya imbuh imbuhnya
    mengklaim melaporkan dilansir dikutip mengutip
    """.split()  # noqa: SIM905
)
_CONNECTIVES = frozenset({"that", "bahwa"})
_ACCORDING = frozenset({"according", "menurut"})
PREFIX_MAX_WORDS = 14
CONNECTIVE_WINDOW = 6
CLAUSE_SUBJECT = 3  # words between a lone comma and the verb: "..., police said"
TAIL_MAX_WORDS = 25
# What may follow the verb of a "<speaker> said" tail: a time or place, not a clause.
_ADJUNCT = frozenset(
    """
    on in at to from during after before late early earlier yesterday today tonight monday
    tuesday wednesday thursday friday saturday sunday pada di kepada dalam kemarin hari
    senin selasa rabu kamis jumat sabtu minggu
    """.split()  # noqa: SIM905
)
TAIL_VERB_WITHIN = 3
_OPENING = re.compile(r"[\"“”«»‘`]|''")
_CLOSING = re.compile(r"[\"”»]|''|’(?!\w)")


def attribution(text: str) -> range:
    """Positions (in ``words(text)``) of the sentence's attribution, or an empty range."""
    spans = [m.span() for m in WORD_RE.finditer(text)]
    n = len(spans)
    if n < 4:
        return range(0)
    low = [text[a:b].lower() for a, b in spans]

    if low[0] in _ACCORDING:
        comma = text.find(",", spans[0][1])
        if comma > 0:
            k = sum(1 for a, _ in spans if a < comma)
            if k <= PREFIX_MAX_WORDS:
                return range(0, k)
    for i in range(1, min(PREFIX_MAX_WORDS, n - 4) + 1):
        if low[i] not in SPEECH_VERBS:
            continue
        before = text[: spans[i][0]]
        if _OPENING.search(before):
            break
        if before.count(",") == 1 and len(before.rsplit(",", 1)[1].split()) <= CLAUSE_SUBJECT:
            break  # "Twelve people died, police said ...": the verb closes a clause
        end = i + 1
        for j in range(i + 1, min(n, i + 1 + CONNECTIVE_WINDOW)):
            if low[j] in _CONNECTIVES:
                end = j + 1
                break
        return range(0, end)

    # A tail: after the last closing quotation, else after the first comma that opens one.
    cuts = [m.end() for m in _CLOSING.finditer(text)][-1:]
    cuts += [m.end() for m in re.finditer(",", text)]
    for cut in cuts:
        k = sum(1 for a, _ in spans if a < cut)
        rest = low[k:]
        if not 1 <= len(rest) <= TAIL_MAX_WORDS or k < 3:
            continue
        if rest[0] in SPEECH_VERBS:
            return range(k, n)  # ', said John Smith, a spokesman.' / ', kata Sullivan.'
        for j in range(1, min(len(rest), TAIL_VERB_WITHIN + 1)):
            # ', police said.' / ', the ministry said in a statement.' / ', Harris said Tuesday.'
            if rest[j] in SPEECH_VERBS and (j + 1 == len(rest) or rest[j + 1] in _ADJUNCT):
                return range(k, n)
    return range(0)
