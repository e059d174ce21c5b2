"""Bench: delete 1,000,000 old task results, ours (batched) against the bare library.

Fills a dedicated database with N results older than the retention age (plus 10,000
fresh ones that must survive), then deletes them with
  * ours:  taskcenter.results.retention.results_purge (DELETE by primary-key slices)
  * stock: django-celery-results' TaskResult.objects.delete_expired (what
           celery.backend_cleanup calls),
refilling in between. Reports wall time, the longest single transaction (how long the
rows stay locked) and the Python memory peak (tracemalloc) of each.

    .venv/bin/python bench/retention.py --rows 1000000 \
        --database-url mysql://root:@127.0.0.1:3306/taskcenter_i3_bench
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEED = 1000
FRESH = 10_000


from bench._common import mysql_database_create  # noqa: E402


def setup(url: str) -> None:
    mysql_database_create(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(rows: int) -> None:
    """Insert `rows` results 40 days old and FRESH results 1 day old, by doubling in SQL."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("TRUNCATE TABLE django_celery_results_taskresult")
        insert = (
            "INSERT INTO django_celery_results_taskresult (task_id, status, content_type,"
            " content_encoding, task_name, periodic_task_name, worker, result, date_created,"
            " date_done) VALUES (UUID(), 'SUCCESS', 'application/json', 'utf-8',"
            " 'jobs.reports.build_report', %s, 'bench@host', '{\"rows\": 3}',"
            " NOW(6) - INTERVAL %s DAY, NOW(6) - INTERVAL %s DAY)"
        )
        c.executemany(insert, [(f"schedule {i % 100}", 40, 40) for i in range(SEED)])
        have = SEED
        while have < rows:
            step = min(have, rows - have)
            c.execute(
                "INSERT INTO django_celery_results_taskresult (task_id, status, content_type,"
                " content_encoding, task_name, periodic_task_name, worker, result, date_created,"
                " date_done) SELECT UUID(), status, content_type, content_encoding, task_name,"
                " periodic_task_name, worker, result, date_created, date_done"
                f" FROM django_celery_results_taskresult LIMIT {step}"
            )
            have += step
        c.executemany(insert, [(f"schedule {i % 100}", 1, 1) for i in range(FRESH)])


class LongestStatement:
    """Wrap Django's cursor to time every statement (each purge statement autocommits)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.longest = max(self.longest, time.perf_counter() - started)
            self.count += 1


def measure(label: str, delete) -> dict:
    from django.db import connection
    from django_celery_results.models import TaskResult

    timer = LongestStatement()
    tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        delete()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    left = TaskResult.objects.count()
    print(
        f"{label:6} {elapsed:8.2f} s  longest statement {timer.longest:7.2f} s "
        f"({timer.count} statements)  python peak {peak / 1e6:6.2f} MB  rows left {left}"
    )
    return {"elapsed": elapsed, "longest": timer.longest, "peak": peak, "left": left}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="mysql://root:@127.0.0.1:3306/taskcenter_i3_bench"
    )
    options = parser.parse_args()
    setup(options.database_url)
    from django_celery_results.models import TaskResult

    from taskcenter.results.retention import results_purge

    age = timedelta(days=30)
    results = {}
    for label, delete in (
        ("ours", lambda: results_purge(older_than=age)),
        ("stock", lambda: TaskResult.objects.delete_expired(age)),
    ):
        started = time.perf_counter()
        fill(options.rows)
        print(
            f"filled {options.rows:,} old + {FRESH:,} fresh rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        results[label] = measure(label, delete)
        assert results[label]["left"] == FRESH, "fresh results must survive"
    ours, stock = results["ours"], results["stock"]
    print(
        f"ratio ours/stock: time {ours['elapsed'] / stock['elapsed']:.2f}, "
        f"longest lock {ours['longest'] / stock['longest']:.3f}"
    )


if __name__ == "__main__":
    main()
