"""Bench: end-to-end throughput of a no-op job with results stored in MySQL vs ignored.

One run, side by side, interleaved over several rounds (medians reported): N messages are
queued, then a fresh prefork worker (concurrency 2, STARTED tracked) drains them, timed
from the first task to the last. Variants:
  * ignored:        results ignored (`ignore_result=True`): the baseline
  * stock-noreuse:  django-celery-results' `django-db` backend, Celery closing the DB
                    connection around every task (CELERY_DB_REUSE_MAX=0)
  * stock:          `django-db` with connection reuse (this project's setting)
  * ours:           taskcenter.results.backend.UpsertDatabaseBackend (the default): one
                    upsert per state, STARTED written only for a run still going after
                    TASKCENTER_RESULT_STARTED_DELAY (0.25 s)
  * ours-immediate: the same backend writing STARTED at once (delay 0)

    .venv/bin/python bench/results_throughput.py --tasks 2000 --rounds 5 \
        --database-url mysql://root:@127.0.0.1:3306/taskcenter_i3_tput \
        --redis-url redis://127.0.0.1:6379/3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = "bench"
VARIANTS = {
    "ignored": {},
    "stock-noreuse": {"CELERY_RESULT_BACKEND": "django-db", "CELERY_DB_REUSE_MAX": "0"},
    "stock": {"CELERY_RESULT_BACKEND": "django-db"},
    "ours": {"CELERY_RESULT_BACKEND": "taskcenter.results.backend.UpsertDatabaseBackend"},
    "ours-immediate": {
        "CELERY_RESULT_BACKEND": "taskcenter.results.backend.UpsertDatabaseBackend",
        "TASKCENTER_RESULT_STARTED_DELAY": "0",
    },
}


from bench._common import mysql_database_create  # noqa: E402


def setup(database_url: str, redis_url: str) -> None:
    mysql_database_create(database_url)
    os.environ.update(
        DATABASE_URL=database_url, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="config.settings"
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_variant(name: str, tasks: int, tmp: Path) -> float:
    """Queue `tasks` no-ops, start a worker, return tasks per second from first to last."""
    import redis
    from django_celery_results.models import TaskResult

    import bench.noop  # noqa: F401  (registers bench.noop with the app)
    from config.celery import app

    counter = f"bench:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    TaskResult.objects.filter(task_name="bench.noop").delete()
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
        with app.producer_or_acquire() as producer:
            for _ in range(tasks):
                app.send_task(
                    "bench.noop",
                    args=[counter],
                    queue=QUEUE,
                    producer=producer,
                    ignore_result=name == "ignored",
                )
    env = {**os.environ, **VARIANTS[name], "PYTHONUNBUFFERED": "1"}
    log = (tmp / f"worker-{name}.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-I",
            "bench.noop",
            "-Q",
            QUEUE,
            "-P",
            "prefork",
            "-c",
            "2",
            "-l",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"bench-{name}@%h",
            "--statedb",
            str(tmp / f"{name}.state"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while int(client.get(counter) or 0) == 0:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"{name}: worker did not start; see {log.name}")
            time.sleep(0.001)
        first = time.perf_counter()
        while int(client.get(counter) or 0) < tasks:
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: timed out; see {log.name}")
            time.sleep(0.002)
        elapsed = time.perf_counter() - first
    finally:
        worker.terminate()
        worker.wait(60)
        log.close()
    stored = TaskResult.objects.filter(task_name="bench.noop", status="SUCCESS").count()
    expected = 0 if name == "ignored" else tasks
    assert stored == expected, f"{name}: {stored} results stored, expected {expected}"
    # Every stored result says when it started, whether or not its STARTED row was written.
    unstarted = TaskResult.objects.filter(task_name="bench.noop", date_started__isnull=True)
    assert not unstarted.exists(), f"{name}: {unstarted.count()} results without a start time"
    client.delete(counter)
    return (tasks - 1) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="mysql://root:@127.0.0.1:3306/taskcenter_i3_tput")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    options = parser.parse_args()
    setup(options.database_url, options.redis_url)
    tmp = ROOT / "var" / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    names = options.variants.split(",")
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(1, options.rounds + 1):
        for name in names:
            rate = run_variant(name, options.tasks, tmp)
            rates[name].append(rate)
            print(f"round {round_no} {name:14} {rate:7.0f} tasks/s", flush=True)
    print(f"\n{options.tasks} no-op tasks per run, {options.rounds} rounds, prefork -c 2")
    for name in names:
        median = statistics.median(rates[name])
        line = f"{name:14} median {median:7.0f} tasks/s"
        if "ignored" in rates:
            # The machine is shared: the ratio within each round (variants run back to
            # back) is steadier than the ratio of medians taken across rounds.
            ratios = [r / base for r, base in zip(rates[name], rates["ignored"], strict=True)]
            line += (
                f"  {median / statistics.median(rates['ignored']):4.0%} of ignored's median"
                f"  per-round ratio median {statistics.median(ratios):4.0%}"
                f" (min {min(ratios):.0%}, max {max(ratios):.0%})"
            )
        print(line)


if __name__ == "__main__":
    main()
