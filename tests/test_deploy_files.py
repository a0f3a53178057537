"""The deployment files, checked without Docker: deploy/compose.yaml against the Compose
specification (the compose-spec package: the Rust compose_spec types, strict about keys and
types) plus the references between its parts; deploy/prefect.yaml and the Dockerfile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_file_follows_the_compose_specification():
    from compose_spec import PyCompose

    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    parsed = PyCompose.from_yaml(text)
    assert {"postgres", "prefect-server", "worker", "deployer"} <= set(parsed.service_names())
    # The validator is strict: a misspelt key or a wrong type is refused.
    for broken in (
        text.replace("depends_on:", "depend_on:", 1),
        text.replace("retries: 20", "retries: many"),
    ):
        with pytest.raises(ValueError):
            PyCompose.from_yaml(broken)


def test_compose_references_resolve(compose):
    services = compose["services"]
    volumes = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for dep in svc.get("depends_on") or []:
            assert dep in services, f"{name} depends on unknown service {dep}"
        for vol in svc.get("volumes") or []:
            source = vol.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in volumes, f"{name}: named volume {source} is not declared"
        build = svc.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file(), name
    deployer = services["deployer"]["command"]
    prefect_file = re.search(r"--prefect-file (\S+)", deployer).group(1).rstrip('";')
    assert (ROOT / prefect_file).is_file()
    pool = yaml.safe_load((ROOT / prefect_file).read_text())["deployments"][0]["work_pool"]["name"]
    assert f"work-pool create {pool} " in deployer
    assert f'"--pool", "{pool}"' in (DEPLOY / "Dockerfile").read_text()


def test_compose_holds_no_secrets(compose):
    """Passwords come from the host's environment (or Prefect Secret blocks), never literals."""
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        if re.search(r"PASSWORD\s*:", line):
            assert "${" in line, line
    for url in re.findall(r"postgres(?:ql)?(?:\+\w+)?://[^\s\"']+", text):
        assert "${POSTGRES_PASSWORD" in url, url


def test_prefect_yaml_needs_no_hidden_variable():
    text = (DEPLOY / "prefect.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert "{{ $" not in text  # no environment variable the README does not set
    assert not config.get("pull")  # prefect deploy records the checkout it runs in
    (deployment,) = config["deployments"]
    from flows.cli import SERVE_DEPLOYMENT

    assert deployment["name"] != SERVE_DEPLOYMENT
    assert deployment["concurrency_limit"] == 1
    path, func = deployment["entrypoint"].split(":")
    assert f"def {func}(" in (ROOT / path).read_text(encoding="utf-8")
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any(
        "prefect --no-prompt deploy --all --prefect-file deploy/prefect.yaml" in ln for ln in header
    )
