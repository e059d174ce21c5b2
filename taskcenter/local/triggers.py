"""Local job triggers: the code's `@local_job` trigger or an operator's override, in words.

An override is stored on `LocalJobState.trigger_override` as `{"cron": "m h dom mon dow"}`
or `{"interval": {"every": N, "period": "seconds"}}`. Cron fields are checked with the
same validators as the schedule form; the day of week counts from 0 = Sunday as in cron
(APScheduler's own numbering starts at Monday, so numbers are translated to names).
"""

from __future__ import annotations

import re
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from taskcenter.catalog import LocalTrigger
from taskcenter.services.schedule_specs import CRON_FIELDS, CRON_VALIDATORS

#: Interval periods an override may use (APScheduler's IntervalTrigger keywords).
PERIODS = ("days", "hours", "minutes", "seconds")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DOW_NUMBER = re.compile(r"(?<![/\d])([0-7])(?!\d)")


def override_clean(value: Any) -> dict[str, Any]:
    """Return a valid override dict or raise ValidationError keyed by field."""
    if not isinstance(value, dict) or len(value) != 1 or not {"cron", "interval"} & set(value):
        raise ValidationError({"trigger_override": [_("Give either a cron or an interval.")]})
    if "cron" in value:
        expression = str(value["cron"]).strip()
        fields = expression.split()
        if len(fields) != len(CRON_FIELDS):
            raise ValidationError(
                {"cron": [_("A cron expression has five fields: minute hour day month weekday.")]}
            )
        errors: dict[str, list[str]] = {}
        for name, field in zip(CRON_FIELDS, fields, strict=True):
            try:
                CRON_VALIDATORS[name](field)
            except (ValidationError, ValueError, KeyError, IndexError) as exc:
                detail = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                errors.setdefault("cron", []).append(
                    _("Invalid cron field %(name)s: %(detail)s") % {"name": name, "detail": detail}
                )
        if not errors:
            try:
                _cron_trigger(expression, "UTC")
            except ValueError as exc:
                errors["cron"] = [str(exc)]
        if errors:
            raise ValidationError(errors)
        return {"cron": " ".join(fields)}
    spec = value["interval"]
    every = spec.get("every") if isinstance(spec, dict) else None
    period = spec.get("period", "seconds") if isinstance(spec, dict) else None
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValidationError({"interval": [_("Must be a whole number of at least 1.")]})
    if period not in PERIODS:
        raise ValidationError({"interval": [_("Unknown period %(p)r.") % {"p": period}]})
    return {"interval": {"every": every, "period": period}}


def _cron_trigger(expression: str, timezone: str, jitter: int | None = None) -> CronTrigger:
    minute, hour, day, month, dow = expression.split()
    dow = _DOW_NUMBER.sub(lambda m: _DAY_NAMES[int(m.group(1))], dow)
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=dow,
        timezone=timezone,
        jitter=jitter or None,
    )


def trigger_build(
    *, code: LocalTrigger, override: dict[str, Any] | None, timezone: str, default_jitter: int
) -> BaseTrigger:
    """Return the APScheduler trigger to run: the override when set, else the code's."""
    jitter = default_jitter if code.jitter is None else code.jitter
    if override and "cron" in override:
        return _cron_trigger(override["cron"], timezone, jitter)
    if override and "interval" in override:
        spec = override["interval"]
        return IntervalTrigger(
            timezone=timezone, jitter=jitter or None, **{spec["period"]: spec["every"]}
        )
    if code.kind == "cron":
        return CronTrigger(timezone=timezone, jitter=jitter or None, **code.args)
    if code.kind == "interval":
        return IntervalTrigger(timezone=timezone, jitter=jitter or None, **code.args)
    return DateTrigger(timezone=timezone, **code.args)


def trigger_in_words(*, code: LocalTrigger, override: dict[str, Any] | None) -> str:
    """Describe the effective trigger for people ("every 15 seconds", "cron 30 3 * * *")."""
    if override and "cron" in override:
        return _("cron %(expr)s (override)") % {"expr": override["cron"]}
    if override and "interval" in override:
        spec = override["interval"]
        return _("every %(n)s %(period)s (override)") % {
            "n": spec["every"],
            "period": spec["period"],
        }
    if code.kind == "interval":
        parts = ", ".join(f"{v} {k}" for k, v in code.args.items())
        return _("every %(parts)s") % {"parts": parts}
    if code.kind == "cron":
        parts = " ".join(f"{k}={v}" for k, v in code.args.items())
        return _("cron %(parts)s") % {"parts": parts}
    return _("once at %(when)s") % {"when": code.args.get("run_date", _("start"))}
