"""Runs: trigger catalog jobs, read their status, revoke them; the worker-side records.

Every run is recorded (an autocommitted INSERT) before it is published, and the record is
deleted again when the publish fails (broker unreachable), so no half-recorded run is left
behind. Not one transaction around both: that costs three more round trips to the database
per trigger (autocommit off, COMMIT, autocommit on) for the same outcome. Concurrent
triggers in one web process are recorded and published together (`services.run_sender`).
The record is what turns "an id this system never issued" into a 404
(Celery itself answers PENDING for any id).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from taskcenter import dispatch
from taskcenter.catalog import Job, JobArgumentsError, Runtime, UnknownJobError, get_job
from taskcenter.dispatch.run_sender import SenderTimeoutError, record_and_submit, run_sender
from taskcenter.models import Run
from taskcenter.selectors.permissions import trigger_permissions_held
from taskcenter.selectors.runs import FINISHED_STATES, RUNNING_STATES, run_status
from taskcenter.services.aio_runs import aio_options_check, aio_run_revoke, aio_run_start

#: The permission (codename in the taskcenter app) to trigger every catalog job.
TRIGGER_ANY_JOB = "trigger_any_job"
#: Celery priorities on Redis are 0-9.
MAX_PRIORITY = 9
#: The runtimes whose jobs the API triggers: Celery's, and AnyIO's in the web process.
API_RUNTIMES = (Runtime.CELERY, Runtime.AIO)


class BrokerUnavailableError(RuntimeError):
    """The broker did not take the message; nothing was recorded."""


class IdempotencyConflictError(ValueError):
    """The Idempotency-Key was already used for a different request."""


def job_can_trigger(*, user: AbstractBaseUser, job: Job) -> bool:
    """Whether `user` holds the job's trigger permission (or may trigger any job).

    Django's rules (an active superuser holds every permission, an inactive user none,
    the others their own and their groups' permissions) in one query per user object.
    """
    if user.is_active and getattr(user, "is_superuser", False):
        return True
    if not settings.TASKCENTER_FAST_AUTH:  # the stock path: Django's ModelBackend
        return user.has_perm(f"taskcenter.{job.permission_codename}") or user.has_perm(
            f"taskcenter.{TRIGGER_ANY_JOB}"
        )
    held = trigger_permissions_held(user=user)
    return job.permission_codename in held or TRIGGER_ANY_JOB in held


def job_triggerable(
    *, user: AbstractBaseUser, name: str, runtimes: tuple[Runtime, ...] = (Runtime.CELERY,)
) -> Job:
    """Return the catalog job `name` of one of `runtimes` if `user` may trigger it (else raise)."""
    job = get_job(name)
    if job.runtime not in runtimes:
        raise UnknownJobError(name)
    if not job_can_trigger(user=user, job=job):
        raise PermissionDenied(f"you may not trigger {name}")
    return job


def _options(options: dict[str, Any]) -> dict[str, Any]:
    """Check the publish options a caller gave; return them as `apply_async` wants them."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    queues = {q.name for q in settings.CELERY_TASK_QUEUES}
    limit = settings.TASKCENTER_MAX_COUNTDOWN
    held = {"limit": limit}
    expires_limit = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    now = timezone.now()
    for key, value in options.items():
        if value is None:
            continue
        if key == "queue" and value not in queues:
            errors[key] = _("unknown queue; one of %(queues)s") % {
                "queues": ", ".join(sorted(queues))
            }
        elif key == "countdown" and not 0 <= value <= limit:
            errors[key] = (
                _(
                    "must be between 0 and %(limit)d seconds: the broker delivers a message it "
                    "has held longer again (use a one-off schedule for a later run)"
                )
                % held
            )
        elif key == "eta" and not (value.tzinfo and 0 <= (value - now).total_seconds() <= limit):
            errors[key] = (
                _(
                    "must be a timezone-aware time within %(limit)d seconds from now: the broker "
                    "delivers a message it has held longer again (use a one-off schedule for a "
                    "later run)"
                )
                % held
            )
        elif key == "priority" and not 0 <= value <= MAX_PRIORITY:
            errors[key] = _("must be between 0 and %(most)s") % {"most": MAX_PRIORITY}
        elif key == "expires" and not 0 < value <= expires_limit:
            errors[key] = _("must be between 1 and %(limit)s seconds") % {"limit": expires_limit}
        clean[key] = value
    if errors:
        raise JobArgumentsError(errors)
    return clean


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in options.items()}


