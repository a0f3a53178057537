"""Prefect's temporary server must not outlive the command that started it.

Without ``PREFECT_API_URL`` a flow starts a temporary Prefect server in a subprocess, stopped
at interpreter exit. A command killed with SIGKILL (or crashing hard) never reaches that exit,
and the server would run on. :func:`watch_ephemeral_server` starts, next to each temporary
server, a tiny watchdog process that holds the read end of a pipe whose write end only this
process has: when this process dies, for any reason, the pipe closes and the watchdog stops
the server (SIGTERM, then SIGKILL after 5 s).
"""

from __future__ import annotations

import subprocess
import sys

_WATCHDOG = r"""
import os, signal, sys, time
pid = int(sys.argv[1])
sys.stdin.buffer.read()  # returns when the parent process is gone (end of file)
for sig in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        break
    for _ in range(50):
        time.sleep(0.1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit(0)
"""

_watchdogs: list[subprocess.Popen] = []
_installed = False


def _start_watchdog(server_pid: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(server_pid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C to the terminal's group must not kill it first
    )
    _watchdogs.append(proc)  # keeps the pipe's write end open as long as we live
    return proc


def watch_ephemeral_server() -> None:
    """Give every temporary Prefect server started by this process a watchdog."""
    global _installed
    if _installed:
        return
    from prefect.server.api import server as prefect_server

    cls = prefect_server.SubprocessASGIServer
    original = cls._run_uvicorn_command

    def run_uvicorn(self):
        process = original(self)
        _start_watchdog(process.pid)
        return process

    cls._run_uvicorn_command = run_uvicorn
    _installed = True
