"""Side-by-side local scheduler bench: bare APScheduler 3.11 vs our recorded run_apscheduler.

1,000 interval jobs every second (coroutine jobs that only note when they started), in
two layouts: `staggered` (job i due at i/1000 s past each second) and `burst` (all due at
the same instant). For each layout, bare and ours run at the same time in two fresh child
processes firing at the same instants, so both see the same machine load (the machine is
shared and noisy; read the per-round ratios):

- bare: `AsyncIOScheduler` with the same job defaults, nothing else;
- ours: `taskcenter.local.runner.LocalRunner` as `manage.py run_apscheduler` runs it:
  the leader lease (Redis), the lease check and timing around every run, every run
  recorded as a `LocalJobRun` row (batched INSERTs on the database thread), the admin
  control poll and the heartbeat.

Reported per child: start lag (start minus due time) p50 / p99 over the measured window,
runs made versus slots due, and the child's CPU (user + system, all threads) as a
fraction of one core. APScheduler's per-run INFO log lines are off in both (WARNING),
so the comparison is the recording, not the console. The database server's own CPU for
the INSERTs is not in the figure (it is shared with other work on this machine).

    flock /tmp/tc-cpu.lock env DATABASE_URL=mysql://root:@127.0.0.1:3306/tc_h14_bench \\
      REDIS_URL=redis://127.0.0.1:6379/2 .venv/bin/python bench/local_scheduler.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

#: Seconds between starting the two children and their first slot: Django's start-up
#: and taking the lease, with room for a loaded machine.
LEAD_IN = 6.0
#: The first seconds of firing are left out (thread pool and connections warming up).
WARMUP = 2.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _child(kind: str, layout: str, jobs: int, seconds: float, t0: float) -> dict:
    import django

    django.setup()
    for name in ("apscheduler", "apscheduler.executors.default", "apscheduler.scheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)

    offsets = [(i / jobs if layout == "staggered" else 0.0) for i in range(jobs)]
    window = (t0 + WARMUP, t0 + WARMUP + seconds)
    lags: list[float] = []
    total = [0]

    def make(base: float):
        async def probe() -> None:
            now = time.time()
            total[0] += 1
            if window[0] <= now < window[1]:
                lags.append((now - base) % 1.0)

        return probe

    funcs = [make(t0 + off) for off in offsets]
    starts = [datetime.fromtimestamp(t0 + off, UTC) for off in offsets]

    async def main() -> dict:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if kind == "bare":
            from apscheduler.schedulers.asyncio import AsyncIOScheduler
            from apscheduler.triggers.interval import IntervalTrigger
            from django.conf import settings

            opts = settings.APSCHEDULER
            scheduler = AsyncIOScheduler(
                timezone="UTC",
                job_defaults={
                    "coalesce": opts["coalesce"],
                    "misfire_grace_time": opts["misfire_grace_time"],
                    "max_instances": opts["max_instances"],
                },
            )
            for i, func in enumerate(funcs):
                scheduler.add_job(
                    func, IntervalTrigger(seconds=1, start_date=starts[i]), id=f"j{i}"
                )
            scheduler.start()
            serving = None
        else:
            from taskcenter.catalog import local_job
            from taskcenter.local.runner import LocalRunner

            names = []
            for i, func in enumerate(funcs):
                name = f"bench.local.j{i:04d}"
                local_job(name, trigger="interval", jitter=0, seconds=1, start_date=starts[i])(func)
                names.append(name)
            runner = LocalRunner(names=names)
            serving = asyncio.create_task(runner.serve(stop))
        await asyncio.sleep(max(0.0, window[0] - time.time()))
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(max(0.0, window[1] - time.time()))
        cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        stop.set()
        if serving is not None:
            await serving
        else:
            scheduler.shutdown(wait=False)
        del loop
        return {"cpu": cpu}

    figures = asyncio.run(main())
    recorded = None
    if kind == "ours":
        from taskcenter.models import LocalJobRun

        recorded = LocalJobRun.objects.filter(job__startswith="bench.local.").count()
    return {
        "kind": kind,
        "layout": layout,
        "runs": len(lags),
        "due": jobs * int(seconds),
        "p50_ms": 1000 * _pct(lags, 0.50),
        "p99_ms": 1000 * _pct(lags, 0.99),
        "mean_ms": 1000 * statistics.fmean(lags) if lags else float("nan"),
        "cpu": figures["cpu"],
        "recorded": recorded,
        "total_runs": total[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--layouts", default="staggered,burst")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "LAYOUT"), help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        print(json.dumps(_child(*opts.child, opts.jobs, opts.seconds, opts.t0)))
        return

    import django

    django.setup()
    from django.core.management import call_command

    from bench._common import mysql_database_create

    if os.environ.get("DATABASE_URL", "").startswith("mysql"):
        mysql_database_create(os.environ["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    from taskcenter.models import LocalJobRun

    env = {
        **os.environ,
        "TASKCENTER_LOCAL_LEASE_KEY": f"bench:apscheduler:{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
    }
    results = []
    for _ in range(opts.rounds):
        for layout in opts.layouts.split(","):
            LocalJobRun.objects.filter(job__startswith="bench.local.").delete()
            t0 = float(int(time.time() + LEAD_IN))  # both children, the same instants
            children = {
                kind: subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        kind,
                        layout,
                        "--jobs",
                        str(opts.jobs),
                        "--seconds",
                        str(opts.seconds),
                        "--t0",
                        str(t0),
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for kind in ("bare", "ours")
            }
            for kind, child in children.items():
                out, err = child.communicate(timeout=LEAD_IN + WARMUP + opts.seconds + 60)
                if child.returncode:
                    sys.exit(f"{kind}/{layout} failed:\n{err[-3000:]}")
                row = json.loads(out.strip().splitlines()[-1])
                results.append(row)
                print(
                    f"{layout:9} {kind:4}  runs {row['runs']:6}/{row['due']:<6} "
                    f"p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms  "
                    f"cpu {100 * row['cpu']:5.1f}%  "
                    f"recorded {row['recorded']} of {row['total_runs']} runs",
                    flush=True,
                )
    for layout in opts.layouts.split(","):
        bare = [r for r in results if r["layout"] == layout and r["kind"] == "bare"]
        ours = [r for r in results if r["layout"] == layout and r["kind"] == "ours"]
        ratios = [o["p99_ms"] / b["p99_ms"] for b, o in zip(bare, ours, strict=True)]
        cpu = [(b["cpu"], o["cpu"]) for b, o in zip(bare, ours, strict=True)]
        print(
            f"{layout}: p99 ours / bare = {statistics.median(ratios):.2f} median "
            f"({min(ratios):.2f}-{max(ratios):.2f}) over {len(ratios)} round(s); "
            f"p99 bare {statistics.median(b['p99_ms'] for b in bare):.2f} ms, "
            f"ours {statistics.median(o['p99_ms'] for o in ours):.2f} ms; cpu bare "
            f"{100 * statistics.median(c[0] for c in cpu):.1f}%, "
            f"ours {100 * statistics.median(c[1] for c in cpu):.1f}%"
        )


if __name__ == "__main__":
    main()
