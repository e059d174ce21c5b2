"""Write schedules (django-celery-beat PeriodicTasks): create, edit, pause, resume, delete, run now.

The admin and the API call these and nothing else, so every change is validated against
the job catalog, saved through the models (so beat notices), and written to the audit
trail (`ScheduleChange`) with who did it and what changed.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_celery_beat.models import PeriodicTask

from taskcenter import dispatch
from taskcenter.models import ScheduleChange, ScheduleSettings
from taskcenter.results.rows import row_mark_unsent
from taskcenter.services.schedule_specs import schedule_row, spec_clean

User = AbstractBaseUser | AnonymousUser | None

#: Fields of a PeriodicTask that the audit trail compares before and after a change.
AUDITED_FIELDS = ("name", "task", "args", "kwargs", "queue", "enabled", "description", "schedule")


def snapshot(task: PeriodicTask) -> dict[str, Any]:
    """Return the audited fields of `task` as JSON-friendly values."""
    return {
        "name": task.name,
        "task": task.task,
        "args": task.args,
        "kwargs": task.kwargs,
        "queue": task.queue,
        "enabled": task.enabled,
        "description": task.description,
        "schedule": str(task.scheduler) if task.scheduler else None,
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for every audited field whose value changed."""
    return {
        f: [before.get(f), after.get(f)] for f in AUDITED_FIELDS if before.get(f) != after.get(f)
    }


def _audit(
    *, user: User, task: PeriodicTask, action: str, changes: dict[str, Any], task_id: str = ""
) -> ScheduleChange:
    return ScheduleChange.objects.create(
        periodic_task=task if task.pk else None,
        schedule_name=task.name,
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        changes=changes,
        task_id=task_id,
    )


def _apply(task: PeriodicTask, cleaned: dict[str, Any]) -> None:
    task.name = cleaned["name"]
    task.task = cleaned["task"]
    task.args = json.dumps(cleaned["args"])
    task.kwargs = json.dumps(cleaned["kwargs"])
    task.queue = cleaned["queue"]
    task.enabled = cleaned["enabled"]
    task.description = cleaned["description"]
    if "schedule" in cleaned:
        for field, value in schedule_row(*cleaned["schedule"]).items():
            setattr(task, field, value)


@transaction.atomic
def schedule_create(*, user: User, data: dict[str, Any]) -> PeriodicTask:
    """Create a periodic task from `data`, validated against the job catalog.

    `data` keys: `name` (unique), `job` (a Celery job of the catalog), `args` (list) and
    `kwargs` (dict) checked against the job's signature (JSON strings are accepted too),
    `queue` (a configured queue or None for the job's route), `enabled` (default True),
    `description`, and exactly one schedule: `interval` {every, period},
    `crontab` {minute, hour, day_of_week, day_of_month, month_of_year, timezone},
    `clocked` {clocked_time} (runs once) or `solar` {event, latitude, longitude}.
    Raises ValidationError({field: [messages]}) before writing anything.
    """
    cleaned = spec_clean(data=data)
    task = PeriodicTask()
    _apply(task, cleaned)
    task.save()
    ScheduleSettings.objects.get_or_create(periodic_task=task)
    _audit(
        user=user, task=task, action=ScheduleChange.Action.CREATE, changes=diff({}, snapshot(task))
    )
    return task


@transaction.atomic
def schedule_update(*, user: User, task: PeriodicTask, data: dict[str, Any]) -> PeriodicTask:
    """Change the keys of `data` (same keys as `schedule_create`); the others keep their value."""
    task = PeriodicTask.objects.select_for_update().get(pk=task.pk)
    before = snapshot(task)
    cleaned = spec_clean(data=data, instance=task)
    _apply(task, cleaned)
    task.save()
    changes = diff(before, snapshot(task))
    if changes:
        if set(changes) == {"enabled"}:
            action = ScheduleChange.Action.ENABLE if task.enabled else ScheduleChange.Action.DISABLE
        else:
            action = ScheduleChange.Action.UPDATE
        _audit(user=user, task=task, action=action, changes=changes)
    if task.enabled:
        ScheduleSettings.objects.filter(periodic_task=task).update(paused_until=None)
    return task


@transaction.atomic
def schedule_delete(*, user: User, task: PeriodicTask) -> None:
    """Delete the periodic task; its audit trail stays, under its name."""
    _audit(
        user=user, task=task, action=ScheduleChange.Action.DELETE, changes=diff(snapshot(task), {})
    )
    task.delete()