def run_trigger(
    *,
    user: AbstractBaseUser,
    job_name: str,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> tuple[Run, bool]:
    """Validate, record and enqueue one run; return it and whether it is new.

    A Celery job goes to the broker; an AnyIO job starts in this web process's manager
    (`services.aio_runs`). Raises UnknownJobError, PermissionDenied, JobArgumentsError,
    IdempotencyConflictError, BrokerUnavailableError or AioUnavailableError, all before
    anything is left half-done.
    """
    job = job_triggerable(user=user, name=job_name, runtimes=API_RUNTIMES)
    bound = job.validate(args or [], kwargs or {})
    aio = job.runtime == Runtime.AIO
    clean = aio_options_check(options=options or {}) if aio else _options(options or {})
    if idempotency_key:
        existing = _replay(user=user, key=idempotency_key, job=job_name, kwargs=bound)
        if existing is not None:
            return existing, False
    run = Run(
        id=str(uuid.uuid4()),
        job=job_name,
        runtime=job.runtime,
        kwargs=bound,
        options=_jsonable(clean),
        user=user,
        idempotency_key=idempotency_key or None,
    )
    submission = dispatch.Submission(job_name, bound, {"task_id": run.id, **clean})
    try:
        if aio:
            aio_run_start(run=run, job=job)
        elif idempotency_key or connection.in_atomic_block or not settings.TASKCENTER_RUN_BATCHING:
            # A key needs its own INSERT (a duplicate must fail alone), and a caller's
            # transaction must hold the record: a batch goes out on whichever waiting
            # request's connection leads it.
            record_and_submit([run], [submission])
        else:
            run_sender().send(run, submission)
    except IntegrityError:
        if not idempotency_key:
            raise
        # Two requests raced with the same key: the other one recorded its run first.
        existing = _replay(user=user, key=idempotency_key, job=job_name, kwargs=bound)
        if existing is None:
            raise
        return existing, False
    except (*dispatch.BROKER_ERRORS, SenderTimeoutError) as exc:
        raise BrokerUnavailableError("the task broker is unreachable") from exc
    return run, True


def _replay(*, user: AbstractBaseUser, key: str | None, job: str, kwargs: dict) -> Run | None:
    run = Run.objects.filter(user=user, idempotency_key=key).first()
    if run is not None and (run.job != job or run.kwargs != json.loads(json.dumps(kwargs))):
        raise IdempotencyConflictError(_("this Idempotency-Key was used for a different request"))
    return run


def run_get(*, run_id: str, user: AbstractBaseUser | None = None) -> Run:
    """Return the run this system issued under `run_id` (Run.DoesNotExist otherwise).

    With `user`, raise PermissionDenied unless they started it, may trigger its job, or
    hold `taskcenter.view_run`: a run's arguments and result may be someone else's data.
    """
    run = Run.objects.get(id=run_id)
    if user is not None and run.user_id != user.pk and not user.has_perm("taskcenter.view_run"):
        try:
            job_triggerable(user=user, name=run.job, runtimes=API_RUNTIMES)
        except UnknownJobError:
            raise PermissionDenied("you may not see this run") from None
    return run


def run_revoke(*, user: AbstractBaseUser, run: Run, terminate: bool = False) -> str:
    """Revoke `run`; return what happened: "revoked", "revoke requested" or "already finished".

    A queued run never starts. A running one is only stopped with `terminate` (SIGTERM);
    without it the worker finishes it, hence "revoke requested". The request is stored on
    the run record, which every worker checks as a message arrives, so a worker started
    after the revoke (or one the broadcast missed) discards the run too.
    """
    job_triggerable(user=user, name=run.job, runtimes=API_RUNTIMES)
    state = run_status(run=run).state
    if state in FINISHED_STATES:
        return "already finished"
    if run.runtime == Run.Runtime.AIO:
        return aio_run_revoke(run=run)
    try:
        dispatch.revoke(run.id, terminate=terminate)
    except dispatch.BROKER_ERRORS as exc:
        raise BrokerUnavailableError("the task broker is unreachable") from exc
    Run.objects.filter(id=run.id).update(revoke_requested_at=timezone.now())
    if state in RUNNING_STATES:
        return "terminate requested" if terminate else "revoke requested"
    return "revoked"


def run_revoke_requested(*, run_id: str) -> bool:
    """Worker side, as a run's message arrives: whether a revoke was asked for it."""
    return Run.objects.filter(id=run_id, revoke_requested_at__isnull=False).exists()


def run_record_attempt(*, task_id: str, attempt: int) -> None:
    """Worker side, before each attempt: remember how many times the run has started."""
    Run.objects.filter(id=task_id).update(attempts=attempt)


def run_record_failure(*, task_id: str) -> None:
    """Worker side, on a failed attempt: remember when the run failed first."""
    Run.objects.filter(id=task_id).update(
        first_failed_at=Coalesce(
            "first_failed_at", Value(timezone.now(), output_field=DateTimeField())
        )
    )


def run_record_issued(*, run_id: str, job: str, user: AbstractBaseUser) -> Run:
    """Record a run another service already sent (a schedule's run-now), so its id is known."""
    run, _ = Run.objects.get_or_create(id=run_id, defaults={"job": job, "user": user})
    return run
