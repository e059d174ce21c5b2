"""`/api/schedules`: the same schedule services, validation and audit trail as the admin."""

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from taskcenter import dispatch
from taskcenter.api.errors import Error, FieldErrors
from taskcenter.api.ratelimit import trigger_limit_check
from taskcenter.api.runs import run_status_url
from taskcenter.api.schemas import MAX_NAME, Pagination, Pk, RunAccepted, StrictIn
from taskcenter.catalog import get_job
from taskcenter.selectors.schedules import schedule_in_words
from taskcenter.services import schedules as schedule_services
from taskcenter.services.runs import (
    BrokerUnavailableError,
    job_can_trigger,
    run_record_issued,
)

router = Router(tags=["schedules"])

#: The admin's permission for "Run now" (declared on the ScheduleChange model).
RUN_NOW_PERMISSION = "taskcenter.run_periodictask_now"
#: django-celery-beat stores interval counts in an integer column.
MAX_EVERY = 2**31 - 1


class IntervalIn(StrictIn):
    every: int = Field(ge=1, le=MAX_EVERY)
    period: Literal["days", "hours", "minutes", "seconds", "microseconds"] = "seconds"


class CrontabIn(StrictIn):
    minute: str = Field("*", max_length=240)
    hour: str = Field("*", max_length=96)
    day_of_week: str = Field("*", max_length=64)
    day_of_month: str = Field("*", max_length=124)
    month_of_year: str = Field("*", max_length=64)
    timezone: str = Field("UTC", max_length=63)


class ClockedIn(StrictIn):
    clocked_time: datetime


class SolarIn(StrictIn):
    event: str = Field(max_length=24)
    latitude: Decimal = Field(ge=-90, le=90, max_digits=9, decimal_places=6)
    longitude: Decimal = Field(ge=-180, le=180, max_digits=9, decimal_places=6)


class SchedulePatch(StrictIn):
    name: str = Field(None, min_length=1, max_length=MAX_NAME)
    job: str = Field(None, max_length=MAX_NAME)
    args: list[Any] = Field(None, max_length=100)
    kwargs: dict[str, Any] = None
    queue: str | None = Field(None, max_length=MAX_NAME)
    enabled: bool = None
    description: str = Field(None, max_length=2000)
    interval: IntervalIn | None = None
    crontab: CrontabIn | None = None
    clocked: ClockedIn | None = None
    solar: SolarIn | None = None

    def data(self) -> dict[str, Any]:
        """The keys the caller gave, in the services' `data` shape."""
        data = self.model_dump(exclude_unset=True)
        for kind in ("interval", "crontab", "clocked", "solar"):
            if data.get(kind) is None:
                data.pop(kind, None)
        if isinstance(data.get("solar"), dict):
            data["solar"] = {
                k: str(v) if isinstance(v, Decimal) else v for k, v in data["solar"].items()
            }
        return data


class ScheduleIn(SchedulePatch):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "nightly sum",
                    "job": "jobs.demo.add",
                    "kwargs": {"x": 1, "y": 2},
                    "description": "an example",
                    "crontab": {"minute": "30", "hour": "3"},
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=MAX_NAME)
    job: str = Field(max_length=MAX_NAME)


class ScheduleOut(Schema):
    id: int
    name: str
    job: str
    args: Any
    kwargs: Any
    queue: str | None
    enabled: bool
    description: str
    schedule: str
    paused_until: datetime | None
    last_run_at: datetime | None
    total_run_count: int
    changed_at: datetime | None


class PauseIn(StrictIn):
    until: datetime | None = None


class RunNowIn(StrictIn):
    args: list[Any] | None = Field(None, max_length=100)
    kwargs: dict[str, Any] | None = None


def _require(request: HttpRequest, action: str) -> None:
    if not request.auth.has_perm(f"django_celery_beat.{action}_periodictask"):
        raise PermissionDenied


def _out(task: PeriodicTask) -> ScheduleOut:
    def loads(text: str, default: Any) -> Any:
        try:
            return json.loads(text or "null") or default
        except ValueError:
            return default

    settings_row = getattr(task, "settings", None)
    return ScheduleOut(
        id=task.pk,
        name=task.name,
        job=task.task,
        args=loads(task.args, []),
        kwargs=loads(task.kwargs, {}),
        queue=task.queue or None,
        enabled=task.enabled,
        description=task.description or "",
        schedule=schedule_in_words(task),
        paused_until=settings_row.paused_until if settings_row else None,
        last_run_at=task.last_run_at,
        total_run_count=task.total_run_count,
        changed_at=task.date_changed,
    )


