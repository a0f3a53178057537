"""Small helpers shared by the pipeline tests."""

import math
from collections import Counter

from digest.lang import terms


def cosine(a: str, b: str, lang: str = "id") -> float:
    """Cosine of stemmed content-word counts: how much two sentences say the same."""
    ca, cb = Counter(terms(a, lang)), Counter(terms(b, lang))
    dot = sum(ca[t] * cb[t] for t in ca)
    na = math.sqrt(sum(v * v for v in ca.values()))
    nb = math.sqrt(sum(v * v for v in cb.values()))
    return dot / (na * nb) if na and nb else 0.0


def max_pairwise_cosine(sentences: list[str], lang: str = "id") -> float:
    best = 0.0
    for i in range(len(sentences)):
        for j in range(i + 1, len(sentences)):
            best = max(best, cosine(sentences[i], sentences[j], lang))
    return best


def bergen_fire_reports() -> list:
    """Three reports of one event: the first two share almost nothing (a lone batch each
    keeps them apart), the third tells both halves (it ties them together)."""
    from datetime import UTC, datetime, timedelta

    from digest.models import Article
    from digest.prepare import content_hash

    t0 = datetime(2024, 5, 2, 8, tzinfo=UTC)
    texts = [
        (
            "Fire destroys Bergen harbour warehouse",
            "A fire destroyed a timber warehouse in Bergen harbour on Thursday night. Fire chief "
            "Lars Eide said forty firefighters fought the flames for six hours. Nobody was hurt. "
            "The warehouse belonged to Hansa Timber, which stored export pine there. Smoke closed "
            "the Bryggen quarter until morning.",
        ),
        (
            "Police question night guard after blaze",
            "Police in western Norway questioned a night guard on Friday. Inspector Kari Vik said "
            "the guard had reported a gas smell two hours earlier. Investigators from Oslo arrived "
            "to examine the ruins. Insurers estimated the damage at 80 million kroner.",
        ),
        (
            "Bergen warehouse fire: guard questioned, Hansa Timber counts losses",
            "Police questioned a night guard after the fire that destroyed the Hansa Timber "
            "warehouse in Bergen harbour. Inspector Kari Vik said the guard reported a gas smell "
            "two hours before the flames. Fire chief Lars Eide said forty firefighters fought the "
            "fire for six hours. Insurers estimated the damage at 80 million kroner.",
        ),
    ]
    return [
        Article(
            id=f"bergen-{i}",
            title=title,
            text=text,
            published=t0 + timedelta(hours=3 * i),
            lang="en",
            source="Outlet",
            content_hash=content_hash(text),
        )
        for i, (title, text) in enumerate(texts, 1)
    ]
