"""The task runner of the ``ingest`` flow, chosen by ``NEWSDIGEST_TASK_RUNNER``.

- ``default``: Prefect's thread pool in the flow's own process.
- ``dask``: prefect-dask's ``DaskTaskRunner``: the fetch-and-extract tasks (``load-web``,
  ``load-local``) run on Dask workers, either a local cluster of ``NEWSDIGEST_DASK_WORKERS``
  processes started for the run, or the scheduler at ``NEWSDIGEST_DASK_ADDRESS``
  (``tcp://host:8786``). A ``load-web`` task stores what it fetched, batch by batch, from
  where it runs; local files are stored, grouping and the digest run in the flow's process.
  The per-host limits then hold across the workers (``NEWSDIGEST_HOST_LIMITS=auto``:
  Prefect global concurrency limits, :mod:`flows.sources.fetch.global_limits`).
"""

from __future__ import annotations

from digest.settings import Settings

DEFAULT_THREADS = 8  # the ingest flow's own runner when called directly (max_concurrency)


class TaskRunnerError(RuntimeError):
    """The configured task runner cannot be used; the message says what to do."""


def make_task_runner(settings: Settings):
    from prefect.task_runners import ThreadPoolTaskRunner

    if settings.task_runner != "dask":
        # Prefect's default is unbounded: thousands of tasks at once would queue for the
        # database connections (the fetcher allows max_concurrency requests anyway).
        return ThreadPoolTaskRunner(max_workers=max(1, settings.max_concurrency))
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise TaskRunnerError(
            "NEWSDIGEST_TASK_RUNNER=dask needs prefect-dask: pip install -e '.[dask]'"
        ) from None
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": max(1, settings.dask_workers),
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
