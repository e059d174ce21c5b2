"""Apply the admin's `LocalJobState` rows to the running scheduler: pause, override, run now.

`states_read` runs on the database thread; `Control.apply` runs on the scheduler's loop
and changes only what differs from what it applied last, so a poll every half second
costs one small SELECT and no scheduler work while nothing changes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from django.db import close_old_connections
from django.db.models import Count, Max

from taskcenter.catalog import Job
from taskcenter.local.scheduler import LocalScheduler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class State:
    """What the operator wants for one job."""

    paused: bool = False
    override: dict[str, Any] | None = None
    run_now_at: datetime | None = None


#: A job with no state row: not paused, the code's trigger.
DEFAULT = State()


def states_read(
    names: list[str], marker: tuple | None = None
) -> tuple[tuple, dict[str, State] | None]:
    """Read the operator's states (database thread); None when unchanged since `marker`.

    The marker (row count, latest change, latest run-now request) is one aggregate over
    a small table, so a poll every half second reads the rows only after a change.
    """
    from taskcenter.models import LocalJobState

    close_old_connections()
    current = tuple(
        LocalJobState.objects.aggregate(
            n=Count("job"), changed=Max("updated_at"), run_now=Max("run_now_requested_at")
        ).values()
    )
    if marker is not None and current == marker:
        return marker, None
    wanted = set(names)
    rows = LocalJobState.objects.values_list(
        "job", "paused", "trigger_override", "run_now_requested_at"
    )
    states = {
        job: State(paused, override or None, run_now)
        for job, paused, override, run_now in rows
        if job in wanted
    }
    return current, states


class Control:
    """Keep the scheduler's jobs in line with the operator's states (loop thread)."""

    def __init__(self, scheduler: LocalScheduler, jobs: list[Job], run_now_ids: dict[str, str]):
        self.scheduler = scheduler
        self.jobs = {job.name: job for job in jobs}
        self.run_now_ids = run_now_ids
        self.applied: dict[str, State] = {}
        #: Run-now requests already started, until their clearing reaches the database.
        self.started_requests: dict[str, datetime] = {}

    def load(self, states: dict[str, State]) -> None:
        """Register every job with its override and pause (the scheduler is paused)."""
        self.applied = {}
        for name, job in self.jobs.items():
            state = states.get(name, DEFAULT)
            self.scheduler.register_job(job, override=state.override)
            if state.paused:
                self.scheduler.aps.pause_job(name)
            self.applied[name] = State(state.paused, state.override)

    def apply(self, states: dict[str, State]) -> list[tuple[str, datetime]]:
        """Apply what changed; return the run-now requests started, to be cleared."""
        started: list[tuple[str, datetime]] = []
        for name, job in self.jobs.items():
            try:
                self._apply_one(name, job, states.get(name, DEFAULT), started)
            except JobLookupError:  # a date job that has run is no longer scheduled
                self.applied[name] = states.get(name, DEFAULT)
        return started

    def _apply_one(
        self, name: str, job: Job, want: State, started: list[tuple[str, datetime]]
    ) -> None:
        had = self.applied.get(name, DEFAULT)
        if want.run_now_at is not None and self.started_requests.get(name) != want.run_now_at:
            self.started_requests[name] = want.run_now_at
            run_id = f"{name}@now-{uuid.uuid4().hex[:8]}"
            self.run_now_ids[run_id] = name
            self.scheduler.run_once(job, run_id=run_id)
            logger.info("local job %s: running now (requested %s)", name, want.run_now_at)
            started.append((name, want.run_now_at))
        if want.paused == had.paused and want.override == had.override:
            return
        if want.override != had.override:
            trigger = self.scheduler.trigger_for(job, want.override)
            self.scheduler.aps.reschedule_job(name, trigger=trigger)
            logger.info("local job %s: trigger now %s", name, trigger)
            if want.paused:
                self.scheduler.aps.pause_job(name)
        if want.paused != had.paused:
            if want.paused:
                self.scheduler.aps.pause_job(name)
            else:
                self.scheduler.aps.resume_job(name)
            logger.info("local job %s: %s", name, "paused" if want.paused else "resumed")
        self.applied[name] = State(want.paused, want.override)
