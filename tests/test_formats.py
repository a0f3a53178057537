"""digest.formats: the formats A, C and S and the stored summary, read and written in one place."""

import io
import json
import pickle
from datetime import UTC, datetime

import pytest

from digest.errors import InputFormatError, NewsdigestError
from digest.formats import (
    Cluster,
    FormatError,
    StoryRecord,
    SummaryItem,
    article_record,
    cluster_record,
    dump_summary,
    load_summary,
    parse_article,
    parse_cluster,
    parse_story,
    read_json_records,
    read_jsonl,
    story_record,
    write_jsonl,
)
from digest.models import Article, Doc

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_article_round_trip():
    a = Article(
        id="a1",
        title="Gempa di Maluku",
        text="Gempa bumi mengguncang — “kuat”.",
        url="https://x.example/a",
        source="Antara",
        published=WHEN,
        lang="id",
    )
    buf = io.StringIO()
    assert write_jsonl([article_record(a)], buf) == 1
    line = buf.getvalue()
    assert line.endswith("\n") and "“kuat”" in line  # UTF-8 kept, not \\u escapes
    ((where, rec),) = read_jsonl(line)
    assert where == "line 1"
    assert rec["published"] == "2024-05-06T07:08:09+00:00"
    back = parse_article(rec, where)
    assert back == a


def test_article_extra_fields_and_naive_dates_are_utc():
    a = Article(id="a", title="t", text="x", published=datetime(2024, 1, 2, 3))
    rec = article_record(a, near_duplicate_of="b")
    assert rec["near_duplicate_of"] == "b"
    assert rec["published"] == "2024-01-02T03:00:00+00:00"
    assert list(rec)[:7] == ["id", "title", "text", "url", "source", "published", "lang"]


def test_article_requirements_and_types():
    assert parse_article({"text": "x"}).id == ""
    assert parse_article({"id": 7, "text": "x"}).id == "7"  # numeric ids are common
    with pytest.raises(FormatError, match=r"^line 4: missing id, title \(format A\)$"):
        parse_article({"text": "x"}, "line 4", require=("id", "title", "text"))
    bad = [
        ({"text": 5}, '"text" must be a string, not a number'),
        ({"text": "x", "lang": ["id"]}, '"lang" must be a string, not a list'),
        ({"text": "x", "title": {"a": 1}}, '"title" must be a string, not an object'),
        ({"text": "x", "published": 20240506}, '"published" must be a string'),
        ({"text": "x", "url": True}, '"url" must be a string, not true/false'),
        ({"text": "x", "id": [1]}, '"id" must be a string, not a list'),
        ({"title": "no text"}, "missing text (format A)"),
        ([1, 2], "not an article object"),
    ]
    for value, reason in bad:
        with pytest.raises(FormatError) as exc:
            parse_article(value, "line 3")
        assert str(exc.value).startswith(f"line 3: {reason}"), str(exc.value)
        assert exc.value.where == "line 3"


def test_bad_lines_give_their_line_number():
    text = '{"id": "1", "text": "a"}\n\n{oops\n[1]\n{"id": "4", "text": "d"}\n'
    records = read_json_records(text)
    assert [r.where for r in records] == ["line 1", "line 3", "line 4", "line 5"]
    assert records[1].error is not None and str(records[1].error).startswith(
        "line 3: malformed JSON"
    )
    assert records[2].value == [1] and records[2].error is None
    with pytest.raises(FormatError, match=r"^line 3: malformed JSON"):
        read_jsonl(text)
    with pytest.raises(FormatError, match=r"^line 2: not a JSON object$"):
        read_jsonl('{"a": 1}\n"just a string"\n')


def test_one_json_document_is_records_or_one_error():
    records = read_json_records('[{"text": "a"}, {"text": "b"}]', lines=False)
    assert [r.where for r in records] == ["record 1", "record 2"]
    assert [r.where for r in read_json_records('{"text": "a"}', lines=False)] == ["record 1"]
    with pytest.raises(FormatError) as exc:
        read_json_records('{\n "text": ', lines=False)
    assert exc.value.where == "line 2 column 10" and exc.value.reason.startswith("malformed JSON")


def test_cluster_round_trip_and_errors():
    c = Cluster(
        id="c1",
        lang="id",
        docs=[
            Doc(title="A", text="Satu.", published=WHEN, url="https://x.example/1", lang="id"),
            Doc(title="", text="Dua.", lang="id"),
        ],
    )
    rec = json.loads(json.dumps(cluster_record(c)))
    assert parse_cluster(rec, "line 1") == c
    assert parse_cluster({"docs": []}, "line 9", default_id="9").id == "9"
    with pytest.raises(FormatError, match=r'^line 2: no "docs" list \(format C\)$'):
        parse_cluster({"id": "x", "docs": "text"}, "line 2")
    with pytest.raises(FormatError, match=r'^line 2 doc 2: "title" must be a string'):
        parse_cluster({"docs": [{"text": "a"}, {"title": 1, "text": "b"}]}, "line 2")
    with pytest.raises(FormatError, match=r"^line 2 doc 1: not a document object$"):
        parse_cluster({"docs": ["just text"]}, "line 2")


def test_summary_round_trip_and_stored_text():
    items = [SummaryItem("Kalimat satu “kutip”.", "a1", ["a2"]), SummaryItem("Dua.", "a2")]
    stored = dump_summary(items)
    assert "“kutip”" in stored
    assert json.loads(stored)[1] == {"text": "Dua.", "article": "a2", "also": []}
    assert load_summary(stored) == items
    assert load_summary("") == [] and load_summary(None) == []
    assert load_summary('[{"text": "t", "article": "a"}]') == [SummaryItem("t", "a")]  # no also
    with pytest.raises(FormatError, match=r"^sentence 1: \"also\" must be a list"):
        load_summary('[{"text": "t", "article": "a", "also": "b"}]')
    with pytest.raises(FormatError, match="stored summary is malformed JSON"):
        load_summary("[{")


def test_story_round_trip():
    s = StoryRecord(
        id="s1",
        headline="Gempa",
        articles=["a1", "a2"],
        summary=[SummaryItem("Satu.", "a1", ["a2"])],
        first_seen=WHEN,
        last_updated=WHEN,
        closed=True,
    )
    rec = json.loads(json.dumps(story_record(s)))
    assert rec["summary"] == [{"text": "Satu.", "article": "a1", "also": ["a2"]}]
    assert rec["first_seen"] == "2024-05-06T07:08:09+00:00"
    assert parse_story(rec) == s
    with pytest.raises(FormatError, match=r'^record 2: "articles" must be a list of article ids'):
        parse_story({**rec, "articles": "a1"}, "record 2")
    with pytest.raises(FormatError, match=r'^record 2: "closed" must be true or false'):
        parse_story({**rec, "closed": "yes"}, "record 2")


def test_format_errors_are_user_errors_that_survive_pickling():
    err = FormatError("missing title", where="line 2")
    assert isinstance(err, InputFormatError) and isinstance(err, NewsdigestError)
    assert err.one_line().startswith("line 2: missing title; ")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == "line 2: missing title" and back.where == "line 2"
