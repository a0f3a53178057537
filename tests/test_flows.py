"""The Prefect flows under Prefect's test harness: seeds, re-run, email, artifact."""

import email
import email.policy
import shutil
from pathlib import Path

from storage import repo
from storage.engine import session
from tests.debris import debris_in


def _artifact_markdown(key: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:  # the latest version of the key
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    return found[0].data if found else None


def test_daily_digest_flow_on_the_seeds(
    prefect_harness, settings_env, sqlite_url, seeds_dir, tmp_path, smtp_sink
):
    from flows.pipeline import ARTIFACT_KEY, daily_digest

    sink, port = smtp_sink
    settings_env(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        EMAIL_TO="reader@example.com",
        EMAIL_FROM="digest@example.com",
    )
    source = tmp_path / "seeds"
    shutil.copytree(seeds_dir, source)
    out = tmp_path / "digests"

    first = daily_digest(sources=[str(source)], db_url=sqlite_url, out_dir=str(out))
    assert first["ingest"]["new"] == 5 and first["ingest"]["failed"] == 0
    assert first["digest"]["stories"] == 1
    assert first["digest"]["emailed"] == 1
    md = _artifact_markdown(ARTIFACT_KEY)
    assert md is not None and debris_in(md) == [] and "## 1." in md

    second = daily_digest(sources=[str(source)], db_url=sqlite_url, out_dir=str(out))
    assert second["ingest"]["new"] == 0 and second["ingest"]["duplicate"] == 5
    assert second["digest"]["stories"] == 0
    with session(sqlite_url) as s:
        assert repo.count_articles(s) == 5
        stories = list(repo.export_stories(s))
    assert len(stories) == 1 and len(stories[0]["articles"]) == 5
    summary = [item["text"] for item in stories[0]["summary"]]
    assert summary and sum(len(t.split()) for t in summary) <= 150
    assert all(debris_in(t) == [] for t in summary)
    assert "Nothing new" in Path(second["digest"]["path"]).read_text(encoding="utf-8")

    assert len(sink.messages) == 1, "nothing new: no second email"
    msg = email.message_from_bytes(sink.messages[0].content, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert debris_in(msg.get_body(("plain",)).get_content()) == []


def test_email_failure_is_reported_and_the_digest_still_written(
    prefect_harness, settings_env, sqlite_url, seeds_dir, tmp_path
):
    from flows.pipeline import daily_digest, state_data

    settings_env(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=1,
        EMAIL_FROM="digest@example.com",
        EMAIL_TO="reader@example.com",
        EMAIL_RETRY_DELAYS="[0]",
    )
    state = daily_digest(
        sources=[str(seeds_dir)], db_url=sqlite_url, out_dir=str(tmp_path), return_state=True
    )
    assert state.is_failed() and "not emailed" in state.message
    result = state_data(state)  # a Failed run still carries its result
    assert result["digest"]["stories"] == 1
    assert "127.0.0.1:1" in result["digest"]["email_error"]
    assert result["digest"]["pending_emails"] == 1
    assert (tmp_path / "latest.md").exists()
