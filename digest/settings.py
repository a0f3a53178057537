"""The one source of truth for configuration: ``NEWSDIGEST_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from digest.errors import ConfigError

__all__ = [
    "Settings",
    "get_settings",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# A story closes this many days after its last article (the grouping's default too).
STORY_QUIET_DAYS = 3.0
# Summary budget: the defaults of the settings below and of ``digest.summarize.summarize``.
SUMMARY_MAX_WORDS = 150
SUMMARY_MAX_SENTENCES = 6


def _default_seeds_dir() -> Path:
    """The project's seeds/ folder when running from a checkout, else ./seeds."""
    bundled = PROJECT_ROOT / "seeds"
    return bundled if bundled.is_dir() else Path("seeds")


class Settings(BaseSettings):
    """Every setting can be given as ``NEWSDIGEST_<NAME>`` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="NEWSDIGEST_", extra="ignore")

    # Storage and output
    database_url: str = "sqlite:///newsdigest.db"
    out_dir: Path = Path("digests")
    seeds_dir: Path = Field(default_factory=_default_seeds_dir)
    sources_file: Path | None = None

    # Local files
    max_file_bytes: int = 5 * MB

    # Fetching (used by the web sources)
    allow_private_hosts: bool = False
    user_agent: str = "newsdigest/0.1 (+https://github.com/newsdigest/newsdigest)"
    contact: str = ""
    http_timeout_seconds: float = 15.0
    http_max_bytes: int = 5 * MB
    http_max_redirects: int = 5
    http_retries: int = 3
    http_backoff_seconds: float = 1.0
    http_backoff_max_seconds: float = 30.0
    per_host_concurrency: int = 2
    per_host_delay_seconds: float = 1.0
    max_concurrency: int = 8
    # A site's robots.txt is kept between runs and used without asking for this long when its
    # response sets no Cache-Control max-age (at most 24 h, RFC 9309); then asked for again
    # with a conditional GET.
    robots_max_age_seconds: float = 24 * 3600.0
    # Article pages are extracted (CPU-bound) in this many worker processes, so fetching and
    # extracting use every core; 0 = one per core, 1 = in the fetching process (no pool).
    extract_processes: int = 0

    # Feeds fetched per Prefect task (grouped per host): 5,000 feeds make ~250 load tasks.
    feeds_per_task: int = 20

    # Source health (storage/health.py): a failing source is tried again after
    # backoff * 2**(failures-1) seconds (capped), and skipped after this many failures in a
    # row until `newsdigest sources enable NAME`; 0 never suspends.
    source_max_failures: int = 5
    source_backoff_seconds: float = 300.0
    source_backoff_max_seconds: float = 86400.0

    # Where Prefect runs the fetch and extraction tasks: "default" (threads in the flow's
    # process) or "dask" (prefect-dask: a local cluster of dask_workers processes, or the
    # scheduler at dask_address).
    task_runner: Literal["default", "dask"] = "default"
    dask_address: str | None = None
    dask_workers: int = 2
    # Where the per-host limits above hold: "local" (per process), "prefect" (across every
    # process: Prefect global concurrency limits "newsdigest-host:<host>", and
    # "newsdigest-host-rate:<host>" for the delay, whenever a Prefect API is configured), or
    # "auto" ("prefect" with the dask task runner, else "local"). See deploy/README.md.
    host_limits: Literal["auto", "local", "prefect"] = "auto"

    # Secrets from Prefect Secret blocks (names), instead of the variables above/below.
    database_url_block: str | None = None
    smtp_password_block: str | None = None

    # Stories and digests
    story_quiet_days: float = STORY_QUIET_DAYS
    summary_max_words: int = SUMMARY_MAX_WORDS
    summary_max_sentences: int = SUMMARY_MAX_SENTENCES
    # Stories shown in full (headline, summary, sources); every other new or updated story
    # is listed in one line (headline, outlets, link). Order: digest/rank.py.
    digest_max_stories: int = 30
    # Split each section of the digest by language (Bahasa Indonesia, English, ...).
    digest_by_language: bool = False
    # The digest's title (HTML, email subject, Atom feed).
    digest_title: str = "News digest"
    # Where the output folder is published (https://news.example.org/digests/): makes the
    # Atom feed's and the notifications' links absolute. Unset: links relative to the folder.
    public_url: str | None = None
    # Digests listed in the archive's Atom feed (the newest).
    feed_max_entries: int = 30
    # Apprise URLs (comma or space separated): a short digest to chat and push services,
    # e.g. "slack://T/B/C, tgram://token/chat, ntfy://host/topic, json://host/path".
    notify_urls: str = ""
    # Headlines in a chat/push notification.
    notify_max_stories: int = 5

    # Email
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 30.0
    email_from: str = ""  # required when EMAIL_TO is set
    email_to: str = ""
    # Send a digest with no story (default: no email when nothing is new).
    email_empty: bool = False
    # List-Unsubscribe target: a mailto: or https: URL (default: mailto the sender).
    email_unsubscribe: str = ""
    # Seconds to wait before each new attempt when the SMTP server fails (one per retry).
    email_retry_delays: list[float] = Field(default_factory=lambda: [10.0, 60.0])

    @property
    def email_recipients(self) -> list[str]:
        return [a.strip() for a in self.email_to.split(",") if a.strip()]

    @property
    def notify_targets(self) -> list[str]:
        return [u for u in self.notify_urls.replace(",", " ").split() if u]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests call ``get_settings.cache_clear()``.

    A value that cannot be used is a ConfigError naming the variable (one line).
    """
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "NEWSDIGEST_" + "_".join(str(p) for p in first["loc"]).upper()
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"{name}: {first['msg']}{more}", f"fix or unset {name} (see the README)"
        ) from None
