"""Validate the `data` dict of a schedule and turn it into PeriodicTask field values.

Shared by the schedule services (admin and API both go through them), so a wrong job
name, arguments that do not fit the job's signature, a bad cron field or bad JSON are
rejected the same way everywhere, as a ValidationError keyed by field.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat import validators
from django_celery_beat.models import (
    PERIOD_CHOICES,
    SOLAR_SCHEDULES,
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from taskcenter.catalog import JobArgumentsError, Runtime, UnknownJobError, get_job

SCHEDULE_KINDS = ("interval", "crontab", "clocked", "solar")
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
CRON_VALIDATORS = {
    "minute": validators.minute_validator,
    "hour": validators.hour_validator,
    "day_of_month": validators.day_of_month_validator,
    "month_of_year": validators.month_of_year_validator,
    "day_of_week": validators.day_of_week_validator,
}
#: Each cron field as an error message names it.
CRON_LABELS = {
    "minute": gettext_lazy("minute"),
    "hour": gettext_lazy("hour"),
    "day_of_month": gettext_lazy("day of month"),
    "month_of_year": gettext_lazy("month"),
    "day_of_week": gettext_lazy("day of week"),
}


def _json(value: Any, *, field: str, kind: type, errors: dict[str, list[str]]) -> Any:
    """Return `value` decoded from JSON when it is a string; record an error otherwise."""
    if value is None or value == "":
        return kind()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            errors.setdefault(field, []).append(_("Invalid JSON: %(error)s") % {"error": exc})
            return None
    if not isinstance(value, kind):
        errors.setdefault(field, []).append(
            _("Must be a JSON list.") if kind is list else _("Must be a JSON object.")
        )
        return None
    return value


def _check_arguments(job_name: str, args: list, kwargs: dict, errors: dict) -> None:
    """Check args/kwargs against the job's signature; file each problem under args or kwargs."""
    job = get_job(job_name, Runtime.CELERY)
    try:
        job.validate(args, kwargs)
    except JobArgumentsError as exc:
        positional = job.param_names[: len(args)]
        for name, message in exc.errors.items():
            top = name.split(".")[0]
            if name == "args" or top in positional and top not in kwargs:
                field = "args"
            else:
                field = "kwargs"
            text = message if name in ("args", "kwargs") else f"{name}: {message}"
            errors.setdefault(field, []).append(text)


def _interval(spec: dict, errors: dict) -> dict[str, Any]:
    every, period = spec.get("every"), spec.get("period", IntervalSchedule.SECONDS)
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        errors.setdefault("interval.every", []).append(_("Must be a whole number of at least 1."))
    if period not in dict(PERIOD_CHOICES):
        errors.setdefault("interval.period", []).append(
            _("Unknown period %(period)r.") % {"period": period}
        )
    return {"every": every, "period": period}


def _cron_field_problem(name: str, value: str) -> str | None:
    """Say what is wrong with one cron field, quoting that field only; None when valid.

    Celery's parser pads a value to a whole expression before quoting it, so its own
    message for a pasted "5 4 * * *" reads like the expression was the fault.
    """
    label = CRON_LABELS[name]
    if len(value.split()) > 1:
        return _(
            "%(field)s takes one cron field, not a whole expression: put each part of "
            "%(value)s into minute, hour, day of month, month and day of week."
        ) % {"field": label, "value": repr(value)}
    try:
        CRON_VALIDATORS[name](value)
    except (ValidationError, ValueError, KeyError, IndexError) as exc:
        detail = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        return _("Invalid %(field)s %(value)s: %(detail)s") % {
            "field": label,
            "value": repr(value),
            "detail": detail.replace(" * * * *", "").strip('"'),
        }
    return None


def _crontab(spec: dict, errors: dict) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name in CRON_FIELDS:
        value = str(spec.get(name) if spec.get(name) not in (None, "") else "*").strip()
        problem = _cron_field_problem(name, value)
        if problem:
            errors.setdefault(f"crontab.{name}", []).append(problem)
        cleaned[name] = value
    tz = spec.get("timezone") or settings.TIME_ZONE
    try:
        cleaned["timezone"] = zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors.setdefault("crontab.timezone", []).append(
            _("Unknown time zone %(tz)r.") % {"tz": tz}
        )
    return cleaned


def _clocked(spec: dict, errors: dict) -> dict[str, Any]:
    value = spec.get("clocked_time")
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        errors.setdefault("clocked.clocked_time", []).append(_("Must be a date and time."))
        return {}
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return {"clocked_time": value}


