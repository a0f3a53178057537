"""What a fetch returns (:class:`FetchResult`) or raises (:class:`FetchError`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.errors import SourceError


class FetchError(SourceError):
    """A URL that could not be fetched; ``str()`` is the one-line reason."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


@dataclass
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # 200 or 304
    content: bytes = b""
    content_type: str = ""  # the MIME type, lower case, no parameters
    charset: str | None = None  # from the Content-Type header
    kind: str = ""  # "html" or "feed"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304
