"""Rendering and email: hostile article text stays text; the email is proper and deliverable."""

import email
import email.policy
from datetime import UTC, datetime

import pytest

from digest.email import EmailConfigError, build_message
from digest.render import (
    DigestView,
    SentenceView,
    SourceRef,
    StoryView,
    escape_markdown,
    render_html,
    render_markdown,
    render_text,
)
from digest.settings import Settings
from flows.deliver import DeliveryError, send_digest_email

NOW = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
EVIL = '<script>alert("x")</script> [click](javascript:alert(1)) **bold** <img src=x onerror=y>'


def _view(
    headline: str = "Harris warns North Korea", sentence: str = "Harris spoke."
) -> DigestView:
    story = StoryView(
        id="s-1",
        headline=headline,
        sentences=[SentenceView(text=sentence, sources=[1, 2], article_id="a-1")],
        sources=[
            SourceRef("a-1", "Tempo", "Title one", "https://tempo.example/1", NOW),
            SourceRef("a-2", "Evil <b>Outlet</b>", "Title two", "javascript:alert(1)", None),
        ],
        first_seen=NOW,
        last_updated=NOW,
    )
    return DigestView(generated_at=NOW, stories=[story])


def test_markdown_escapes_hostile_text():
    md = render_markdown(_view(headline=EVIL, sentence=EVIL))
    assert "<script>" not in md and "<img" not in md
    assert "[click](javascript" not in md
    assert "**bold**" not in md
    assert "[\\[1\\]](<https://tempo.example/1>) \\[2\\]" in md, "citations link the articles"
    assert "](<https://tempo.example/1>)" in md
    assert "javascript:alert(1)>" not in md, "only http(s) links become links"


def test_html_escapes_hostile_text_and_inlines_css():
    html = render_html(_view(headline=EVIL, sentence=EVIL))
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://tempo.example/1"' in html
    assert 'style="' in html, "CSS is inlined for mail clients"
    # Only the phone-width rules stay in a <style> element.
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert style.strip().startswith("@media") and "a.cite { padding: 15px 12px" in style


def test_text_rendering():
    text = render_text(_view())
    assert "Harris warns North Korea" in text and "https://tempo.example/1" in text


def test_empty_digest_says_nothing_new():
    view = DigestView(generated_at=NOW, previous_at=NOW)
    assert "Nothing new" in render_markdown(view)
    assert "Nothing new" in render_text(view)


def test_escape_markdown_keeps_plain_words():
    assert escape_markdown("Korea Utara (Korut) 8/9/2023") == "Korea Utara (Korut) 8/9/2023"
    assert escape_markdown("- not a list") == "\\- not a list"


def test_message_is_multipart_alternative_without_header_injection():
    msg = build_message(
        _view(headline="Big\r\nBcc: victim@example.com"),
        "nd@example.com",
        ["a@example.com", "B <b@example.com>"],
    )
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert "\n" not in msg["Subject"] and "Bcc" not in msg
    with pytest.raises(EmailConfigError):
        build_message(_view(), "nd@example.com", ["a@example.com\r\nBcc: x@example.com"])
    with pytest.raises(EmailConfigError):
        build_message(_view(), "nd@example.com", [])


def test_email_delivered_to_a_real_smtp_server(smtp_sink):
    sink, port = smtp_sink
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_from="digest@example.com",
        email_to="one@example.com, two@example.com",
    )
    assert send_digest_email(_view(sentence="Kim akan bertemu Putin."), settings) == 2
    assert len(sink.messages) == 1
    env = sink.messages[0]
    assert sorted(env.rcpt_tos) == ["one@example.com", "two@example.com"]
    msg = email.message_from_bytes(env.content, policy=email.policy.default)
    assert msg.get_body(("plain",)).get_content().count("Kim akan bertemu Putin.") == 1
    assert "Kim akan bertemu Putin." in msg.get_body(("html",)).get_content()


def test_unreachable_smtp_server_is_one_clear_error():
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=1,
        email_from="digest@example.com",
        email_to="a@example.com",
        smtp_user="u",
        smtp_password="hunter2",
    )
    with pytest.raises(DeliveryError) as exc:
        send_digest_email(_view(), settings)
    assert "127.0.0.1:1" in str(exc.value) and "hunter2" not in str(exc.value)


# --- links from hostile urls, sections, one-liners, email headers ----------------------------

INJECTED_URL = "https://ok.example/a\n> quoted\n[x](javascript:alert(1)) )<b>"


def _story(n: int, outlets: list[str], url: str | None = None, **kw) -> StoryView:
    return StoryView(
        id=f"s-{n}",
        headline=f"Headline {n}",
        sentences=[SentenceView(text=f"Sentence {n}.", sources=[1], article_id=f"a-{n}")],
        sources=[
            SourceRef(f"a-{n}-{i}", o, f"Title {n}", url or f"https://x.example/{n}/{i}", NOW)
            for i, o in enumerate(outlets)
        ],
        first_seen=NOW,
        last_updated=NOW,
        **kw,
    )


