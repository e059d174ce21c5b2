"""The web process: granian serving Django over WSGI. `python -m config.web --port 8000`.

Every argument is passed on to granian (`--host`, `--port`, `--workers`, ...); its
defaults here can also be overridden with granian's own environment variables
(`GRANIAN_WORKERS=4`). Why granian rather than gunicorn's threaded workers: it parses
HTTP and holds the connections in Rust, so the Python threads only run Django. Measured
side by side on the 2-core machine (bench/trigger_ab.py; bench/README.md, trigger
endpoint, session 5): the trigger endpoint served 1.20 times the requests at 16 clients
and 1.16 times at 1 client, with 18% less web CPU per request.
"""

from __future__ import annotations

import os
import sys

#: Django's WSGI application.
APP = "config.wsgi:application"

#: granian's settings, as its environment variables, unless the environment sets them.
DEFAULTS = {
    "GRANIAN_INTERFACE": "wsgi",
    # One process per core of the 2-core machine; eight threads each overlap the waits on
    # MySQL and Redis, and let concurrent triggers share one INSERT and one publish
    # (services/run_sender.py). granian warns that 8 threads is many for 2 cores: it is
    # on purpose, as the threads mostly wait.
    "GRANIAN_WORKERS": "2",
    "GRANIAN_BLOCKING_THREADS": "8",
    # A worker still busy 10 s after SIGTERM is killed: below run_taskcenter's 20 s grace
    # period, so a stop never ends in SIGKILL of the whole server.
    "GRANIAN_WORKERS_KILL_TIMEOUT": "10",
    "GRANIAN_RESPAWN_FAILED_WORKERS": "true",
    "GRANIAN_LOG_ACCESS_ENABLED": "true",
}


def command(host: str, port: int, *args: str) -> list[str]:
    """Return the command that starts the web process (this module) on `host:port`.

    What `make run`, the tests and the bench start; granian's own arguments may follow.
    """
    return [sys.executable, "-m", "config.web", "--host", host, "--port", str(port), *args]


def granian_argv(*args: str) -> list[str]:
    """Return the command that serves Django with granian, given granian's own arguments."""
    return [sys.executable, "-m", "granian", *args, APP]


def environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return `base` (the process environment) with granian's defaults filled in."""
    return {**DEFAULTS, **(os.environ if base is None else base)}


def main() -> None:
    granian = granian_argv(*sys.argv[1:])
    os.execve(granian[0], granian, environ())


if __name__ == "__main__":
    main()
