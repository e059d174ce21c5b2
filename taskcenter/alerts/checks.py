"""The alert causes read from durable records on a timer: beat's missed runs and silence
of the workers, the beat leader and run_apscheduler.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taskcenter.alerts.services import alert_raise, alert_resolve
from taskcenter.models import AlertState, BeatInstance, Cause, ProcessHeartbeat, ScheduleEvent

# The row remembering the last missed-run record already alerted.
MISSED_MARK = "mark:missed_run"

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
    with transaction.atomic():
        mark, created = AlertState.objects.select_for_update().get_or_create(
            key=MISSED_MARK, defaults={"cause": Cause.MISSED_RUN, "subject": "*"}
        )
        if created:
            # First check: start from now, not from every miss ever recorded.
            last = ScheduleEvent.objects.order_by("-id").values_list("id", flat=True).first()
            mark.details = {"last_id": last or 0}
            mark.save(update_fields=["details"])
            return []
        events = list(
            ScheduleEvent.objects.filter(
                kind=ScheduleEvent.Kind.MISSED, id__gt=int(mark.details.get("last_id", 0))
            )
            .select_related("periodic_task")
            .order_by("id")[:500]
        )
        if not events:
            return []
        mark.details = {"last_id": events[-1].id}
        mark.save(update_fields=["details"])
    ids: list[int] = []
    for event in events:
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
