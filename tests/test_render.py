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
    assert style.strip().startswith("@media") and "min-height: 44px" in style


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
