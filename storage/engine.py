"""Engines from a URL, and bringing a database's schema up to date.

A database URL may carry a password: it never appears in a message or a log (every message
shows :func:`safe_url`, and a URL that cannot be parsed is not shown at all).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, create_engine

from digest.errors import DatabaseError

__all__ = [
    "DatabaseURLError",
    "as_utc",
    "check_database",
    "get_engine",
    "normalize_url",
    "open_db",
    "parse_url",
    "safe_url",
    "session",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every newsdigest process.
PG_MIGRATION_LOCK = 7_304_112_023
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
URL_HINT = (
    "use e.g. sqlite:///newsdigest.db or postgresql://user:password@host/db "
    "in --db / NEWSDIGEST_DATABASE_URL"
)
PASSWORD_HINT = (
    "percent-encode special characters of the user name and password "
    "(@ as %40, : as %3A, / as %2F) in --db / NEWSDIGEST_DATABASE_URL"
)


class DatabaseURLError(DatabaseError, ValueError):
    """The database URL cannot be used; the message says what to do."""

    hint = URL_HINT


def normalize_url(url: str) -> str:
    """Plain postgres URLs use psycopg 3, the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _scheme(url: str) -> str:
    head, sep, _ = url.partition("://")
    return f"{head}://..." if sep and head.replace("+", "").isalnum() else "<database URL>"


def parse_url(url: str) -> URL:
    """The parsed URL of a database newsdigest can use, else a DatabaseURLError.

    The message never holds the URL's password, nor a piece of it: a URL that cannot be
    parsed is shown by its scheme only.
    """
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # e.g. "invalid literal for int(): '5432@host'": a piece of the password.
        raise DatabaseURLError(
            f"the database URL {_scheme(url)} cannot be parsed", PASSWORD_HINT
        ) from None
    if parsed.host and "@" in parsed.host:
        raise DatabaseURLError(
            f"the database URL {_scheme(url)} has more than one @", PASSWORD_HINT
        )
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseURLError(
            f"unsupported database URL {safe_url(url)}: newsdigest stores its data in SQLite "
            "or PostgreSQL"
        )
    try:
        is_async = parsed.get_dialect().is_async
    except (ImportError, ArgumentError):
        is_async = False  # an unknown driver: create_engine says so
    if is_async:  # newsdigest runs its queries synchronously
        raise DatabaseURLError(
            f"unsupported database driver in {safe_url(url)}: it is asynchronous",
            "use postgresql:// (psycopg 3) or sqlite:/// in --db / NEWSDIGEST_DATABASE_URL",
        )
    return parsed


def safe_url(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, ValueError):
        return "<invalid database URL>"
    if parsed.host and "@" in parsed.host:
        return _scheme(url)
    return parsed.render_as_string(hide_password=True)


def redact(message: str, url: str) -> str:
    """``message`` with the URL's password (if any) replaced by ***."""
    try:
        password = make_url(normalize_url(url)).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        message = message.replace(str(password), "***")
    return message


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL and a busy timeout for concurrent runs."""
    url = normalize_url(url)
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None and not path.parent.is_dir():
            # Never create folders: a typo in --db would silently start an empty database.
            raise DatabaseURLError(
                f"cannot open the database {safe_url(url)}: the folder {path.parent} "
                "does not exist",
                "create the folder first, or choose another path in --db / NEWSDIGEST_DATABASE_URL",
            )
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ImportError, ArgumentError):  # a driver we do not ship, e.g. postgresql+asyncpg
        raise DatabaseURLError(
            f"unsupported database driver in {safe_url(url)}",
            "use postgresql:// (psycopg 3) or sqlite:/// in --db / NEWSDIGEST_DATABASE_URL",
        ) from None


def _sqlite_path(parsed: URL) -> Path | None:
    """The file of a SQLite URL, None for an in-memory database."""
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database).expanduser()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes (released when the process dies)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied (safe to call from many processes at once)."""
    from alembic import command

    cfg = _alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK})
                conn.commit()
    elif (path := _sqlite_path(engine.url)) is not None:
        # SQLite has no advisory lock: two first runs at once would both create the tables.
        with _file_lock(path.with_name(path.name + ".lock")):
            command.upgrade(cfg, "head")
    else:
        command.upgrade(cfg, "head")


_MIGRATE_LOCK = threading.Lock()
_MIGRATED: set[str] = set()


def open_db(url: str) -> Engine:
    """The engine for ``url``, with the schema brought up to date once per process.

    Thread-safe: Prefect runs tasks in threads, and two of them migrating a fresh database at
    once would both try to create the tables.
    """
    url = normalize_url(url)
    if url not in _MIGRATED:
        with _MIGRATE_LOCK:
            if url not in _MIGRATED:
                try:
                    upgrade(get_engine(url))
                except OSError as exc:  # the lock file of a SQLite database
                    raise DatabaseURLError(
                        f"cannot open the database {safe_url(url)}: {exc.strerror or exc}",
                        "choose a writable folder in --db / NEWSDIGEST_DATABASE_URL",
                    ) from None
                _MIGRATED.add(url)
    return get_engine(url)


def check_database(url: str) -> None:
    """Open the database once (migrating it): a bad URL or an unreachable server is one
    DatabaseError without the password, not a crash in the middle of a run."""
    from alembic.util import CommandError

    try:
        with open_db(url).connect():
            pass
    except CommandError as exc:  # e.g. a schema revision this version does not know
        raise DatabaseError(
            f"cannot migrate the database {safe_url(url)}: {redact(str(exc), url)}",
            "use the newsdigest version that created it, or another database",
        ) from None
    except SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = redact(lines[0] if lines else type(exc).__name__, url)
        raise DatabaseError(f"cannot open the database {safe_url(url)}: {reason}") from None


def session(url: str) -> Session:
    return Session(open_db(url), expire_on_commit=False)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
