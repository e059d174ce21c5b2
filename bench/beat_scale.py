"""Side-by-side beat benchmark: stock DatabaseScheduler vs TaskcenterScheduler.

Same database, same broker, same schedules: N interval schedules every 30 s whose first
due times are spread evenly over one 30 s window (N/30 dispatches per second). For each
scheduler and N it starts a real `celery beat`, drains the bench queue from Redis with
a timestamp per message, and reports:

- lag: first dispatch of each schedule minus its due time (p50/p99; a schedule not
  dispatched by the end of the run counts with the lag it had reached then, a lower bound);
- rate: messages per second over the 30 s window;
- cpu: beat's user+system CPU over the window, as a fraction of one core;
- pickup: save of a new, already-due schedule (via the model, so stock sees it) to its
  first message; 20 such saves per run, p50 and max (a schedule never dispatched counts
  with the time it had waited by the end).

Usage (a few minutes; not part of the test suite):
    DATABASE_URL=mysql://root:@127.0.0.1:3306/taskcenter_i4_bench \\
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/beat_scale.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_celery_beat.models import IntervalSchedule, PeriodicTask  # noqa: E402

SCHEDULERS = {
    "stock": "django_celery_beat.schedulers:DatabaseScheduler",
    "ours": "taskcenter.beat.scheduler:TaskcenterScheduler",
}
PERIOD = 30  # seconds: the "every 30 s"
WARMUP = 12  # seconds from beat start to the first due time (initial load of N rows)
TAIL = 15  # seconds after the window to let late dispatches arrive
ADDED = 20  # schedules created during the window to time change pickup
QUEUE = "bench-beat"


class Drain(threading.Thread):
    """Pop every message from the bench queue, stamping when it was seen."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.seen: list[tuple[str, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pipe = self.client.pipeline()
            pipe.lrange(QUEUE, 0, -1)
            pipe.delete(QUEUE)
            raw, _ = pipe.execute()
            stamp = time.time()
            for item in raw:
                self.seen.append((json.loads(item)["headers"]["periodic_task_name"], stamp))
            self.stop.wait(0.02)


def _reset(n: int, first_due: float) -> dict[str, float]:
    """Replace every schedule with N bench schedules; return name -> first due time."""
    with connection.cursor() as cursor:
        for table in (
            "taskcenter_scheduleevent",
            "taskcenter_schedulesettings",
            "django_celery_beat_periodictask",
            "taskcenter_schedulechangefeed",
        ):
            cursor.execute(f"DELETE FROM {table}")
    interval, _ = IntervalSchedule.objects.get_or_create(every=PERIOD, period="seconds")
    due = {f"bench-{i:05d}": first_due + PERIOD * i / n for i in range(n)}
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=name,
                task="bench.noop",
                interval=interval,
                queue=QUEUE,
                last_run_at=datetime.fromtimestamp(at - PERIOD, UTC),
            )
            for name, at in due.items()
        ],
        batch_size=2000,
    )
    return due


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else (values[0] if values else float("nan"))
    )


def run_one(scheduler: str, n: int, tmp: Path) -> dict[str, float]:
    start = time.time()
    due = _reset(n, start + WARMUP)
    redis.Redis.from_url(settings.REDIS_URL).delete(QUEUE)
    drain = Drain(settings.REDIS_URL)
    drain.start()
    env = dict(os.environ, TASKCENTER_BEAT_LEASE_KEY=f"bench:beat:{scheduler}:{n}")
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "-l",
            "WARNING",
            "-S",
            SCHEDULERS[scheduler],
            "--pidfile",
            str(tmp / f"{scheduler}-{n}.pid"),
            "-s",
            str(tmp / f"{scheduler}-{n}.schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    window_start = start + WARMUP
    time.sleep(max(0.0, window_start - time.time()))
    cpu_start = _cpu_seconds(beat.pid)
    # From five seconds into the window, add ADDED already-due schedules through the
    # model (so stock sees them too), one every half second.
    time.sleep(5)
    interval = IntervalSchedule.objects.get(every=PERIOD, period="seconds")
    saved: dict[str, float] = {}
    for k in range(ADDED):
        name = f"bench-added-{k:02d}"
        saved[name] = time.time()
        PeriodicTask.objects.create(
            name=name,
            task="bench.noop",
            interval=interval,
            queue=QUEUE,
            last_run_at=datetime.now(UTC) - timedelta(seconds=PERIOD),
        )
        time.sleep(0.5)
    time.sleep(max(0.0, window_start + PERIOD - time.time()))
    cpu = (_cpu_seconds(beat.pid) - cpu_start) / PERIOD
    in_window = sum(1 for _, t in drain.seen if window_start <= t < window_start + PERIOD)
    time.sleep(TAIL)
    end = time.time()
    beat.terminate()
    try:
        beat.wait(30)
    except subprocess.TimeoutExpired:
        beat.kill()
        beat.wait()
    drain.stop.set()
    drain.join()

    first: dict[str, float] = {}
    for name, stamp in drain.seen:
        first.setdefault(name, stamp)
    lags = [first.get(name, end) - at for name, at in due.items()]
    pickups = [first.get(name, end) - at for name, at in saved.items()]
    missing = sum(1 for name in due if name not in first)
    return {
        "scheduler": scheduler,
        "n": n,
        "rate": in_window / PERIOD,
        "lag_p50": _pct(lags, 50),
        "lag_p99": _pct(lags, 99),
        "lag_max": max(lags),
        "undispatched": missing,
        "cpu": cpu,
        "pickup_p50": _pct(pickups, 50),
        "pickup_max": max(pickups),
        "pickup_missing": sum(1 for name in saved if name not in first),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--schedulers", nargs="+", default=["stock", "ours"], choices=SCHEDULERS)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for scheduler in args.schedulers:
                result = run_one(scheduler, n, Path(tmp))
                results.append(result)
                print(json.dumps(result), flush=True)
    print(
        "\n| N | scheduler | rate/s (due N/30) | lag p50 s | lag p99 s | lag max s |"
        " not sent | CPU core | pickup p50 s | pickup max s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['n']} | {r['scheduler']} | {r['rate']:.0f} | {r['lag_p50']:.3f} | "
            f"{r['lag_p99']:.3f} | {r['lag_max']:.2f} | {r['undispatched']} | "
            f"{r['cpu']:.0%} | {r['pickup_p50']:.2f} | {r['pickup_max']:.2f} |"
        )
    by = {(r["n"], r["scheduler"]): r for r in results}
    for n in args.sizes if len(args.schedulers) == 2 else ():
        stock, ours = by[(n, "stock")], by[(n, "ours")]
        print(
            f"N={n}: p99 lag stock/ours = {stock['lag_p99'] / max(ours['lag_p99'], 1e-3):.0f}x,"
            f" CPU stock/ours = {stock['cpu'] / max(ours['cpu'], 1e-3):.1f}x"
        )


if __name__ == "__main__":
    main()
