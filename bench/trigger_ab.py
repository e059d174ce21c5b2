"""Interleaved A/B of the trigger endpoint served from two source trees, with CPU per request.

Why: on this shared 2-core machine two runs of `trigger_api.py` minutes apart differ by
10-20%, more than most single changes gain. Here both versions are served at once (each
by its own gunicorn, 2 x 8 threads unless told otherwise) and measured in alternating
phases, A B B A A B ..., so drift hits both alike; the per-round ratio B/A is the figure.
Each phase also reports the CPU each process group spent per request (from /proc):
the web workers, MariaDB, Redis and the client (this process), which is where a change
shows even when the throughput is noisy.

Usage (A is usually a worktree of the commit before the change):
  git worktree add /tmp/wt-base HEAD~1
  DATABASE_URL=mysql://root:@127.0.0.1:3306/tc_ab REDIS_URL=redis://127.0.0.1:6379/5 \
    .venv/bin/python bench/trigger_ab.py --a /tmp/wt-base --b . --rounds 6
Server settings for one side only: --a-env KEY=VALUE / --b-env KEY=VALUE (repeatable):
SERVER (gunicorn, or granian / uvicorn to compare), WORKERS and THREADS pick the server;
any other key goes into its environment. Two servers of one tree: --a . --b . --b-env
SERVER=granian (granian is not a dependency: `pip install granian==2.8.9` first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import trigger_api as bench  # noqa: E402  (sets up Django for this process)
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int | str) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / HZ


def _pids(name: str) -> list[str]:
    return subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()


def start(root: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """Serve `root`'s code on a free port: SERVER (gunicorn), WORKERS x THREADS (2 x 8)."""
    port = bench.free_port()
    extra = dict(env_extra)
    server = extra.pop("SERVER", "gunicorn")
    workers = int(extra.pop("WORKERS", 2))
    threads = int(extra.pop("THREADS", 8))
    proc = bench.start_server(server, workers, port, threads, root=root, extra_env=extra)
    return proc, port


def phase(proc: subprocess.Popen, port: int, token: str, clients: int, seconds: float) -> dict:
    """One closed-loop phase: rps, p50/p99 and CPU microseconds per request by process group."""
    groups = {
        "web": subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split(),
        "mysql": _pids("mariadbd") or _pids("mysqld"),
        "redis": _pids("redis-server"),
        "client": [str(os.getpid())],
    }
    before = {g: sum(_cpu_seconds(p) for p in pids) for g, pids in groups.items()}
    figures = bench.measure(bench.api_call(port, token), clients=clients, seconds=seconds)
    requests = figures["rps"] * seconds
    for group, pids in groups.items():
        spent = sum(_cpu_seconds(p) for p in pids) - before[group]
        figures[f"{group}_us"] = 1e6 * spent / requests
    bench.app.control.purge()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", type=Path, required=True, help="source tree A (baseline)")
    parser.add_argument("--b", type=Path, required=True, help="source tree B (the change)")
    parser.add_argument("--a-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--b-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    opts = parser.parse_args()

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.user_permissions.add(
        Permission.objects.get(codename=bench.get_job(bench.JOB).permission_codename)
    )
    token = bench.token_create(user=user, name="bench-ab").secret
    sides = {
        "A": (opts.a.resolve(), dict(kv.split("=", 1) for kv in opts.a_env)),
        "B": (opts.b.resolve(), dict(kv.split("=", 1) for kv in opts.b_env)),
    }
    servers = {}
    try:
        for name, (root, extra) in sides.items():
            servers[name] = start(root, extra)
        for _proc, port in servers.values():  # warm both up
            bench.measure(bench.api_call(port, token), clients=opts.clients, seconds=1)
            bench.app.control.purge()
        results: dict[str, list[dict]] = {"A": [], "B": []}
        for round_ in range(opts.rounds):
            for name in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
                figures = phase(*servers[name], token, opts.clients, opts.seconds)
                results[name].append(figures)
                print(
                    f"round {round_} {name}: {figures['rps']:.0f} rps, p50 "
                    f"{figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms; CPU per "
                    f"request: web {figures['web_us']:.0f} us, mysql {figures['mysql_us']:.0f}, "
                    f"redis {figures['redis_us']:.0f}, client {figures['client_us']:.0f}",
                    flush=True,
                )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(30)
        bench.app.control.purge()
        bench.Run.objects.filter(user=user).delete()

    keys = ("rps", "p50_ms", "p99_ms", "web_us", "mysql_us", "redis_us", "client_us")
    for name, (root, extra) in sides.items():
        med = {k: statistics.median(f[k] for f in results[name]) for k in keys}
        print(
            f"{name} ({root}{' ' + str(extra) if extra else ''}): median {med['rps']:.0f} rps, "
            f"p50 {med['p50_ms']:.1f} ms, p99 {med['p99_ms']:.1f} ms; CPU per request: web "
            f"{med['web_us']:.0f} us, mysql {med['mysql_us']:.0f}, redis {med['redis_us']:.0f}, "
            f"client {med['client_us']:.0f}"
        )
    ratios = [b["rps"] / a["rps"] for a, b in zip(results["A"], results["B"], strict=True)]
    print(
        f"B/A throughput per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
