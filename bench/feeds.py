"""Thousands of feeds through the ``ingest`` flow: one OPML file of N small feeds (each with
one article page) served on 127.0.0.1, ingested under a temporary Prefect server as the CLI
does. Prints the wall time, the articles stored and the Prefect task runs the flow made, for
feeds batched per task (NEWSDIGEST_FEEDS_PER_TASK, default 20) and, as the baseline in the
same run, one feed per task (the layout before batching).

    .venv/bin/python bench/feeds.py            # 2,000 feeds
    .venv/bin/python bench/feeds.py --feeds 500 --no-baseline
"""

from __future__ import annotations

import argparse
import time

from farm import count_articles, feed_farm, fresh_run


def run_once(opml, feeds_per_task: int, workdir) -> dict:
    from flows.pipeline import ingest
    from tests.feed_farm import count_task_runs

    db = fresh_run(
        workdir, f"feeds-{feeds_per_task}", NEWSDIGEST_FEEDS_PER_TASK=str(feeds_per_task)
    )
    started = time.perf_counter()
    state = ingest(sources=[str(opml)], db_url=db, return_state=True)
    elapsed = time.perf_counter() - started
    report = state.result(raise_on_failure=False)
    tasks = count_task_runs(state.state_details.flow_run_id)
    return {
        "state": state.type.value,
        "seconds": elapsed,
        "stored": count_articles(db),
        "failed sources": len(report.failed_sources) if hasattr(report, "failed_sources") else "?",
        "task runs": sum(tasks.values()),
        "by task": tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--per-task", type=int, default=20)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    with feed_farm(args.feeds, "newsdigest-feeds-", NEWSDIGEST_HTTP_RETRIES="1") as (
        opml,
        tmp,
        _,
    ):
        layouts = [args.per_task] + ([] if args.no_baseline else [1])
        for per_task in layouts:
            r = run_once(opml, per_task, tmp)
            label = f"{per_task} feed{'s' if per_task > 1 else ''} per task"
            print(
                f"{args.feeds} feeds, {label}: {r['state']} in {r['seconds']:.0f} s, "
                f"{r['stored']} articles stored, {r['failed sources']} sources failed, "
                f"{r['task runs']} Prefect task runs {r['by task']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
