"""Canonical article URLs: one spelling per article, without tracking parameters."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = [
    "canonical_from_html",
    "canonical_url",
    "canonicalize_url",
    "is_tracking_param",
    "same_site",
]

# Query parameters that only say who sent the reader (analytics, ads, newsletters).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "cmpid",
        "ncid",
        "ocid",
        "sr_share",
        "ref_src",
        "ref_url",
        "spm",
        "_ga",
        "_gl",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "xtor",
        "ito",
        "cmp",
        "smid",
        "ref",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "ga_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_CANONICAL_LINK = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.I)
_OG_URL = re.compile(r"<meta\b[^>]*\bproperty\s*=\s*[\"']og:url[\"'][^>]*>", re.I)
_HREF = re.compile(r"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)
_CONTENT = re.compile(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)
HEAD_SCAN_CHARS = 200_000


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters.

    The path and the order of the remaining parameters are kept: servers may care.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


def _attr(pattern: re.Pattern[str], tag: str) -> str | None:
    m = pattern.search(tag)
    if not m:
        return None
    value = next((g for g in m.groups() if g is not None), "").strip()
    return value or None


def canonical_from_html(html: str, base_url: str) -> str | None:
    """The page's own idea of its URL: ``<link rel=canonical>``, else ``og:url``."""
    head = html[:HEAD_SCAN_CHARS]
    for pattern, attr in ((_CANONICAL_LINK, _HREF), (_OG_URL, _CONTENT)):
        for tag in pattern.findall(head):
            value = _attr(attr, tag)
            if value:
                absolute = urljoin(base_url, value)
                if urlsplit(absolute).scheme in _DEFAULT_PORTS:
                    return absolute
    return None


def canonical_url(fetched_url: str, html: str | None = None) -> str:
    """The canonical URL of a fetched page: its declared canonical on the same site, else the
    URL it was fetched from; tracking parameters removed either way.

    A canonical pointing at another registrable site is ignored: a page cannot claim
    another outlet's identity (syndication partners do that, and it would merge outlets).
    """
    declared = canonical_from_html(html, fetched_url) if html else None
    if declared and same_site(declared, fetched_url):
        return canonicalize_url(declared)
    return canonicalize_url(fetched_url)


_SECOND_LEVEL = {"co", "com", "or", "ac", "go", "net", "org", "gov", "web", "my", "ne", "sch"}


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    labels = host.split(".")
    # Good enough without a public-suffix list: the last two labels, three for "co.id" etc.
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_site(a: str, b: str) -> bool:
    return _site(a) == _site(b)
