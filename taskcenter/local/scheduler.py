"""The local scheduler: APScheduler running maintenance jobs in its own process.

`manage.py run_apscheduler` is its only home. APScheduler has no cross-process
coordination of its own, so it must never run inside web workers; across
`run_apscheduler` processes the leader lease (`runner`, `leader`) decides who fires.
`LocalScheduler` holds the defaults for jitter, coalesce, misfire grace time and max
instances from the `APSCHEDULER` setting, and registers cron/interval/date jobs (the
catalog's `@local_job` jobs among them, on their code's trigger or an override). Each
run is wrapped: it starts only while `gate` (the lease's local check) allows, and returns
its value with its start and end (`Timed`) for the recorder.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.job import Job as ApsJob
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.db import close_old_connections

from taskcenter.catalog import Job, Runtime, all_jobs
from taskcenter.local.triggers import trigger_build

logger = logging.getLogger(__name__)


#: What a job returns when this process did not hold the lease at its start.
NOT_LEADING = object()


@dataclass(frozen=True)
class Timed:
    """A run's return value with its start and end (epoch seconds), read by the recorder."""

    value: Any
    started: float
    finished: float


class Running:
    """Which jobs run right now in this process (for the SIGTERM wait and the heartbeat)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, tuple[str, float]] = {}
        self._ids = itertools.count()

    def enter(self, name: str, started: float) -> int:
        token = next(self._ids)
        with self._lock:
            self._jobs[token] = (name, started)
        return token

    def leave(self, token: int) -> None:
        with self._lock:
            self._jobs.pop(token, None)

    def jobs(self) -> list[tuple[str, float]]:
        with self._lock:
            return list(self._jobs.values())


def _stamp(exc: BaseException, started: float) -> None:
    try:
        exc.__dict__["taskcenter_timing"] = (started, time.time())
    except (AttributeError, TypeError):  # exceptions without a __dict__ keep event times
        pass


def _guard(
    name: str,
    func: Callable[..., Any],
    *,
    gate: Callable[[], bool] | None = None,
    running: Running | None = None,
) -> Callable[..., Any]:
    """Wrap a job: run only under the lease, with a live DB connection, timed and logged.

    Django does not reconnect by itself after the database restarts; closing stale
    connections around each run gives every run a working one. `gate` (the leader lease's
    local check, no I/O) is asked at the start of every run, so a process that lost the
    lease never starts a job, however late it notices.
    """
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if gate is not None and not gate():
                return NOT_LEADING
            started = time.time()
            token = running.enter(name, started) if running else 0
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                _stamp(exc, started)
                logger.exception("local job %s failed", name)
                raise
            finally:
                if running:
                    running.leave(token)
            return Timed(result, started, time.time())

        return run_async

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if gate is not None and not gate():
            return NOT_LEADING
        close_old_connections()
        started = time.time()
        token = running.enter(name, started) if running else 0
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _stamp(exc, started)
            logger.exception("local job %s failed", name)
            raise
        finally:
            if running:
                running.leave(token)
            close_old_connections()
        finished = time.time()
        logger.info("local job %s done in %.3fs", name, finished - started)
        return Timed(result, started, finished)

    return run


class LocalScheduler:
    """An AsyncIOScheduler with the project's defaults and catalog loading."""

    def __init__(
        self,
        *,
        gate: Callable[[], bool] | None = None,
        running: Running | None = None,
        **overrides: Any,
    ) -> None:
        options = {**settings.APSCHEDULER, **overrides}
        self.gate = gate
        self.running = running
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
            _guard(job_id, func, gate=self.gate, running=self.running),
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

    def register_job(self, job: Job, *, override: dict[str, Any] | None = None) -> str:
        """Schedule a catalog job of the local runtime on its trigger (or `override`)."""
        if job.runtime != Runtime.LOCAL or job.trigger is None:
            raise ValueError(f"{job.name} is not a local job")
        return self._add(job.name, job.func, self.trigger_for(job, override), **_policy(job))

    def trigger_for(self, job: Job, override: dict[str, Any] | None = None) -> BaseTrigger:
        """Return the APScheduler trigger of `job`: its override when set, else its code's."""
        return trigger_build(
            code=job.trigger,
            override=override,
            timezone=self.timezone,
            default_jitter=self.default_jitter,
        )

    def run_once(self, job: Job, *, run_id: str) -> str:
        """Run `job` once now, beside its trigger (which is left alone)."""
        return self._add(run_id, job.func, DateTrigger(timezone=self.timezone), **_policy(job))

    def load_catalog(self, names: list[str] | None = None) -> list[str]:
        """Schedule every local job of the catalog (or only those in `names`)."""
        return [
            self.register_job(job)
            for job in all_jobs(Runtime.LOCAL)
            if names is None or job.name in names
        ]

    @property
    def aps(self) -> AsyncIOScheduler:
        """The APScheduler scheduler itself (pause, resume, listeners, job changes)."""
        return self._scheduler

    def get_job(self, job_id: str) -> ApsJob | None:
        return self._scheduler.get_job(job_id)

    def get_jobs(self) -> list[ApsJob]:
        return self._scheduler.get_jobs()


def _policy(job: Job) -> dict[str, Any]:
    t = job.trigger
    return {
        "coalesce": t.coalesce,
        "misfire_grace_time": t.misfire_grace_time,
        "max_instances": t.max_instances,
    }


async def serve(scheduler: LocalScheduler, stop: asyncio.Event) -> None:
    """Run `scheduler` on the current loop until `stop` is set, then shut it down."""
    scheduler.start()
    for job in scheduler.get_jobs():
        logger.info("local job %s scheduled, next run %s", job.id, job.next_run_time)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=True)
