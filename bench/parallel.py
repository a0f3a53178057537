"""The same ingest workload with the default task runner (threads in the flow's process) and
with a local Dask cluster of 2 worker processes (NEWSDIGEST_TASK_RUNNER=dask): N small feeds
(one article page each) served on 127.0.0.1, fetched, extracted and stored into a fresh SQLite
file each time, under a Prefect server of the bench's own (PREFECT_API_URL, as a deployment
has). Prints the wall times.

With Dask the per-host limits hold across the workers (Prefect global concurrency limits,
NEWSDIGEST_HOST_LIMITS=auto); the third run, Dask with each worker's own limits
(NEWSDIGEST_HOST_LIMITS=local), shows what the global limits cost.

    .venv/bin/python bench/parallel.py              # 400 feeds
    .venv/bin/python bench/parallel.py --feeds 1000 --per-host 2
"""

from __future__ import annotations

import argparse
import time

from farm import count_articles, feed_farm, fresh_run, prefect_server

RUNS = (
    ("default", "auto", "default task runner (threads), per-host limits in the process"),
    ("dask", "auto", "Dask LocalCluster, 2 workers, per-host limits on Prefect (global)"),
    ("dask", "local", "Dask LocalCluster, 2 workers, per-host limits per worker (local)"),
)


def run_once(opml, workdir, runner_name: str, host_limits: str) -> dict:
    from digest.settings import get_settings
    from flows.pipeline import ingest
    from flows.runners import make_task_runner

    db = fresh_run(
        workdir,
        f"parallel-{runner_name}-{host_limits}",
        NEWSDIGEST_TASK_RUNNER=runner_name,
        NEWSDIGEST_HOST_LIMITS=host_limits,
    )
    runner = make_task_runner(get_settings())
    started = time.perf_counter()
    state = ingest.with_options(task_runner=runner)(
        sources=[str(opml)], db_url=db, return_state=True
    )
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "stored": count_articles(db), "state": state.type.value}


def host_limits_on_server(host: str) -> list[str]:
    from prefect.client.orchestration import get_client

    from flows.sources.fetch.global_limits import limit_names

    out = []
    with get_client(sync_client=True) as client:
        for lim in client.read_global_concurrency_limits(limit=100):
            if lim.name in limit_names(host):
                out.append(
                    f"{lim.name} (limit {lim.limit}, decay {lim.slot_decay_per_second:g}/s, "
                    f"{lim.active_slots} active)"
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--per-host", type=int, default=8, help="NEWSDIGEST_PER_HOST_CONCURRENCY")
    args = parser.parse_args()

    with (
        feed_farm(
            args.feeds,
            "newsdigest-parallel-",
            NEWSDIGEST_DASK_WORKERS="2",
            NEWSDIGEST_FEEDS_PER_TASK="20",
            NEWSDIGEST_PER_HOST_CONCURRENCY=str(args.per_host),
        ) as (opml, tmp, server),
        prefect_server() as api,
    ):
        host = server.base.removeprefix("http://")
        print(f"Prefect server {api}; {args.feeds} feeds on one host ({host})", flush=True)
        for runner_name, host_limits, label in RUNS:
            server.reset_counts()
            r = run_once(opml, tmp, runner_name, host_limits)
            print(
                f"{args.feeds} feeds, {label}: {r['state']} in {r['seconds']:.1f} s, "
                f"{r['stored']} articles stored, {sum(server.hits.values())} requests",
                flush=True,
            )
        print("limits on the server:", "; ".join(host_limits_on_server(host)) or "none")


if __name__ == "__main__":
    main()
