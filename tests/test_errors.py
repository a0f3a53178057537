"""digest.errors: one base for every error a user can cause, one line each."""

import pickle

import pytest

from digest.email import EmailConfigError
from digest.errors import (
    ConfigError,
    DatabaseError,
    InputFormatError,
    NewsdigestError,
    OutputError,
    SourceError,
)
from digest.prepare import ArticleRejected
from flows.cli import UserError
from flows.deliver import DeliveryError
from flows.sources.config import SourcesFileError
from flows.sources.feeds import FeedError
from flows.sources.fetch import FetchError
from flows.sources.local import FileRejected
from storage.engine import DatabaseURLError


@pytest.mark.parametrize(
    ("cls", "kind", "also"),
    [
        (UserError, ConfigError, None),
        (SourcesFileError, ConfigError, ValueError),
        (EmailConfigError, ConfigError, ValueError),
        (FeedError, SourceError, ValueError),
        (FileRejected, SourceError, ValueError),
        (FetchError, SourceError, None),
        (DeliveryError, OutputError, RuntimeError),
        (ArticleRejected, InputFormatError, ValueError),
        (DatabaseURLError, DatabaseError, ValueError),
    ],
)
def test_every_user_error_has_the_one_base(cls, kind, also):
    err = cls("something is wrong")
    assert isinstance(err, kind) and isinstance(err, NewsdigestError)
    if also is not None:  # code that caught the old base still catches it
        assert isinstance(err, also)
    assert str(err) == "something is wrong"
    line = err.one_line()
    assert line.startswith("something is wrong; ") and len(line) > len("something is wrong; ")
    assert "\n" not in line


def test_message_and_hint_are_one_line_each():
    err = NewsdigestError("bad\nthing  happened", "do\nthis")
    assert str(err) == "bad thing happened"
    assert err.one_line() == "bad thing happened; do this"
    # A message that already ends with its hint does not repeat it.
    assert NewsdigestError("x: do this", "do this").one_line() == "x: do this"
    assert ConfigError("x").hint != DatabaseError("x").hint  # each kind says what to do


def test_errors_survive_pickling_with_their_hint():
    err = pickle.loads(pickle.dumps(DatabaseURLError("no", "use sqlite")))
    assert isinstance(err, DatabaseURLError) and err.one_line() == "no; use sqlite"
    fetch = pickle.loads(pickle.dumps(FetchError("HTTP 503", retryable=True, status=503)))
    assert fetch.reason == "HTTP 503" and fetch.retryable and fetch.status == 503
