"""Measure POST /api/jobs/{name}/runs against a naive endpoint and bare `apply_async`.

For 1 and 16 concurrent clients, in one run, rounds interleaved (medians reported):
  * bare: `jobs.demo.add.apply_async(...)` called directly by the clients;
  * naive: bench/naive_api.py, the endpoint a Django + Celery user would write (ORM token
    lookup, `has_perm`, catalog validation, `Run.objects.create`, `apply_async`), served
    with every fast path off;
  * fast: our trigger endpoint, every fast path on (the default);
  * stock: our endpoint with TASKCENTER_FAST_PATHS=false;
  * no-auth, no-publish, no-batching: our endpoint with one fast path off.
Each served variant runs alone, by gunicorn (2 workers x 8 threads, as `make run`), over
HTTP keep-alive with a bearer token; no worker consumes and the queues are purged after
every phase. The clients run in as many processes as the server has workers, each with
its share as threads (16 clients: 2 x 8, the server's shape), so neither side is held to
one core by the GIL. Closed loop: a client sends its next call when the last one answers.
Ratios are taken per round (both sides measured minutes apart at most) and reported as
median (min-max).

Usage (MySQL and Redis URLs of a database you may write to; it is migrated first):
  DATABASE_URL=mysql://root:@127.0.0.1:3306/tc_bench REDIS_URL=redis://127.0.0.1:6379/12 \
    .venv/bin/python bench/trigger_api.py --seconds 4 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
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

from bench._load import ClientPool, measure  # noqa: E402, F401  (measure: trigger_ab.py)
from bench._servers import free_port, http_call, start_server, stop_server  # noqa: E402
from config.celery import app  # noqa: E402
from taskcenter.catalog import get_job  # noqa: E402
from taskcenter.models import Run  # noqa: E402
from taskcenter.services.tokens import token_create  # noqa: E402

JOB = "jobs.demo.add"
BODY = json.dumps({"kwargs": {"x": 1, "y": 2}}).encode()
API_PATH = f"/api/jobs/{JOB}/runs"
NAIVE_PATH = f"/naive/jobs/{JOB}/runs"
_ON = {"TASKCENTER_FAST_PATHS": "true"}
#: Served variants: environment and path. Every switch is set explicitly (_servers.SWITCHES).
SERVED: dict[str, tuple[dict[str, str], str]] = {
    "naive": (
        {"DJANGO_SETTINGS_MODULE": "bench.naive_settings", "TASKCENTER_FAST_PATHS": "false"},
        NAIVE_PATH,
    ),
    "fast": (_ON, API_PATH),
    "stock": ({"TASKCENTER_FAST_PATHS": "false"}, API_PATH),
    "no-auth": ({**_ON, "TASKCENTER_FAST_AUTH": "false"}, API_PATH),
    "no-publish": ({**_ON, "TASKCENTER_FAST_PUBLISH": "false"}, API_PATH),
    "no-batching": ({**_ON, "TASKCENTER_RUN_BATCHING": "false"}, API_PATH),
}
TARGETS = ("bare", *SERVED)


def bare_call() -> Callable[[], None]:
    task = get_job(JOB).task
    return lambda: task.apply_async(kwargs={"x": 1, "y": 2})


def api_call(port: int, token: str, path: str = API_PATH) -> Callable[[], None]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return http_call(port, "POST", path, BODY, headers, expect=202)


def make_call(spec: tuple) -> Callable[[], None]:
    """Build, in a client process, the call a spec names: ("bare",) or ("post", port, ...)."""
    if spec[0] == "bare":
        return bare_call()
    _, port, token, path = spec
    return api_call(port, token, path)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(results: dict, clients_list: list[int], opts: argparse.Namespace) -> None:
    """Print medians per variant, then per-round ratios: vs bare, vs naive, per fast path."""
    print(
        f"gunicorn {opts.workers} x {opts.threads} threads; clients in {opts.workers} processes; "
        f"{opts.seconds}s per phase; medians of {opts.repeat} rounds"
    )
    for clients in clients_list:
        print(f"\n{clients} client(s)")
        print(
            f"{'variant':>12} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'err':>4}"
            f" {'/bare per round':>18} {'/naive per round':>18}"
        )
        rounds = results[clients]
        for name in rounds:
            runs = rounds[name]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            vs = []
            for anchor in ("bare", "naive"):
                if anchor in rounds and name != anchor:
                    pairs = zip(runs, rounds[anchor], strict=True)
                    vs.append(_spread([r["rps"] / a["rps"] for r, a in pairs]))
                else:
                    vs.append("")
            print(
                f"{name:>12} {med['rps']:>7.0f} {med['p50_ms']:>7.2f} {med['p99_ms']:>7.2f}"
                f" {med['errors']:>4.0f} {vs[0]:>18} {vs[1]:>18}"
            )
        if "fast" in rounds:
            for name in rounds:
                if name.startswith("no-") or name == "stock":
                    pairs = zip(rounds["fast"], rounds[name], strict=True)
                    ratios = [f["rps"] / o["rps"] for f, o in pairs]
                    print(f"{'fast / ' + name:>24} throughput per round: {_spread(ratios)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="server and client processes")
    parser.add_argument("--threads", type=int, default=8, help="server threads per worker")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated variants")
    opts = parser.parse_args()
    clients_list = [int(c) for c in opts.clients.split(",")]
    targets = opts.targets.split(",")
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGETS)}")

    call_command("migrate", verbosity=0)
    # An ordinary user holding the job's trigger permission, as a real caller would be.
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.is_superuser = False
    user.save()
    user.user_permissions.add(Permission.objects.get(codename=get_job(JOB).permission_codename))
    token = token_create(user=user, name="bench").secret
    results: dict[int, dict[str, list]] = {c: {t: [] for t in targets} for c in clients_list}
    pool = ClientPool(opts.workers, make_call)
    try:
        for round_ in range(opts.repeat):
            # Rotate the order each round so drift on the machine does not favour one side.
            shift = round_ % len(targets)
            for name in targets[shift:] + targets[:shift]:
                server = None
                if name == "bare":
                    spec: tuple = ("bare",)
                else:
                    env, path = SERVED[name]
                    port = free_port()
                    server = start_server(
                        "gunicorn", opts.workers, port, opts.threads, extra_env=env
                    )
                    spec = ("post", port, token, path)
                try:
                    pool.measure(spec, clients=max(clients_list), seconds=1)  # warm up
                    app.control.purge()
                    for clients in clients_list:
                        figures = pool.measure(spec, clients=clients, seconds=opts.seconds)
                        results[clients][name].append(figures)
                        app.control.purge()
                        print(f"round {round_} {name} x{clients}: {figures}", flush=True)
                finally:
                    if server is not None:
                        stop_server(server)
    finally:
        pool.close()
        app.control.purge()
        Run.objects.filter(user=user).delete()
    report(results, clients_list, opts)


if __name__ == "__main__":
    main()
