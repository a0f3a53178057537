"""Language identification, word tokens, stemmers and stop words, all offline.

Indonesian and English are first-class; any other language falls back to lowercase tokens
with no stemming (and snowball stemming where snowball has the language), never an error.
Folding, words, stop words, stemming and content terms live in the text core
(``digest.text``) and are re-exported here for the modules that import them from here.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from digest.text import (  # noqa: F401  (re-exported: the text core's names used with these)
    WORD_RE,
    fold,
    normalize_lang,
    stemmer,
    stop_words,
    terms,
    words,
)

# py3langid scores are log-probabilities; below this normalised confidence we say "unknown".
# Calibrated by hand on the seeds and one-line English/Indonesian titles: real articles score
# above 0.99, gibberish and number soup below 0.5.
LANG_MIN_CONFIDENCE = 0.5
LANG_SAMPLE_CHARS = 2000  # enough text for a stable answer, bounded cost on huge articles


_IDENTIFIER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _identifier():
    # Loading the model takes a second and about 100 MB: threads that need it at once (the
    # ingest prepares articles in its fetch threads) wait for one load, not each do their own.
    with _IDENTIFIER_LOCK:
        return _load_identifier()


@lru_cache(maxsize=1)
def _load_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when the guess is not confident."""
    sample = text[:LANG_SAMPLE_CHARS]
    if len(WORD_RE.findall(sample)) < 3:
        return None
    code, prob = _identifier().classify(sample)
    if prob < LANG_MIN_CONFIDENCE:
        return None
    # langid tells Malay from Indonesian poorly; news in Latin-script Malay/Indonesian is
    # handled by the same Indonesian tools either way.
    return "id" if code == "ms" else code


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Chinese and Japanese have no spaces between words: about two characters make a word.
CJK_CHARS_PER_WORD = 2


def word_count(text: str) -> int:
    """Words in ``text``; for scripts without spaces, characters / CJK_CHARS_PER_WORD."""
    n = len(text.split())
    cjk = len(_CJK.findall(text))
    return max(n, cjk // CJK_CHARS_PER_WORD) if cjk else n
