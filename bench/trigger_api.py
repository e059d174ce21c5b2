"""Measure POST /api/jobs/{name}/runs against bare `apply_async`, in the same run.

For 1 and 16 concurrent clients it reports requests per second and p50/p99 latency of:
  * bare: `jobs.demo.add.apply_async(...)` called directly from client threads;
  * api: the trigger endpoint over HTTP (keep-alive), served by gunicorn's threaded
    workers as `make run` serves it (or by granian or uvicorn, to compare), with a bearer
    token, validation, the run record (MySQL) and the publish (Redis).
No worker consumes during the measurement; the queues are purged between phases.

Closed loop: each client sends its next call when the previous one answers (so at 16
clients mean latency = 16 / throughput). With `--paced 0.5`, an extra open-loop phase
sends to both sides at half of bare's 16-client rate on a fixed schedule, and reports
latency from each call's scheduled time. With `--floor`, `GET /health` (one `SELECT 1`)
through the same server is measured too: what HTTP, the server and Django cost alone.

Usage (MySQL and Redis URLs of a database you may write to; it is migrated first):
  DATABASE_URL=mysql://root:@127.0.0.1:3306/taskcenter_bench REDIS_URL=redis://127.0.0.1:6379/5 \
    .venv/bin/python bench/trigger_api.py --workers 2 --seconds 5 --repeat 3 --floor
`--server granian` needs `pip install granian==2.8.9` (not a dependency: bench/README.md,
trigger endpoint, session 5, says why).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402

from config.celery import app  # noqa: E402
from taskcenter.catalog import get_job  # noqa: E402
from taskcenter.models import Run  # noqa: E402
from taskcenter.services.tokens import token_create  # noqa: E402

JOB = "jobs.demo.add"
BODY = json.dumps({"kwargs": {"x": 1, "y": 2}}).encode()
#: The paced (open-loop) phase uses the issue's 16 concurrent clients.
PACED_CLIENTS = 16


def _figures(latencies: list[list[float]], errors: int, elapsed: float) -> dict[str, float]:
    """Return rps, p50 and p99 (ms) and the error count of one phase."""
    flat = sorted(x for own in latencies for x in own)
    if not flat:
        raise RuntimeError(f"no successful call ({errors} errors)")
    return {
        "rps": len(flat) / elapsed,
        "p50_ms": 1000 * flat[len(flat) // 2],
        "p99_ms": 1000 * flat[min(len(flat) - 1, int(len(flat) * 0.99))],
        "errors": errors,
    }


def measure(call: Callable[[], None], *, clients: int, seconds: float) -> dict[str, float]:
    """Run `call` from `clients` threads for `seconds`; return rps, p50 and p99 in ms."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0]
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        own = latencies[i]
        start_gate.wait()
        while (t0 := time.perf_counter()) < stop_at[0]:
            try:
                call()
            except Exception:
                errors[0] += 1
                continue
            own.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return _figures(latencies, errors[0], elapsed)


def measure_paced(
    call: Callable[[], None], *, clients: int, rate: float, seconds: float
) -> dict[str, float]:
    """Open loop: `clients` threads send `rate` calls/s in total on a fixed schedule.

    Each client sends every clients/rate seconds (clients staggered evenly). A call's
    latency runs from its scheduled time, not from when it was actually sent, so a server
    that falls behind is charged for the wait (no coordinated omission).
    """
    interval = clients / rate
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0]
    start_gate = threading.Barrier(clients + 1)
    begin = [0.0]

    def client(i: int) -> None:
        own = latencies[i]
        start_gate.wait()
        due = begin[0] + i * interval / clients
        end = begin[0] + seconds
        while due < end:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                call()
            except Exception:
                errors[0] += 1
            else:
                own.append(time.perf_counter() - due)
            due += interval

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    begin[0] = time.perf_counter() + 0.05
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin[0]
    return _figures(latencies, errors[0], elapsed)


def bare_call() -> Callable[[], None]:
    task = get_job(JOB).task
    return lambda: task.apply_async(kwargs={"x": 1, "y": 2})


def api_call(port: int, token: str) -> Callable[[], None]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return http_call(port, "POST", f"/api/jobs/{JOB}/runs", BODY, headers, expect=202)