def _get(schedule_id: int) -> PeriodicTask:
    return PeriodicTask.objects.select_related(
        "interval", "crontab", "clocked", "solar", "settings"
    ).get(pk=schedule_id)


_READ = {401: Error, 403: Error, 404: Error}
_WRITE = {400: Error, 401: Error, 403: Error, 404: Error, 413: Error, 422: FieldErrors}


@router.get("", response={200: list[ScheduleOut], 401: Error, 403: Error})
@paginate(Pagination)
def list_schedules(request: HttpRequest):
    """Every schedule, by name."""
    _require(request, "view")
    tasks = PeriodicTask.objects.select_related(
        "interval", "crontab", "clocked", "solar", "settings"
    )
    return [_out(task) for task in tasks.order_by("name")]


@router.post("", response={201: ScheduleOut, **_WRITE})
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> tuple[int, ScheduleOut]:
    """Create a schedule of a catalog job (exactly one of interval, crontab, clocked, solar)."""
    _require(request, "add")
    task = schedule_services.schedule_create(user=request.auth, data=payload.data())
    return 201, _out(_get(task.pk))


@router.get("/{schedule_id}", response={200: ScheduleOut, **_READ})
def get_schedule(request: HttpRequest, schedule_id: Pk) -> ScheduleOut:
    """One schedule."""
    _require(request, "view")
    return _out(_get(schedule_id))


@router.patch("/{schedule_id}", response={200: ScheduleOut, **_WRITE})
def update_schedule(request: HttpRequest, schedule_id: Pk, payload: SchedulePatch) -> ScheduleOut:
    """Change the given fields; the others keep their value."""
    _require(request, "change")
    task = schedule_services.schedule_update(
        user=request.auth, task=_get(schedule_id), data=payload.data()
    )
    return _out(_get(task.pk))


@router.delete("/{schedule_id}", response={204: None, **_READ})
def delete_schedule(request: HttpRequest, schedule_id: Pk) -> HttpResponse:
    """Delete a schedule (its audit trail is kept)."""
    _require(request, "delete")
    schedule_services.schedule_delete(user=request.auth, task=_get(schedule_id))
    return HttpResponse(status=204)


@router.post("/{schedule_id}/pause", response={200: ScheduleOut, **_WRITE})
def pause_schedule(request: HttpRequest, schedule_id: Pk, payload: PauseIn) -> ScheduleOut:
    """Stop dispatching; with `until` (in the future) it resumes by itself then."""
    _require(request, "change")
    until = payload.until
    if until is not None and timezone.is_naive(until):
        until = timezone.make_aware(until)
    task = schedule_services.schedule_pause(user=request.auth, task=_get(schedule_id), until=until)
    return _out(_get(task.pk))


@router.post("/{schedule_id}/resume", response={200: ScheduleOut, **_WRITE})
def resume_schedule(request: HttpRequest, schedule_id: Pk) -> ScheduleOut:
    """Dispatch the schedule again."""
    _require(request, "change")
    task = schedule_services.schedule_resume(user=request.auth, task=_get(schedule_id))
    return _out(_get(task.pk))


@router.post(
    "/{schedule_id}/run-now", response={202: RunAccepted, **_WRITE, 429: Error, 503: Error}
)
def run_schedule_now(
    request: HttpRequest, schedule_id: Pk, payload: RunNowIn
) -> tuple[int, RunAccepted]:
    """Send the schedule's job once, now (its timing is left alone); answer the run id.

    Needs what the admin's "Run now" needs (view, and `taskcenter.run_periodictask_now`)
    and, as every trigger through the API, the job's own trigger permission.
    """
    _require(request, "view")
    task = _get(schedule_id)
    if not request.auth.has_perm(RUN_NOW_PERMISSION):
        raise PermissionDenied
    if not job_can_trigger(user=request.auth, job=get_job(task.task)):
        raise PermissionDenied
    trigger_limit_check(user_id=request.auth.pk)
    try:
        run_id = schedule_services.schedule_run_now(
            user=request.auth, task=task, args=payload.args, kwargs=payload.kwargs
        )
    except dispatch.BROKER_ERRORS as exc:
        raise BrokerUnavailableError("the task broker is unreachable") from exc
    run = run_record_issued(run_id=run_id, job=task.task, user=request.auth)
    return 202, RunAccepted(
        id=run.id, job=run.job, status_url=run_status_url(run.id), replayed=False
    )
