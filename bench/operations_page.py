"""Bench: the operations page over 1,000,000 task results (median latency, query count).

Fills a dedicated database with N results spread over the last 30 days (8 jobs, 5 %
failures, durations 0-10 s, queue waits 0-2 s) in one INSERT ... SELECT from MariaDB's
sequence engine, renders the page once (which rolls the finished hours up, timed on its
own), then renders `/admin/operations/` for each window through Django's test client as
a logged-in superuser and reports the median and p95 latency and the SQL statements per
render; "cold" renders first forget the finished hours' figures the process keeps (the
first render of a window in a process, or after the next hour is rolled up). A first
fill with a tenth of the rows shows the query count does not depend on the row count.

    flock /tmp/tc-cpu.lock .venv/bin/python bench/operations_page.py --rows 1000000 \
        --database-url mysql://root:@127.0.0.1:3306/tc_h16_bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import mysql_database_create  # noqa: E402

JOBS = (
    "jobs.reports.build_report",
    "jobs.email.send_email",
    "jobs.demo.add",
    "jobs.demo.total",
    "jobs.demo.slow",
    "jobs.demo.call_downstream",
    "jobs.health.check_urls",
    "jobs.bench.other",
)
# 30 days of results: the default retention.
SPAN_SECONDS = 30 * 86400


def setup(url: str) -> None:
    mysql_database_create(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Render admin pages without `collectstatic`: the manifest storage needs its manifest.
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    call_command("migrate", verbosity=0)


def fill(rows: int) -> float:
    """Replace the results table's rows with `rows` generated ones; return the seconds taken."""
    from django.db import connection

    began = time.perf_counter()
    names = ", ".join(f"'{j}'" for j in JOBS)
    step = SPAN_SECONDS / rows
    with connection.cursor() as c:
        c.execute("TRUNCATE TABLE django_celery_results_taskresult")
        c.execute(
            "INSERT INTO django_celery_results_taskresult (task_id, status, content_type,"
            " content_encoding, task_name, worker, result, date_done, date_started, date_created)"
            " SELECT UUID(), IF(seq % 20 = 0, 'FAILURE', 'SUCCESS'), 'application/json',"
            f" 'utf-8', ELT(1 + seq % {len(JOBS)}, {names}), 'bench@host', 'null',"
            " d.done, d.done - INTERVAL d.dur MICROSECOND,"
            " d.done - INTERVAL (d.dur + d.wait) MICROSECOND"
            " FROM (SELECT seq,"
            f" UTC_TIMESTAMP(6) - INTERVAL ROUND(seq * {step:.6f} * 1000000) MICROSECOND AS done,"
            " (seq * 7919) % 10000000 AS dur, (seq * 104729) % 2000000 AS wait"
            f" FROM seq_1_to_{int(rows)}) AS d"
        )
        c.execute("ANALYZE TABLE django_celery_results_taskresult")
        c.fetchall()
        # Rollups are rebuilt from this fill on the first render (timed on its own).
        c.execute("TRUNCATE TABLE taskcenter_runrollup")
        c.execute("TRUNCATE TABLE taskcenter_quarterdayrollup")
    return time.perf_counter() - began


def first_render() -> float:
    """Render the page once on fresh rollups; return its milliseconds (the catch-up cost)."""
    client = _client()
    began = time.perf_counter()
    assert client.get("/admin/operations/?window=7d").status_code == 200
    return (time.perf_counter() - began) * 1000


def _client():
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", password="bench"
    )
    client = Client()
    client.force_login(user)
    return client


def measure(window: str, repeat: int, *, cold: bool = False) -> tuple[float, float, int]:
    """Render the page `repeat` times; return (median ms, p95 ms, statements per render).

    `cold` forgets the finished hours' figures before each render, as the first render of
    a window in a process, or after a new hour is rolled up, reads them.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from taskcenter.monitoring.rollups import rollups_cache_clear

    client = _client()
    path = f"/admin/operations/?window={window}"
    for _ in range(2):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(repeat):
        if cold:
            rollups_cache_clear()
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return statistics.median(times), p95, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--database-url", default="mysql://root:@127.0.0.1:3306/taskcenter_ops_bench"
    )
    args = parser.parse_args()
    setup(args.database_url)
    for rows in (args.rows // 10, args.rows):
        took = fill(rows)
        print(f"filled {rows:,} results in {took:.1f} s")
        print(f"  first render, rolling up 8 days of hours and periods: {first_render():.0f} ms")
        for window in ("1h", "24h", "7d"):
            for cold in (False, True) if window != "1h" else (False,):
                median, p95, statements = measure(window, args.repeat, cold=cold)
                print(
                    f"  window {window:>3}{' cold' if cold else '     '}: median {median:7.1f} ms"
                    f"  p95 {p95:7.1f} ms  {statements} SQL statements"
                )


if __name__ == "__main__":
    main()
