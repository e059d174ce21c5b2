"""Measure the API trigger of an `@aio_job` against the same trigger of a Celery job.

One gunicorn server as deployed (`-c config/gunicorn.py`: 2 workers x 8 threads, each
worker running its AnyIO manager), access log off, over HTTP keep-alive with a bearer
token; clients in as many processes as the server has workers (bench/_load.py). For 1
and 16 concurrent clients, rounds interleaved, medians reported:
  * celery: POST /api/jobs/jobs.demo.add/runs (record, publish to Redis; no worker
    consumes, the queues are purged after every phase);
  * aio: POST /api/jobs/jobs.demo.pause/runs with seconds=0 (record, hand to the web
    process's manager; the run itself and its two state writes happen in that process
    after the answer, so they weigh on the server, not on the latency measured).
A 503 (a manager full because its state writes lag) counts as an error.

Usage (MySQL and Redis URLs of a database you may write to; it is migrated first):
  DATABASE_URL=mysql://root:@127.0.0.1:3306/tc_bench REDIS_URL=redis://127.0.0.1:6379/12 \
    flock /tmp/tc-cpu.lock .venv/bin/python bench/aio_trigger.py --seconds 3 --repeat 3
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
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

from bench._load import ClientPool  # noqa: E402
from bench._servers import SWITCHES, free_port, http_call, stop_server  # noqa: E402
from config.celery import app  # noqa: E402
from taskcenter.catalog import get_job  # noqa: E402
from taskcenter.models import Run  # noqa: E402
from taskcenter.services.tokens import token_create  # noqa: E402

VARIANTS = {
    "celery": ("jobs.demo.add", {"kwargs": {"x": 1, "y": 2}}),
    "aio": ("jobs.demo.pause", {"kwargs": {"seconds": 0}}),
}


def make_call(spec: tuple) -> Callable[[], None]:
    """Build, in a client process, the POST a spec names: (port, token, job, body)."""
    port, token, job, body = spec
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return http_call(port, "POST", f"/api/jobs/{job}/runs", body, headers, expect=202)


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    """gunicorn with the project's config (its hooks start the AnyIO runtimes)."""
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    env.update(API_TRIGGER_RATE_LIMIT="0", DEBUG="false", LOG_LEVEL="WARNING")
    argv = [
        *(sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"),
        *("-b", f"127.0.0.1:{port}", "-w", str(workers), "--threads", str(threads)),
        *("--access-logfile", "/dev/null", "--log-level", "warning"),
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
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
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="server and client processes")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", default="1,16")
    opts = parser.parse_args()
    clients_list = [int(c) for c in opts.clients.split(",")]

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.is_superuser = False
    user.save()
    for job, _ in VARIANTS.values():
        codename = get_job(job).permission_codename
        user.user_permissions.add(Permission.objects.get(codename=codename))
    token = token_create(user=user, name="bench").secret
    port = free_port()
    server = start_gunicorn(port, opts.workers, opts.threads)
    pool = ClientPool(opts.workers, make_call)
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        names = list(VARIANTS)
        for round_ in range(opts.repeat):
            for name in names[round_ % 2 :] + names[: round_ % 2]:
                job, body = VARIANTS[name]
                spec = (port, token, job, json.dumps(body).encode())
                pool.measure(spec, clients=max(clients_list), seconds=1)  # warm up
                app.control.purge()
                for clients in clients_list:
                    figures = pool.measure(spec, clients=clients, seconds=opts.seconds)
                    results.setdefault((name, clients), []).append(figures)
                    app.control.purge()
                    print(f"round {round_} {name} x{clients}: {figures}", flush=True)
    finally:
        pool.close()
        stop_server(server)
        app.control.purge()
        Run.objects.filter(user=user).delete()

    print(
        f"\ngunicorn -c config/gunicorn.py, {opts.workers} x {opts.threads} threads; "
        f"{opts.seconds}s per phase; medians of {opts.repeat} rounds"
    )
    print(f"{'variant':>8} {'clients':>7} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'err':>5}")
    for clients in clients_list:
        for name in VARIANTS:
            runs = results[(name, clients)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{name:>8} {clients:>7} {med['rps']:>7.0f} {med['p50_ms']:>7.2f}"
                f" {med['p99_ms']:>7.2f} {med['errors']:>5.0f}"
            )
        aio, celery = results[("aio", clients)], results[("celery", clients)]
        ratio = [a["p50_ms"] / c["p50_ms"] for a, c in zip(aio, celery, strict=True)]
        print(f"{'':>8} aio p50 / celery p50 per round: {', '.join(f'{r:.2f}' for r in ratio)}")


if __name__ == "__main__":
    main()
