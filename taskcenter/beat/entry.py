"""One schedule as beat holds it: django-celery-beat's ModelEntry plus our per-schedule policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import schedules
from django_celery_beat.schedulers import ModelEntry

from taskcenter.models import ScheduleSettings

_DEFAULTS = ScheduleSettings()


class Gate:
    """Why an entry may not run now, apart from its schedule."""

    OPEN = "open"
    WAIT = "wait"
    DROP = "drop"


class TaskcenterEntry(ModelEntry):
    """A PeriodicTask row with its ScheduleSettings (defaults when it has none)."""

    def __init__(self, model, app=None) -> None:
        #: True when the row had no last_run_at: beat must store the one it chose.
        self.needs_persist = model.last_run_at is None
        super().__init__(model, app=app)
        if self.needs_persist and model.start_time is not None:
            # Stock beat backdates 30 years so the first run lands on start_time; from a
            # stored slot, "one period before start" does that without a fake backlog.
            model.last_run_at = self.last_run_at = self._before(model.start_time)
        self.last_run_at = self.model.last_run_at = _aware(self.last_run_at)
        try:
            policy = model.settings
        except ScheduleSettings.DoesNotExist:
            policy = _DEFAULTS
        self.overlap = policy.overlap
        self.catch_up = policy.catch_up
        self.catch_up_deadline = policy.catch_up_deadline
        self.paused_until = policy.paused_until
        #: Heap version: bumped when the entry is replaced, so stale heap items are dropped.
        self.version = 0
        self.last_task_id: str | None = None
        self.last_sent_at: datetime | None = None
        #: Whether a failed publish of this schedule is recorded and still being retried.
        self.pending = False
        self.retry_delay = 0.0

    def _before(self, start: datetime) -> datetime:
        if isinstance(self.schedule, schedules.schedule):
            return _aware(start) - self.schedule.run_every
        return _aware(start) - timedelta(microseconds=1)

    def gate(self, now: datetime) -> tuple[str, datetime | None]:
        """Return (OPEN/WAIT/DROP, time to look again) for pause, start, expiry, one-off."""
        model = self.model
        if self.paused_until is not None and self.paused_until > now:
            return Gate.WAIT, self.paused_until
        if model.start_time is not None and model.start_time > now:
            return Gate.WAIT, model.start_time
        if model.expires is not None and now >= model.expires:
            self._disable(model)
            return Gate.DROP, None
        if model.one_off and model.total_run_count > 0:
            model.enabled = False
            model.total_run_count = 0
            model.save(update_fields=["enabled", "total_run_count", "last_run_at"])
            return Gate.DROP, None
        return Gate.OPEN, None

    def carry_over(self, old: TaskcenterEntry) -> None:
        """Keep what only this process knows (last task sent, pending retry) across a reload."""
        self.version = old.version + 1
        self.last_task_id = old.last_task_id
        self.last_sent_at = old.last_sent_at
        self.pending = old.pending
        self.retry_delay = old.retry_delay


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
