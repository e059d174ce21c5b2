"""Decide and record alerts: rules, one alert per cause and subject per window, summaries,
recovery. Delivery happens after commit, on a thread (`channels`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_results.models import TaskResult

from taskcenter.alerts.channels import alerts_deliver_later
from taskcenter.models import Alert, AlertRule, AlertState, Cause

# An alert recorded this long ago and never tried lost its delivery thread.
ORPHAN_AFTER = timedelta(minutes=2)


def _rules(*, cause: str, subject: str, schedule: bool) -> list[AlertRule]:
    """Return the enabled rules for `subject` (a specific rule wins over a catch-all)."""
    field = "periodic_task__name" if schedule else "job"
    specific = Q(**{field: subject})
    catch_all = Q(job="", periodic_task__isnull=True)
    rules = list(
        AlertRule.objects.filter(enabled=True).filter(specific | catch_all).select_related()
    )
    own = [r for r in rules if (r.periodic_task and schedule) or (r.job and not schedule)]
    return own or [r for r in rules if not r.job and not r.periodic_task_id]


def _recipients(rules: Iterable[AlertRule]) -> tuple[list[str], bool]:
    """Return (email recipients, webhook on) for the rules that apply."""
    emails: list[str] = []
    webhook = False
    rules = list(rules)
    for rule in rules:
        emails += [e.strip() for e in rule.emails.split(",") if e.strip()]
        webhook = webhook or rule.webhook
    if not emails:
        emails = [email for _name, email in settings.ADMINS]
    return sorted(set(emails)), webhook if rules else True


def _record(
    *, cause: str, subject: str, kind: str, title: str, body: str, count: int, schedule: bool
) -> list[int]:
    rules = _rules(cause=cause, subject=subject, schedule=schedule)
    if rules and not any(not r.causes or cause in r.causes for r in rules):
        return []
    emails, webhook = _recipients(rules)
    rows = []
    if settings.TASKCENTER_ALERT_EMAIL and emails:
        rows.append(Alert(channel=Alert.Channel.EMAIL, recipients=", ".join(emails)))
    if settings.TASKCENTER_ALERT_WEBHOOK_URL and webhook:
        rows.append(
            Alert(channel=Alert.Channel.WEBHOOK, recipients=settings.TASKCENTER_ALERT_WEBHOOK_URL)
        )
    ids = []
    for row in rows:
        row.cause, row.subject, row.kind = cause, subject, kind
        row.title, row.body, row.count = title[:255], body, count
        row.save()
        ids.append(row.pk)
    if ids:
        transaction.on_commit(lambda: alerts_deliver_later(ids))
    return ids


def _title(kind: str, cause: str, subject: str, count: int = 1) -> str:
    label = Cause(cause).label
    if kind == Alert.Kind.SUMMARY:
        return _("[taskcenter] still failing: %(subject)s (%(cause)s), %(n)d more") % {
            "subject": subject,
            "cause": label,
            "n": count,
        }
    if kind == Alert.Kind.RECOVERED:
        return _("[taskcenter] recovered: %(subject)s (%(cause)s)") % {
            "subject": subject,
            "cause": label,
        }
    return _("[taskcenter] %(cause)s: %(subject)s") % {"subject": subject, "cause": label}


def _window() -> timedelta:
    return timedelta(seconds=int(settings.TASKCENTER_ALERT_WINDOW))


@transaction.atomic
def alert_raise(
    *, cause: str, subject: str, message: str = "", schedule: bool = False
) -> list[int]:
    """Report one occurrence of `cause` for `subject`: sent, or counted in the open window."""
    now = timezone.now()
    state, _created = AlertState.objects.select_for_update().get_or_create(
        key=f"{cause}:{subject}"[:255], defaults={"cause": cause, "subject": subject[:200]}
    )
    if state.active and state.window_started_at and now - state.window_started_at < _window():
        state.suppressed += 1
        state.details = {**state.details, "schedule": schedule, "last_message": message[:500]}
        state.save(update_fields=["suppressed", "details", "updated_at"])
        return []
    kind, count = Alert.Kind.ALERT, 1
    if state.active and state.suppressed:
        kind, count = Alert.Kind.SUMMARY, state.suppressed
    state.active, state.window_started_at, state.suppressed = True, now, 0
    state.details = {"schedule": schedule, "last_message": message[:500]}
    state.save()
    return _record(
        cause=cause,
        subject=subject,
        kind=kind,
        title=_title(kind, cause, subject, count),
        body=message,
        count=count,
        schedule=schedule,
    )


@transaction.atomic
def alert_resolve(*, causes: Iterable[str], subject: str) -> list[int]:
    """Close the open incidents of `causes` for `subject` with one "recovered" message each."""
    keys = [f"{c}:{subject}"[:255] for c in causes]
    ids: list[int] = []
    for state in AlertState.objects.select_for_update().filter(key__in=keys, active=True):
        ids += _record(
            cause=state.cause,
            subject=state.subject,
            kind=Alert.Kind.RECOVERED,
            title=_title(Alert.Kind.RECOVERED, state.cause, state.subject),
            body=_("%(n)d more occurrences after the last message.") % {"n": state.suppressed}
            if state.suppressed
            else "",
            count=state.suppressed,
            schedule=bool(state.details.get("schedule")),
        )
        state.active, state.suppressed = False, 0
        state.save(update_fields=["active", "suppressed", "updated_at"])
    return ids


def alerts_sweep() -> list[int]:
    """Send the "still failing, N more" summary of every window that ended with repeats;
    close a missed-run incident whose window ended with none, and a failure incident whose
    job has succeeded since.
    """
    ended = timezone.now() - _window()
    ids: list[int] = []
    quiet = AlertState.objects.filter(
        active=True, suppressed=0, cause=Cause.MISSED_RUN, window_started_at__lte=ended
    ).values_list("subject", flat=True)
    for subject in list(quiet):
        ids += alert_resolve(causes=[Cause.MISSED_RUN], subject=subject)
    # A worker's own check after a success may have read a cached "nothing open": a
    # success stored after the incident's last occurrence closes it here.
    failing = AlertState.objects.filter(
        active=True, cause__in=(Cause.FINAL_FAILURE, Cause.TIME_LIMIT)
    ).values_list("cause", "subject", "updated_at")
    for cause, subject, last in list(failing):
        healed = TaskResult.objects.filter(
            task_name=subject, status="SUCCESS", date_done__gt=last
        ).exists()
        if healed:
            ids += alert_resolve(causes=[cause], subject=subject)
    # A delivery thread dies with its process (a worker child replaced after its task
    # quota): what was never tried is tried again here.
    orphans = Alert.objects.filter(
        attempts=0, created_at__lte=timezone.now() - ORPHAN_AFTER
    ).values_list("pk", flat=True)
    alerts_deliver_later(list(orphans[:100]))
    for state in AlertState.objects.filter(
        active=True, suppressed__gt=0, window_started_at__lte=ended
    ):
        with transaction.atomic():
            locked = AlertState.objects.select_for_update().get(pk=state.pk)
            if not (locked.active and locked.suppressed and locked.window_started_at <= ended):
                continue
            count = locked.suppressed
            locked.window_started_at, locked.suppressed = timezone.now(), 0
            locked.save(update_fields=["window_started_at", "suppressed", "updated_at"])
            ids += _record(
                cause=locked.cause,
                subject=locked.subject,
                kind=Alert.Kind.SUMMARY,
                title=_title(Alert.Kind.SUMMARY, locked.cause, locked.subject, count),
                body=locked.details.get("last_message", ""),
                count=count,
                schedule=bool(locked.details.get("schedule")),
            )
    return ids


# A worker asks after every successful run whether the job has an open failure alert;
# the answer is shared for this long per process, so a success costs no query at all.
OPEN_SUBJECTS_TTL = 5.0
_open_cache: tuple[float, frozenset[str]] = (0.0, frozenset())
_open_lock = threading.Lock()


def alerts_open_subjects() -> frozenset[str]:
    """Return the subjects with an open failure or time-limit alert (cached a few seconds)."""
    global _open_cache
    with _open_lock:
        read_at, subjects = _open_cache
        if time.monotonic() - read_at < OPEN_SUBJECTS_TTL:
            return subjects
        subjects = frozenset(
            AlertState.objects.filter(
                active=True, cause__in=(Cause.FINAL_FAILURE, Cause.TIME_LIMIT)
            ).values_list("subject", flat=True)
        )
        _open_cache = (time.monotonic(), subjects)
        return subjects


def alerts_open_subjects_forget() -> None:
    """Drop the cached answer (after this process opened an alert)."""
    global _open_cache
    with _open_lock:
        _open_cache = (0.0, frozenset())
