"""The local scheduler: APScheduler running maintenance jobs in its own process.

`manage.py run_apscheduler` is its only home. APScheduler has no cross-process
coordination, so it must never run inside web workers (each would fire every job).
`LocalScheduler` holds the defaults for jitter, coalesce, misfire grace time and max
instances from the `APSCHEDULER` setting, and registers cron/interval/date jobs (the
catalog's `@local_job` jobs among them).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from apscheduler.job import Job as ApsJob
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.db import close_old_connections

from taskcenter.catalog import Job, Runtime, all_jobs

logger = logging.getLogger(__name__)


def _guard(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a job so it gets a live DB connection, and its outcome and duration are logged.

    Django does not reconnect by itself after the database restarts; closing stale
    connections around each run gives every run a working one.
    """
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                result = await func(*args, **kwargs)
            except Exception:
                logger.exception("local job %s failed", name)
                raise
            logger.info("local job %s done in %.3fs", name, time.monotonic() - started)
            return result

        return run_async

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        started = time.monotonic()
        try:
            result = func(*args, **kwargs)
        except Exception:
            logger.exception("local job %s failed", name)
            raise
        finally:
            close_old_connections()
        logger.info("local job %s done in %.3fs", name, time.monotonic() - started)
        return result

    return run


class LocalScheduler:
    """An AsyncIOScheduler with the project's defaults and catalog loading."""

    def __init__(self, **overrides: Any) -> None:
        options = {**settings.APSCHEDULER, **overrides}
        self.timezone: str = options["timezone"]
        self.default_jitter: int = options["jitter"]
        self._scheduler = AsyncIOScheduler(
            timezone=self.timezone,
            job_defaults={
                "coalesce": options["coalesce"],
                "misfire_grace_time": options["misfire_grace_time"],
                "max_instances": options["max_instances"],
            },
        )

    def start(self, *, paused: bool = False) -> None:
        """Start firing jobs; needs a running asyncio loop in this thread."""
        self._scheduler.start(paused=paused)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the scheduler (waiting for running jobs when `wait`)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def _add(self, job_id: str, func: Callable[..., Any], trigger: Any, **options: Any) -> str:
        options = {k: v for k, v in options.items() if v is not None}
        self._scheduler.add_job(
            _guard(job_id, func),
            trigger,
            id=job_id,
            name=job_id,
            replace_existing=True,
            **options,
        )
        return job_id

    def register_cron(
        self,
        job_id: str,
        func: Callable[..., Any],
        *,
        jitter: int | None = None,
        job_options: dict[str, Any] | None = None,
        **cron: Any,
    ) -> str:
        """Run `func` on a cron trigger (`minute="*/5"`, `hour=3`, ...)."""
        jitter = self.default_jitter if jitter is None else jitter
        trigger = CronTrigger(timezone=self.timezone, jitter=jitter or None, **cron)
        return self._add(job_id, func, trigger, **(job_options or {}))

    def register_interval(
        self,
        job_id: str,
        func: Callable[..., Any],
        *,
        jitter: int | None = None,
        job_options: dict[str, Any] | None = None,
        **interval: Any,
    ) -> str:
        """Run `func` every interval (`seconds=30`, `hours=1`, ...)."""
        jitter = self.default_jitter if jitter is None else jitter
        trigger = IntervalTrigger(timezone=self.timezone, jitter=jitter or None, **interval)
        return self._add(job_id, func, trigger, **(job_options or {}))

    def register_date(
        self,
        job_id: str,
        func: Callable[..., Any],
        *,
        run_date: Any = None,
        job_options: dict[str, Any] | None = None,
    ) -> str:
        """Run `func` once at `run_date` (now when None)."""
        trigger = DateTrigger(run_date=run_date, timezone=self.timezone)
        return self._add(job_id, func, trigger, **(job_options or {}))

    def register_job(self, job: Job) -> str:
        """Schedule a catalog job of the local runtime on its declared trigger."""
        if job.runtime != Runtime.LOCAL or job.trigger is None:
            raise ValueError(f"{job.name} is not a local job")
        t = job.trigger
        options = {
            "coalesce": t.coalesce,
            "misfire_grace_time": t.misfire_grace_time,
            "max_instances": t.max_instances,
        }
        if t.kind == "cron":
            return self.register_cron(
                job.name, job.func, jitter=t.jitter, job_options=options, **t.args
            )
        if t.kind == "interval":
            return self.register_interval(
                job.name, job.func, jitter=t.jitter, job_options=options, **t.args
            )
        return self.register_date(job.name, job.func, job_options=options, **t.args)

    def load_catalog(self, names: list[str] | None = None) -> list[str]:
        """Schedule every local job of the catalog (or only those in `names`)."""
        return [
            self.register_job(job)
            for job in all_jobs(Runtime.LOCAL)
            if names is None or job.name in names
        ]

    def get_job(self, job_id: str) -> ApsJob | None:
        return self._scheduler.get_job(job_id)

    def get_jobs(self) -> list[ApsJob]:
        return self._scheduler.get_jobs()


async def serve(scheduler: LocalScheduler, stop: asyncio.Event) -> None:
    """Run `scheduler` on the current loop until `stop` is set, then shut it down."""
    scheduler.start()
    for job in scheduler.get_jobs():
        logger.info("local job %s scheduled, next run %s", job.id, job.next_run_time)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=True)
