"""What the flows share: the Failed state a finished-but-failed run ends in, and running
tasks when the Prefect API around them fails (a busy server's 503: the work runs in the flow's
own process instead of being lost)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prefect import get_run_logger
from prefect.states import Failed, State

# A failed database write is worth two more tries (locked SQLite file, PostgreSQL failover).
DB_RETRIES = 2
DB_RETRY_DELAYS = [2, 10]


class RunFailed(Exception):
    """A run that finished but failed (every source failed, the digest not delivered); the
    Failed state carries it, with the run's result in ``data``. Calling a flow directly
    raises it; :func:`state_data` returns the data."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message, data)
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message


def _failed(message: str, data: Any) -> State:
    return Failed(message=message, data=RunFailed(message, data))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def is_api_error(exc: BaseException) -> bool:
    """An error talking to the Prefect API (a busy server's 503, a dropped connection), as
    opposed to one raised by our own code inside a task."""
    return isinstance(exc, (httpx.HTTPStatusError, httpx.TransportError))


def run_task(task_obj, *args, **kwargs):
    """Call a task; when the Prefect API fails around it, run its function here instead."""
    try:
        return task_obj(*args, **kwargs)
    except Exception as exc:
        return _without_orchestration(exc, task_obj, *args, **kwargs)


def _without_orchestration(exc: Exception, task_obj, *args, **kwargs):
    """Re-raise ``exc`` unless it is a Prefect API error; then do the task's work here."""
    if not is_api_error(exc):
        raise exc
    get_run_logger().warning(
        "Prefect API error around task %s (%s): running it without orchestration",
        task_obj.name,
        _one_line(exc),
    )
    return task_obj.fn(*args, **kwargs)


def _submit(task_obj, *args):
    try:
        return task_obj.submit(*args)
    except Exception as exc:
        if not is_api_error(exc):
            raise
        return exc  # resolved (run in-process) by _resolve


def _resolve(pending, task_obj, *args):
    """A submitted task's result; on a Prefect API error, the task's work done in-process."""
    try:
        if isinstance(pending, BaseException):
            raise pending
        return pending.result()
    except Exception as exc:
        return _without_orchestration(exc, task_obj, *args)


def _artifact(make: Callable[[], Any]) -> None:
    """Artifacts are a view: a failure to create one is logged, never fatal."""
    try:
        make()
    except Exception as exc:
        get_run_logger().warning("could not create a Prefect artifact: %s", _one_line(exc))


def state_data(state: State):
    """The data a finished flow run returned (also when it ended Failed); re-raises when the
    run crashed with an exception."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunFailed):
        return data.data
    if isinstance(data, BaseException):
        raise data
    return data
