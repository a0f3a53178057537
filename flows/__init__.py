"""Prefect flows, the source adapters, delivery and the command line (the only package that
imports Prefect).

Prefect reads its settings from the environment when it is imported, so the defaults
newsdigest needs are set here, once, before any module of this package can import Prefect:
no telemetry calls from an offline machine, a start-up timeout long enough for a fresh
``PREFECT_HOME`` (its first migration takes ~20 s), and the library's own loggers shown in
flow-run logs. A value already in the environment wins.
"""

from __future__ import annotations

import os

PREFECT_ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "newsdigest",
    # Library code (fetching, storage) logs outside flow runs too: not an error.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}

for _key, _value in PREFECT_ENV_DEFAULTS.items():
    os.environ.setdefault(_key, _value)
