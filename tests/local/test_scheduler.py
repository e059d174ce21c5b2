"""The local scheduler runs catalog jobs on real APScheduler triggers with our defaults."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from taskcenter.catalog import Runtime, all_jobs
from taskcenter.local.scheduler import LocalScheduler, serve


def run_scheduler_until(scheduler: LocalScheduler, done: threading.Event, timeout: float) -> None:
    """Serve `scheduler` on a fresh loop until `done` is set or `timeout` passes."""

    async def main() -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while not done.is_set() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            stop.set()

        await asyncio.gather(serve(scheduler, stop), watch())

    asyncio.run(main())


def test_interval_job_fires_repeatedly():
    calls: list[datetime] = []
    done = threading.Event()

    def tick() -> None:
        calls.append(datetime.now(UTC))
        if len(calls) == 3:
            done.set()

    scheduler = LocalScheduler()
    scheduler.register_interval("tick", tick, seconds=0.2)

    run_scheduler_until(scheduler, done, timeout=10)

    assert len(calls) >= 3


def test_date_job_fires_once_and_coroutine_jobs_are_awaited():
    calls: list[str] = []
    done = threading.Event()

    async def once() -> None:
        calls.append("ran")
        done.set()

    scheduler = LocalScheduler()
    scheduler.register_date("once", once, run_date=datetime.now(UTC) + timedelta(seconds=0.3))

    run_scheduler_until(scheduler, done, timeout=10)

    assert calls == ["ran"]
    assert scheduler.get_job("once") is None  # a date job is removed after its run


def test_load_catalog_schedules_every_local_job():
    scheduler = LocalScheduler()

    names = scheduler.load_catalog()

    assert set(names) == {j.name for j in all_jobs(Runtime.LOCAL)}
    assert "jobs.maintenance.purge_results" in names


def test_catalog_jobs_get_declared_trigger_jitter_and_settings_defaults(settings):
    settings.APSCHEDULER = {**settings.APSCHEDULER, "misfire_grace_time": 42, "max_instances": 3}

    async def main() -> dict:
        scheduler = LocalScheduler()
        scheduler.load_catalog()
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job("jobs.maintenance.purge_results")
            return {
                "trigger": str(job.trigger),
                "jitter": job.trigger.jitter,
                "misfire": job.misfire_grace_time,
                "max_instances": job.max_instances,
                "coalesce": job.coalesce,
            }
        finally:
            scheduler.shutdown(wait=False)

    seen = asyncio.run(main())

    assert "hour='3'" in seen["trigger"]
    assert "minute='30'" in seen["trigger"]
    assert seen["jitter"] == 300
    assert seen["misfire"] == 42
    assert seen["max_instances"] == 3
    assert seen["coalesce"] is True


def test_max_instances_keeps_a_slow_job_from_overlapping():
    running = 0
    peak = 0
    finished = threading.Event()
    count = 0

    def slow() -> None:
        nonlocal running, peak, count
        running += 1
        peak = max(peak, running)
        threading.Event().wait(0.5)  # the job's own work: longer than its interval
        running -= 1
        count += 1
        if count == 2:
            finished.set()

    scheduler = LocalScheduler(max_instances=1)
    scheduler.register_interval("slow", slow, seconds=0.1)

    run_scheduler_until(scheduler, finished, timeout=10)

    assert peak == 1
