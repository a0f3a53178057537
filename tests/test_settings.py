"""digest.settings: every setting from NEWSDIGEST_* variables, defaults in one place."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from digest.errors import ConfigError
from digest.settings import Settings, get_settings


def test_defaults_and_environment(settings_env):
    s = get_settings()
    assert s.database_url == "sqlite:///newsdigest.db"
    assert s.out_dir == Path("digests")
    assert s.seeds_dir.name == "seeds" and s.seeds_dir.is_dir()
    settings_env(
        DATABASE_URL="sqlite:///x.db",
        SUMMARY_MAX_WORDS="90",
        EMAIL_TO=" a@x.example, ,b@x.example ",
        EMAIL_RETRY_DELAYS="[1, 2.5]",
        ALLOW_PRIVATE_HOSTS="1",
    )
    s = get_settings()
    assert s.database_url == "sqlite:///x.db" and s.summary_max_words == 90
    assert s.email_recipients == ["a@x.example", "b@x.example"]
    assert s.email_retry_delays == [1.0, 2.5] and s.allow_private_hosts is True


def test_settings_are_read_once_per_process(settings_env):
    first = get_settings()
    assert get_settings() is first
    settings_env(OUT_DIR="elsewhere")
    assert get_settings() is not first and get_settings().out_dir == Path("elsewhere")


def test_wrong_values_are_one_config_error(settings_env):
    settings_env(SMTP_SECURITY="tls13")
    with pytest.raises(ValidationError, match="smtp_security"):
        Settings()
    with pytest.raises(ConfigError) as exc:
        get_settings()
    line = exc.value.one_line()
    assert line.startswith("NEWSDIGEST_SMTP_SECURITY: Input should be 'none', 'starttls' or")
    assert "fix or unset NEWSDIGEST_SMTP_SECURITY" in line and "\n" not in line


def test_wrong_setting_is_one_line_from_the_command_line(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from flows.cli import main; main()", "export", "articles"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NEWSDIGEST_HTTP_RETRIES": "many"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("newsdigest: NEWSDIGEST_HTTP_RETRIES: Input should be")
    assert len(result.stderr.strip().splitlines()) == 1


def test_smtp_password_never_shows():
    s = Settings(smtp_password="hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