def test_a_hostile_url_stays_inside_its_link():
    view = DigestView(generated_at=NOW, stories=[_story(1, ["A"], INJECTED_URL)])
    view.brief = [_story(2, ["B"], INJECTED_URL)]
    md = render_markdown(view)
    assert not any(line.startswith(">") for line in md.splitlines()), md
    assert "](javascript" not in md and "\n[x]" not in md
    assert "https://ok.example/a%0A%3E%20quoted%0A%5Bx%5D%28javascript:alert%281%29%29%20" in md
    text = render_text(view)
    assert not any(line.lstrip().startswith(("> quoted", "[x]")) for line in text.splitlines())
    html = render_html(view)
    assert "<b>" not in html and 'href="https://ok.example/a%0A' in html
    # Anything not http(s) is no link at all.
    bad = DigestView(generated_at=NOW, stories=[_story(3, ["C"], " javascript:alert(1)")])
    assert "javascript" not in render_html(bad).split("<body", 1)[1].split("Title 3")[0]


def test_sections_by_tag_then_language_with_one_line_entries():
    stories = [
        _story(1, ["A", "B"], section="World", lang="en"),
        _story(2, ["C"], section="Indonesia", lang="id"),
        _story(3, ["D"], section="World", lang="de"),
    ]
    brief = [_story(4, ["E", "F"], section="", lang="en", is_new=False)]
    view = DigestView(generated_at=NOW, stories=stories, brief=brief, by_language=True)
    md = render_markdown(view)
    assert md.index("## World") < md.index("### English") < md.index("### Deutsch")
    assert md.index("### Deutsch") < md.index("## Indonesia") < md.index("## Other")
    assert "- 4. [Headline 4](<https://x.example/4/0>) · E, F · updated" in md
    assert "**Contents**" in md and "4 stories (3 new, 1 updated)" in md
    assert [s.number for s in view.all_stories] == [1, 3, 2, 4]
    html = render_html(view)
    assert "#story-" not in html, "no in-page links in an email"
    page = render_html(DigestView(**{**view.__dict__, "archive_index": "index.html"}))
    assert 'href="#story-1"' in page and 'href="index.html"' in page


def test_language_of_the_html_is_the_digests():
    view = DigestView(
        generated_at=NOW,
        stories=[_story(1, ["A"], lang="id"), _story(2, ["B"], lang="id")],
        brief=[_story(3, ["C"], lang="en")],
    )
    assert '<html lang="id">' in render_html(view)
    assert build_message(view, "d@example.org", ["r@example.org"])["Content-Language"] == "id"


def test_email_requires_a_sender_and_carries_list_headers():
    with pytest.raises(EmailConfigError, match="NEWSDIGEST_EMAIL_FROM is not set"):
        build_message(_view(), "", ["a@example.com"])
    msg = build_message(
        _view(), "d@example.org", ["a@example.com"], unsubscribe="https://x.example/u?id=1"
    )
    assert msg["List-Unsubscribe"] == "<https://x.example/u?id=1>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Auto-Submitted"] == "auto-generated"
    with pytest.raises(EmailConfigError, match="EMAIL_UNSUBSCRIBE"):
        build_message(_view(), "d@example.org", ["a@example.com"], unsubscribe="javascript:x")
    assert Settings().email_from == "", "no @localhost default"


def test_cli_says_in_one_line_that_the_sender_is_missing(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    env.update(NEWSDIGEST_EMAIL_TO="r@example.org", NEWSDIGEST_SMTP_HOST="127.0.0.1")
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "newsdigest"),
            "digest",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "newsdigest: NEWSDIGEST_EMAIL_TO is set but NEWSDIGEST_EMAIL_FROM is not; set the "
        "sender address, e.g. NEWSDIGEST_EMAIL_FROM=digest@example.org"
    ]
    assert not list(tmp_path.glob("out/digest-*")), "checked before any work"


def test_phone_sized_tap_targets_in_the_email_html():
    html = render_html(_view())
    phone = html.split("@media (max-width: 600px)", 1)[1].split("</style>", 1)[0]
    # 13 px text (about 15 px tall) + 2 x 15 px padding: 45 px; 15 px links + 2 x 14 px: 45 px
    assert "a.cite { padding: 15px 12px !important" in phone
    assert "ol.sources a { padding: 14px 0 !important" in phone
    assert "ul.brief a { padding: 14px 0 !important" in phone


def test_notification_is_short_and_safe():
    from digest.render import render_notification

    view = DigestView(
        generated_at=NOW,
        stories=[_story(n, ["A", "B"]) for n in range(1, 4)],
        brief=[_story(n, ["C"]) for n in range(4, 10)],
    )
    title, body = render_notification(view, 2, "https://news.example.org/d.html")
    assert title == "News digest 2024-05-06: 9 stories"
    assert body.splitlines() == [
        "- [Headline 1](<https://x.example/1/0>) (A, B)",
        "- [Headline 2](<https://x.example/2/0>) (A, B)",
        "and 7 more",
        "Full digest: https://news.example.org/d.html",
    ]
