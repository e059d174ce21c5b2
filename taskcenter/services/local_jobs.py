"""Write local job state: pause, resume, run now, trigger override; heartbeats; retention.

The admin calls these and nothing else; each operator action is written to Django's admin
log (the job's History page) with its user and what changed, as schedule changes are.
The leading `run_apscheduler` reads `LocalJobState` and applies it within
TASKCENTER_LOCAL_CONTROL_INTERVAL; it also writes its heartbeat and clears a run-now
request once it has started the run.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from taskcenter.catalog import Runtime, all_jobs, get_job
from taskcenter.local.triggers import override_clean
from taskcenter.models import LocalJobRun, LocalJobState, ProcessHeartbeat

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser | None

#: Rows per DELETE of the retention purge (as for task results).
PURGE_BATCH = 10_000


def _audit(*, user: User, state: LocalJobState, action: str, changes: dict[str, Any]) -> None:
    if user is None or not user.is_authenticated:
        return
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[state],
        action_flag=CHANGE,
        change_message=json.dumps({"action": action, "changes": changes}),
        single_object=True,
    )


def local_job_states_ensure() -> list[LocalJobState]:
    """Create the state row of every catalog local job that has none; return them all."""
    names = [job.name for job in all_jobs(Runtime.LOCAL)]
    existing = set(LocalJobState.objects.filter(job__in=names).values_list("job", flat=True))
    LocalJobState.objects.bulk_create(
        [LocalJobState(job=name) for name in names if name not in existing],
        ignore_conflicts=True,
    )
    return list(LocalJobState.objects.filter(job__in=names).order_by("job"))


def _locked(job: str) -> LocalJobState:
    get_job(job, Runtime.LOCAL)  # UnknownJobError for anything not in the catalog
    LocalJobState.objects.get_or_create(job=job)
    return LocalJobState.objects.select_for_update().get(job=job)


@transaction.atomic
def local_job_pause(*, user: User, job: str) -> LocalJobState:
    """Stop firing `job` until it is resumed (a run already going finishes)."""
    state = _locked(job)
    changes = {"paused": [state.paused, True]}
    state.paused = True
    state.save()
    _audit(user=user, state=state, action="pause", changes=changes)
    return state


@transaction.atomic
def local_job_resume(*, user: User, job: str) -> LocalJobState:
    """Fire `job` on its trigger again, from now."""
    state = _locked(job)
    changes = {"paused": [state.paused, False]}
    state.paused = False
    state.save()
    _audit(user=user, state=state, action="resume", changes=changes)
    return state


@transaction.atomic
def local_job_run_now(*, user: User, job: str) -> LocalJobState:
    """Ask the leader to run `job` once now; its trigger is left alone."""
    state = _locked(job)
    state.run_now_requested_at = timezone.now()
    state.save()
    _audit(user=user, state=state, action="run_now", changes={})
    return state


@transaction.atomic
def local_job_trigger_set(*, user: User, job: str, override: dict | None) -> LocalJobState:
    """Set another trigger than the code's (validated), or None to go back to the code's."""
    cleaned = None if override is None else override_clean(override)
    state = _locked(job)
    changes = {"trigger_override": [state.trigger_override, cleaned]}
    state.trigger_override = cleaned
    state.save()
    action = "reset_trigger" if cleaned is None else "override_trigger"
    _audit(user=user, state=state, action=action, changes=changes)
    return state


def local_job_run_now_clear(*, job: str, requested_at: datetime) -> bool:
    """Clear a run-now request once started; False when a newer request came meanwhile."""
    return bool(
        LocalJobState.objects.filter(job=job, run_now_requested_at=requested_at).update(
            run_now_requested_at=None
        )
    )


def local_heartbeat_write(
    *, ident: str, hostname: str, pid: int, started_at: datetime, is_leader: bool, details: dict
) -> None:
    """Write (or refresh) the heartbeat row of one run_apscheduler process."""
    ProcessHeartbeat.objects.update_or_create(
        ident=ident,
        defaults={
            "role": ProcessHeartbeat.Role.APSCHEDULER,
            "hostname": hostname,
            "pid": pid,
            "is_leader": is_leader,
            "details": details,
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


def local_job_runs_purge(
    *, older_than: timedelta, batch: int = PURGE_BATCH, now: datetime | None = None
) -> int:
    """Delete local job runs recorded more than `older_than` ago, about `batch` per statement.

    On MySQL one `DELETE` per slice of `batch` primary keys (as the results purge, and for
    the same reason); elsewhere ORM deletes by id batches. Each statement commits alone.
    """
    cutoff = (now or timezone.now()) - older_than
    total = 0
    if connection.vendor == "mysql":
        table = connection.ops.quote_name(LocalJobRun._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE created_at < %s", [cutoff])
            low, high = cursor.fetchone()
            for start in range(low, high + 1, batch) if low is not None else ():
                cursor.execute(
                    f"DELETE FROM {table} WHERE id >= %s AND id < %s AND created_at < %s",
                    [start, start + batch, cutoff],
                )
                total += cursor.rowcount
    else:
        old = LocalJobRun.objects.filter(created_at__lt=cutoff).order_by("id")
        while ids := list(old.values_list("id", flat=True)[:batch]):
            with transaction.atomic():
                total += LocalJobRun.objects.filter(id__in=ids).delete()[0]
    if total:
        logger.info("deleted %d local job runs recorded before %s", total, cutoff.isoformat())
    return total
