"""Web servers for the trigger benches, and HTTP calls against them."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The switches a served variant sets itself; inherited values would blur the variants.
SWITCHES = (
    "TASKCENTER_FAST_PATHS",
    "TASKCENTER_FAST_AUTH",
    "TASKCENTER_FAST_PUBLISH",
    "TASKCENTER_RUN_BATCHING",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_call(
    port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], expect: int
) -> Callable[[], None]:
    """Return a call sending one request on this thread's keep-alive connection."""
    local = threading.local()

    def call() -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            local.conn = None
            conn.close()
            raise
        if response.status != expect:
            raise RuntimeError(f"status {response.status}")

    return call


def server_argv(kind: str, workers: int, port: int, threads: int) -> list[str]:
    """The command line of `kind` serving the project as `make run` does (access log off)."""
    if kind == "granian":
        return [
            sys.executable,
            *("-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads)),
            *("--log-level", "warning", "--no-access-log", "config.wsgi:application"),
        ]
    if kind == "uvicorn":
        return [
            sys.executable,
            *("-m", "uvicorn", "config.asgi:application", "--port", str(port)),
            *("--workers", str(workers), "--log-level", "warning", "--no-access-log"),
        ]
    return [
        sys.executable,
        *("-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}"),
        *("-w", str(workers), "-k", "gthread", "--threads", str(threads)),
        *("--log-level", "warning"),
    ]


def start_server(
    kind: str,
    workers: int,
    port: int,
    threads: int = 8,
    *,
    root: Path = ROOT,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Serve the source tree `root` on `port`; return once `GET /health` answers."""
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    env.update(API_TRIGGER_RATE_LIMIT="0", DEBUG="false", LOG_LEVEL="WARNING")
    env.update(extra_env or {})
    argv = server_argv(kind, workers, port, threads)
    proc = subprocess.Popen(argv, cwd=root, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server started by `start_server` (graceful, then killed after 30 s)."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(10)