def floor_call(port: int) -> Callable[[], None]:
    """`GET /health` (one `SELECT 1`) through the same server: what HTTP and Django cost."""
    return http_call(port, "GET", "/health", None, {}, expect=200)


def http_call(
    port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], expect: int
) -> Callable[[], None]:
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    env = dict(os.environ, API_TRIGGER_RATE_LIMIT="0", DEBUG="false", LOG_LEVEL="WARNING")
    env.update(extra_env or {})
    if kind == "granian":
        argv = [
            sys.executable,
            "-m",
            "granian",
            *("--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers), "--blocking-threads", str(threads)),
            *("--log-level", "warning", "--no-access-log", "config.wsgi:application"),
        ]
    elif kind == "uvicorn":
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    else:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ]
    proc = subprocess.Popen(argv, cwd=root, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=["gunicorn", "granian", "uvicorn"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker (gunicorn, granian)"
    )
    parser.add_argument(
        "--paced",
        type=float,
        default=0,
        metavar="FRACTION",
        help="also run an open-loop phase: 16 clients sending, in total, FRACTION of bare's "
        "measured 16-client rate (e.g. 0.5), to both sides; latency from the scheduled send",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure GET /health (one SELECT 1) through the same server, closed loop",
    )
    opts = parser.parse_args()
    if opts.paced and str(PACED_CLIENTS) not in opts.clients.split(","):
        parser.error(
            f"--paced sets its rate from the {PACED_CLIENTS}-client phase: keep it in --clients"
        )

    call_command("migrate", verbosity=0)
    # An ordinary user holding the job's trigger permission, as a real caller would be.
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.is_superuser = False
    user.save()
    user.user_permissions.add(Permission.objects.get(codename=get_job(JOB).permission_codename))
    token = token_create(user=user, name="bench").secret
    port = free_port()
    server = start_server(opts.server, opts.workers, port, opts.threads)
    rows = []
    try:
        for clients in (int(c) for c in opts.clients.split(",")):
            calls = {"bare": bare_call(), "api": api_call(port, token)}
            if opts.floor:
                calls["floor"] = floor_call(port)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in calls}
            for _ in range(opts.repeat):
                for name, call in calls.items():
                    runs[name].append(measure(call, clients=clients, seconds=opts.seconds))
                    app.control.purge()
            med = {
                name: {k: statistics.median(r[k] for r in results) for k in results[0]}
                for name, results in runs.items()
            }
            rows.append((clients, med))
        if opts.paced:
            # Open loop at a fixed share of bare's closed-loop rate at 16 clients (measured
            # above, same run), the same schedule for both sides.
            bare_max = next(m["bare"]["rps"] for c, m in rows if c == PACED_CLIENTS)
            rate = opts.paced * bare_max
            runs = {"bare": [], "api": []}
            for _ in range(opts.repeat):
                for name, call in (("bare", bare_call()), ("api", api_call(port, token))):
                    runs[name].append(
                        measure_paced(call, clients=PACED_CLIENTS, rate=rate, seconds=opts.seconds)
                    )
                    app.control.purge()
            med = {
                name: {k: statistics.median(r[k] for r in results) for k in results[0]}
                for name, results in runs.items()
            }
            rows.append((f"{PACED_CLIENTS}@{rate:.0f}/s", med))
    finally:
        server.terminate()
        server.wait(30)
        app.control.purge()
        Run.objects.filter(user=user).delete()

    threads = f" x {opts.threads} threads" if opts.server != "uvicorn" else ""
    print(
        f"server: {opts.server} x{opts.workers}{threads}, {opts.seconds}s per phase, "
        f"median of {opts.repeat}"
    )
    if opts.floor:
        print("floor: GET /health (one SELECT 1) through the same server")
    print(f"{'clients':>11} {'what':>5} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for clients, med in rows:
        for name in ("bare", "api", "floor"):
            if name not in med:
                continue
            m = med[name]
            figures = (
                f"{m['rps']:>8.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} {m['errors']:>6.0f}"
            )
            print(f"{clients:>11} {name:>5} {figures}")
        if isinstance(clients, str):
            print(f"{clients:>11} paced (open loop): latency from the scheduled send time")
        else:
            ratio = med["api"]["rps"] / med["bare"]["rps"]
            print(f"{clients:>11} ratio api/bare throughput (closed loop): {ratio:.2f}")


if __name__ == "__main__":
    main()
