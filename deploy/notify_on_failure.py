"""Create (or replace) the Prefect automation that notifies when a newsdigest run ends
Failed or Crashed (every source failed, the digest not delivered, a crash).

It sends through a Prefect notification block you create once (Slack, Teams, email via
SendGrid, a custom webhook...), e.g.:

    python -c "from prefect.blocks.notifications import SlackWebhook; \
SlackWebhook(url='https://hooks.slack.com/services/...').save('newsdigest-alerts')"
    python deploy/notify_on_failure.py --block newsdigest-alerts

Needs PREFECT_API_URL (automations live on a Prefect server). Running it again replaces the
automation of the same name.
"""

from __future__ import annotations

import argparse

AUTOMATION_NAME = "newsdigest: notify on failed runs"
FLOWS = ("daily_digest", "ingest", "make_digest")
BODY = (
    "newsdigest run {{ flow_run.name }} ({{ flow.name }}) ended "
    "{{ flow_run.state.name }}: {{ flow_run.state.message }}"
)


def create_automation(block_name: str, flows: tuple[str, ...] = FLOWS):
    """The automation, created on the server (an older one of the same name is replaced)."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture

    with get_client(sync_client=True) as client:
        docs = [d for d in client.read_block_documents() if d.name == block_name]
    if not docs:
        raise SystemExit(f"no notification block named {block_name!r}: create one first")
    block_id = docs[0].id
    try:
        old = Automation.read(name=AUTOMATION_NAME)
    except ValueError:
        old = None
    if old is not None:
        old.delete()
    return Automation(
        name=AUTOMATION_NAME,
        description="A newsdigest flow run ended Failed or Crashed.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(flows)},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="newsdigest run failed",
                body=BODY,
            )
        ],
    ).create()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", required=True, help="Name of a Prefect notification block.")
    args = parser.parse_args()
    automation = create_automation(args.block)
    print(f"automation {automation.name!r} created ({automation.id})")


if __name__ == "__main__":
    main()
