"""The alert causes read from durable records on a timer: beat's missed runs, failed
local job runs, and silence of the workers, the beat leader and run_apscheduler.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taskcenter.alerts.services import alert_raise, alert_resolve
from taskcenter.models import (
    AlertState,
    BeatInstance,
    Cause,
    LocalJobRun,
    ProcessHeartbeat,
    ScheduleEvent,
)

# The rows remembering the last missed-run record and local run already looked at.
MISSED_MARK = "mark:missed_run"
LOCAL_MARK = "mark:local_runs"

ROLE_CAUSES = {
    "worker": Cause.NO_WORKER,
    "beat": Cause.NO_BEAT,
    "apscheduler": Cause.NO_APSCHEDULER,
}


def _fresh_roles(since) -> set[str]:
    """Return the roles with a heartbeat since `since` from a process not stopped."""
    rows = ProcessHeartbeat.objects.filter(seen_at__gte=since).values_list("role", "details")
    return {role for role, details in rows if not (details or {}).get("stopped")}


def alerts_check_processes() -> list[int]:
    """Raise (or resolve) "no worker / no beat leader / no run_apscheduler" alerts."""
    silence = int(settings.TASKCENTER_ALERT_SILENCE_AFTER)
    since = timezone.now() - timedelta(seconds=silence)
    fresh = _fresh_roles(since)
    if BeatInstance.objects.filter(is_leader=True, last_tick_at__gte=since).exists():
        fresh.add("beat")
    ids: list[int] = []
    for role in settings.TASKCENTER_ALERT_ROLES:
        cause = ROLE_CAUSES.get(role)
        if cause is None:
            continue
        if role in fresh:
            ids += alert_resolve(causes=[cause], subject=role)
        else:
            message = _("No %(role)s has been seen for %(s)d s.") % {"role": role, "s": silence}
            ids += alert_raise(cause=cause, subject=role, message=message)
    return ids


def alerts_check_missed_runs() -> list[int]:
    """Raise one "missed run" occurrence per missed-run record beat wrote since the last check."""
    events = ScheduleEvent.objects.filter(kind=ScheduleEvent.Kind.MISSED).select_related(
        "periodic_task"
    )
    ids: list[int] = []
    for event in _new_since_mark(MISSED_MARK, Cause.MISSED_RUN, events):
        message = _("%(name)s missed %(n)d run(s) due at %(slot)s (%(outcome)s).") % {
            "name": event.periodic_task.name,
            "n": event.slots,
            "slot": event.slot.isoformat(),
            "outcome": event.get_outcome_display() or "-",
        }
        ids += alert_raise(
            cause=Cause.MISSED_RUN, subject=event.periodic_task.name, message=message, schedule=True
        )
    return ids


def _new_since_mark(key: str, cause: str, rows) -> list:
    """Return the rows of `rows` (ordered by id) past the mark `key`, and move the mark."""
    with transaction.atomic():
        mark, created = AlertState.objects.select_for_update().get_or_create(
            key=key, defaults={"cause": cause, "subject": "*"}
        )
        if created:
            # First check: start from now, not from everything ever recorded.
            last = rows.order_by("-id").values_list("id", flat=True).first()
            mark.details = {"last_id": last or 0}
            mark.save(update_fields=["details"])
            return []
        found = list(rows.filter(id__gt=int(mark.details.get("last_id", 0))).order_by("id")[:500])
        if found:
            mark.details = {"last_id": found[-1].id}
            mark.save(update_fields=["details"])
        return found


def alerts_check_local_runs() -> list[int]:
    """Alert on local (APScheduler) job runs that failed; a later success recovers the job."""
    runs = LocalJobRun.objects.filter(outcome__in=("success", "failed"))
    ids: list[int] = []
    for run in _new_since_mark(LOCAL_MARK, Cause.FINAL_FAILURE, runs):
        if run.outcome == "failed":
            message = _("local run %(id)s failed: %(error)s") % {
                "id": run.pk,
                "error": run.error[:300],
            }
            ids += alert_raise(cause=Cause.FINAL_FAILURE, subject=run.job, message=message)
        else:
            ids += alert_resolve(causes=[Cause.FINAL_FAILURE], subject=run.job)
    return ids
