"""Secrets from Prefect Secret blocks, so they need not sit in the workers' environment.

``NEWSDIGEST_SMTP_PASSWORD_BLOCK=name`` and ``NEWSDIGEST_DATABASE_URL_BLOCK=name`` name a
Secret block (``prefect block create secret``, or ``Secret(value=...).save(name)``) whose value
is used instead of ``NEWSDIGEST_SMTP_PASSWORD`` / ``NEWSDIGEST_DATABASE_URL``. Values are read
in the process that needs them and never become flow parameters, log lines or artifacts.
"""

from __future__ import annotations

from functools import lru_cache

from digest.settings import Settings


class SecretBlockError(RuntimeError):
    """A named Secret block cannot be read; the message says which and what to do."""


@lru_cache(maxsize=16)
def _load(name: str) -> str:
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name).get()
    except ValueError as exc:
        raise SecretBlockError(
            f"cannot read the Prefect Secret block {name!r}: {str(exc).splitlines()[0]} "
            "(create it with `prefect block create secret` or fix the *_BLOCK setting)"
        ) from None
    return str(value)


def smtp_password(settings: Settings) -> str | None:
    if settings.smtp_password_block:
        return _load(settings.smtp_password_block)
    return settings.smtp_password.get_secret_value() if settings.smtp_password else None


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url_block:
        return _load(settings.database_url_block)
    return settings.database_url


def clear_cache() -> None:
    _load.cache_clear()
