"""Response bodies: content types, decompression in bounded pieces, character sets."""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator

from flows.sources.fetch.errors import FetchError

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
        "application/feed+json",
    }
)
# Served for anything by misconfigured servers: the body decides.
SNIFF_TYPES = frozenset(
    {"", "text/plain", "application/octet-stream", "binary/octet-stream", "application/json"}
)

META_SNIFF_BYTES = 4096

# Compressed bodies are decoded at most this many bytes at a time.
DECODE_PIECE_BYTES = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.I)


class BodyDecoder:
    """A Content-Encoding decoder that yields at most DECODE_PIECE_BYTES per piece."""

    def __init__(self, header: str) -> None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported content encoding {header.strip()[:40]}")
        self.coding = codings[0] if codings else None
        self._z = None
        if self.coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.coding == "deflate":
            self._z = zlib.decompressobj()
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            yield data
            return
        try:
            piece = self._z.decompress(data, DECODE_PIECE_BYTES)
        except zlib.error:
            if self.coding == "deflate" and self._first:  # raw deflate, no zlib header
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                yield from self.feed(data)
                return
            raise FetchError(f"body is not valid {self.coding} data") from None
        self._first = False
        yield piece
        while self._z.unconsumed_tail:
            try:
                piece = self._z.decompress(self._z.unconsumed_tail, DECODE_PIECE_BYTES)
            except zlib.error:
                raise FetchError(f"body is not valid {self.coding} data") from None
            yield piece

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        try:
            return self._z.flush(DECODE_PIECE_BYTES)
        except zlib.error:  # pragma: no cover
            return b""


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def meta_charset(content: bytes) -> str | None:
    """The encoding a page's ``<meta charset>`` declares, if any."""
    m = _META_CHARSET.search(content[:META_SNIFF_BYTES])
    return _codec(m.group(1).decode("ascii", "ignore")) if m else None


def decode_body(
    content: bytes, header_charset: str | None, *, html: bool = True
) -> tuple[str, str]:
    """Text and the encoding used: BOM, then the header's charset, then ``<meta charset>``,
    then UTF-8, then a detected encoding; never raises."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if content.startswith(bom):
            return content.decode(enc, errors="replace"), enc
    candidates: list[str] = []
    declared = _codec(header_charset)
    if declared:
        candidates.append(declared)
    if html:
        meta = meta_charset(content)
        if meta and meta not in candidates:
            candidates.append(meta)
    # Charsets that lie. UTF-16/32 without a BOM on a body with no NUL bytes is ASCII-based
    # text (decoding it as UTF-16 would make it CJK noise); a body that is valid UTF-8 and not
    # plain ASCII is UTF-8 whatever a legacy charset claims (valid multi-byte UTF-8 does not
    # happen by chance in windows-1252 or ISO-8859 text).
    head = content[:1024]
    candidates = [
        c for c in candidates if not (c.startswith(("utf-16", "utf-32")) and b"\0" not in head)
    ]
    if candidates and candidates[0] != "utf-8" and not content.isascii():
        try:
            return content.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    if "utf-8" not in candidates:
        candidates.append("utf-8")
    for enc in candidates:
        try:
            return content.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(content[:200_000]).best()
        wide = best is not None and best.encoding.startswith(("utf_16", "utf_32"))
        if best is not None and best.encoding and not (wide and b"\0" not in head):
            return content.decode(best.encoding, errors="replace"), best.encoding
    except ImportError:  # pragma: no cover - trafilatura depends on it
        pass
    return content.decode("windows-1252", errors="replace"), "windows-1252"


def sniff_kind(content: bytes) -> str | None:
    """'feed', 'html' or None from the first bytes of a body."""
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml"):
        if re.search(rb"<html[\s>]", head):
            return "html"
        return "feed"
    if re.match(rb"<(rss|feed|rdf:rdf)[\s>]", head):
        return "feed"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "html"
    if head.startswith(b"{") and b'"version"' in head and b"jsonfeed" in head:
        return "feed"
    return None


def classify_type(content_type: str) -> str | None:
    if content_type in HTML_TYPES:
        return "html"
    if content_type in FEED_TYPES or content_type.endswith(("+xml", "/xml")):
        return "feed"
    return None
