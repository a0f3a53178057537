"""Errors a user can cause, and can fix: one base class, one line each.

Every such error is a :class:`NewsdigestError` with a one-line ``message`` (what went wrong)
and a one-line ``hint`` (what to do). The command line prints
``newsdigest: <message>; <hint>`` on stderr and exits with code 2, never with a traceback.
Errors of one item (a file, a page, a feed entry) are subclasses too: the pipeline catches
them, logs them once and counts them, and the run goes on.

Programming errors (bugs) are *not* NewsdigestErrors: they keep their traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "InputFormatError",
    "NewsdigestError",
    "OutputError",
    "SourceError",
]


class NewsdigestError(Exception):
    """Something the user can fix: ``str(exc)`` is what went wrong, ``exc.hint`` what to do."""

    hint: str = "see newsdigest --help"

    def __init__(self, message: str, hint: str | None = None) -> None:
        # Both in args, so the error survives pickling (Prefect moves exceptions between
        # processes and threads).
        super().__init__(message, hint) if hint is not None else super().__init__(message)
        self.message = " ".join(str(message).split())  # one line, whatever the cause said
        if hint is not None:
            self.hint = " ".join(str(hint).split())

    def __str__(self) -> str:
        return self.message

    def one_line(self) -> str:
        """``<what went wrong>; <what to do>`` (the hint is left out when the message ends
        with it already)."""
        if not self.hint or self.message.endswith(self.hint):
            return self.message
        return f"{self.message}; {self.hint}"


class ConfigError(NewsdigestError):
    """A setting, the sources file or a command-line option cannot be used."""

    hint = "check the command-line options and the NEWSDIGEST_* settings"


class SourceError(NewsdigestError):
    """A source (file, folder, feed, page) cannot be read."""

    hint = "check the source: the path or URL, and that it holds articles"


class DatabaseError(NewsdigestError):
    """The database cannot be opened or used."""

    hint = "check --db / NEWSDIGEST_DATABASE_URL"


class OutputError(NewsdigestError):
    """The digest cannot be written or delivered."""

    hint = "check --out / NEWSDIGEST_OUT_DIR and the mail settings"


class InputFormatError(NewsdigestError):
    """A file in one of the formats A, C or S (or a record in it) is not well formed."""

    hint = "see the file formats A, C and S in the README"