def _solar(spec: dict, errors: dict) -> dict[str, Any]:
    cleaned: dict[str, Any] = {"event": spec.get("event")}
    if cleaned["event"] not in dict(SOLAR_SCHEDULES):
        errors.setdefault("solar.event", []).append(
            _("Unknown solar event %(event)r.") % {"event": cleaned["event"]}
        )
    for name, bound in (("latitude", 90), ("longitude", 180)):
        try:
            number = Decimal(str(spec.get(name)))
            if not -bound <= number <= bound:
                raise InvalidOperation
            cleaned[name] = number.quantize(Decimal("0.000001"))
        except (InvalidOperation, ValueError):
            errors.setdefault(f"solar.{name}", []).append(
                _("Must be between -%(bound)s and %(bound)s.") % {"bound": bound}
            )
    return cleaned


_SCHEDULE_CLEANERS = {
    "interval": _interval,
    "crontab": _crontab,
    "clocked": _clocked,
    "solar": _solar,
}


def spec_clean(*, data: dict[str, Any], instance: PeriodicTask | None = None) -> dict[str, Any]:
    """Validate `data` (see `schedule_create`) and return it cleaned, without writing.

    On update (`instance` given) missing keys keep the stored value. Raises
    ValidationError({field: [messages]}); nested schedule fields are dotted
    (`crontab.minute`), and `schedule` carries "give exactly one schedule".
    """
    errors: dict[str, list[str]] = {}
    unknown = set(data) - {
        "name",
        "job",
        "args",
        "kwargs",
        "queue",
        "enabled",
        "description",
        *SCHEDULE_KINDS,
    }
    for key in sorted(unknown):
        errors.setdefault(key, []).append(_("Unknown field."))
    cleaned: dict[str, Any] = {}

    name = data.get("name", instance.name if instance else None)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors.setdefault("name", []).append(_("A name of 1 to 200 characters is required."))
    else:
        taken = PeriodicTask.objects.filter(name=name.strip())
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors.setdefault("name", []).append(_("A schedule with this name already exists."))
        cleaned["name"] = name.strip()

    job = data.get("job", instance.task if instance else None)
    try:
        get_job(str(job), Runtime.CELERY)
        cleaned["task"] = job
    except UnknownJobError:
        errors.setdefault("job", []).append(
            _("%(job)r is not a registered Celery job.") % {"job": job}
        )

    args = _json(
        data.get("args", instance.args if instance else None),
        field="args",
        kind=list,
        errors=errors,
    )
    kwargs = _json(
        data.get("kwargs", instance.kwargs if instance else None),
        field="kwargs",
        kind=dict,
        errors=errors,
    )
    if "task" in cleaned and args is not None and kwargs is not None:
        _check_arguments(cleaned["task"], args, kwargs, errors)
    cleaned["args"], cleaned["kwargs"] = args, kwargs

    queue = data.get("queue", instance.queue if instance else None) or None
    known = {q.name for q in settings.CELERY_TASK_QUEUES}
    if queue is not None and queue not in known:
        errors.setdefault("queue", []).append(
            _("Unknown queue %(queue)r; one of %(known)s.")
            % {"queue": queue, "known": sorted(known)}
        )
    cleaned["queue"] = queue
    cleaned["enabled"] = bool(data.get("enabled", instance.enabled if instance else True))
    cleaned["description"] = str(
        data.get("description", instance.description if instance else "") or ""
    )

    given = [k for k in SCHEDULE_KINDS if data.get(k) is not None]
    if len(given) > 1 or (not given and instance is None):
        errors.setdefault("schedule", []).append(
            _("Give exactly one schedule: interval, crontab, clocked or solar.")
        )
    elif given:
        kind = given[0]
        spec = data[kind]
        if not isinstance(spec, dict):
            errors.setdefault(kind, []).append(_("Must be an object."))
        else:
            cleaned["schedule"] = (kind, _SCHEDULE_CLEANERS[kind](spec, errors))
    if errors:
        raise ValidationError(errors)
    return cleaned


def schedule_row(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Return PeriodicTask's schedule fields for a cleaned spec, sharing identical rows."""
    model = {
        "interval": IntervalSchedule,
        "crontab": CrontabSchedule,
        "clocked": ClockedSchedule,
        "solar": SolarSchedule,
    }[kind]
    row = model.objects.filter(**spec).first() or model.objects.create(**spec)
    fields: dict[str, Any] = {k: None for k in SCHEDULE_KINDS}
    fields[kind] = row
    fields["one_off"] = kind == "clocked"
    return fields