@transaction.atomic
def schedule_pause(
    *, user: User, task: PeriodicTask, until: datetime | None = None
) -> PeriodicTask:
    """Stop dispatching the schedule; with `until`, it resumes by itself after that time.

    Pausing disables the task (beat only loads enabled tasks) and records `paused_until`
    in ScheduleSettings; `schedules_resume_due` re-enables it once that time has passed.
    """
    if until is not None and until <= timezone.now():
        raise ValidationError({"until": [gettext("Must be in the future.")]})
    task = PeriodicTask.objects.select_for_update().get(pk=task.pk)
    settings_row, _ = ScheduleSettings.objects.get_or_create(periodic_task=task)
    changes = {
        "enabled": [task.enabled, False],
        "paused_until": [_iso(settings_row.paused_until), _iso(until)],
    }
    task.enabled = False
    task.save()
    settings_row.paused_until = until
    settings_row.save(update_fields=["paused_until"])
    _audit(user=user, task=task, action=ScheduleChange.Action.PAUSE, changes=changes)
    return task


@transaction.atomic
def schedule_resume(*, user: User, task: PeriodicTask) -> PeriodicTask:
    """Enable the schedule again and forget any pause-until time."""
    task = PeriodicTask.objects.select_for_update().get(pk=task.pk)
    settings_row, _ = ScheduleSettings.objects.get_or_create(periodic_task=task)
    changes = {
        "enabled": [task.enabled, True],
        "paused_until": [_iso(settings_row.paused_until), None],
    }
    task.enabled = True
    task.save()
    settings_row.paused_until = None
    settings_row.save(update_fields=["paused_until"])
    _audit(user=user, task=task, action=ScheduleChange.Action.RESUME, changes=changes)
    return task


def schedule_run_now(
    *, user: User, task: PeriodicTask, args: list | None = None, kwargs: dict | None = None
) -> str:
    """Send the schedule's job once, now; return the Celery task id.

    Without `args`/`kwargs` the stored arguments are used. The schedule's timing is left
    alone: the message goes straight to the broker, beat never hears of it, so
    `last_run_at`, `total_run_count` and the next run do not move. The message carries the
    schedule's name, so its PENDING result row is written as it is published
    (`results.pending_rows`) and the run shows (and links) in the admin before a worker
    takes it; a message the broker refuses is stored as FAILURE saying so.
    """
    if args is None and kwargs is None:
        args, kwargs = json.loads(task.args or "[]"), json.loads(task.kwargs or "{}")
    cleaned = spec_clean(data={"args": args or [], "kwargs": kwargs or {}}, instance=task)
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        _audit(
            user=user,
            task=task,
            action=ScheduleChange.Action.RUN_NOW,
            task_id=task_id,
            changes={"args": cleaned["args"], "kwargs": cleaned["kwargs"]},
        )
        options: dict[str, Any] = {"task_id": task_id, "headers": {"periodic_task_name": task.name}}
        if task.queue:
            options["queue"] = task.queue
        transaction.on_commit(
            lambda: _send(task, task_id, cleaned["args"], cleaned["kwargs"], options)
        )
    return task_id


def _send(task: PeriodicTask, task_id: str, args: list, kwargs: dict, options: dict) -> None:
    """Publish a run-now; if the broker refuses it, its result row says so instead of lying."""
    try:
        dispatch.submit(task.task, args, kwargs, **options)
    except Exception as exc:
        row_mark_unsent(
            task_id=task_id,
            task_name=task.task,
            periodic_task_name=task.name,
            args=args,
            kwargs=kwargs,
            error=exc,
        )
        raise


def schedules_resume_due(*, now: datetime | None = None) -> list[str]:
    """Resume every paused schedule whose `paused_until` has passed; return their names.

    Audited as done by the system (no user). Called by the local job
    `jobs.schedules.resume_paused`, so pause-until works with stock beat.
    """
    now = now or timezone.now()
    due = PeriodicTask.objects.filter(settings__paused_until__lte=now)
    resumed = []
    for task in due:
        schedule_resume(user=None, task=task)
        resumed.append(task.name)
    return resumed


@transaction.atomic
def schedules_set_enabled(*, user: User, tasks: list[PeriodicTask], enabled: bool) -> int:
    """Enable or disable several schedules (an admin action), each change audited.

    Only the flag changes, so schedules whose job has left the catalog can still be
    switched off. Enabling clears any pause-until time.
    """
    count = 0
    action = ScheduleChange.Action.ENABLE if enabled else ScheduleChange.Action.DISABLE
    for task in PeriodicTask.objects.select_for_update().filter(pk__in=[t.pk for t in tasks]):
        if enabled:
            ScheduleSettings.objects.filter(periodic_task=task).update(paused_until=None)
        if task.enabled == enabled:
            continue
        task.enabled = enabled
        task.save()
        _audit(user=user, task=task, action=action, changes={"enabled": [not enabled, enabled]})
        count += 1
    return count


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
