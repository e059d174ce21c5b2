"""Worker-side receivers: run records, the dead-letter store, and failure alerts.

They only adapt Celery's signal arguments and call one service each; `apps.py` imports
this module so every process that runs tasks has them connected. `on_received` makes a
revoke durable across every worker: a worker's own revoked set lives in its memory and
state file, so a worker started after the revoke would run the run; the run record's
`revoke_requested_at` is checked as each message arrives instead.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.worker import state as worker_state
from django.db import DatabaseError, close_old_connections
from django.utils.translation import gettext

from taskcenter.alerts.services import (
    alert_raise,
    alert_resolve,
    alerts_open_subjects,
    alerts_open_subjects_forget,
)
from taskcenter.dispatch.refusals import refusal_record
from taskcenter.models import Cause
from taskcenter.services.dead_letters import dead_letter_record
from taskcenter.services.runs import run_record_attempt, run_record_failure, run_revoke_requested

logger = logging.getLogger(__name__)


@signals.task_received.connect(weak=False)
def on_received(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    """Discard a run revoked through the API, whichever worker receives it and when.

    Adding the id to the worker's revoked set makes Celery itself discard the run before
    it starts (state REVOKED, message acknowledged), as for a revoke it was sent.
    """
    task_id = getattr(request, "id", None)
    if not task_id or request.name.startswith("celery."):
        return
    try:
        revoked = run_revoke_requested(run_id=task_id)
    except DatabaseError:
        # The database is away: the worker's own revoked set still applies.
        logger.warning("could not check whether %s was revoked", task_id, exc_info=True)
        close_old_connections()
        return
    if revoked:
        worker_state.revoked.add(task_id)


@signals.task_unknown.connect(weak=False)
def on_unknown(
    sender: Any = None, name: str | None = None, id: str | None = None, **kwargs: Any
) -> None:
    """Record a message naming a task this worker does not know (it is never run)."""
    refusal_record(reason=gettext("no such task in the catalog"), task_id=id, job=name)


@signals.task_rejected.connect(weak=False)
def on_rejected(sender: Any = None, message: Any = None, exc: Any = None, **kwargs: Any) -> None:
    """Record a message Celery refused as invalid (a pickle payload on RabbitMQ, say)."""
    headers = getattr(message, "headers", None)
    headers = headers if isinstance(headers, dict) else {}
    reason = f"{type(exc).__name__}: {exc}" if exc is not None else gettext("not a task message")
    refusal_record(reason=reason[:500], task_id=headers.get("id"), job=headers.get("task"))


@signals.task_prerun.connect(weak=False)
def on_prerun(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    """Count the attempt (retries + 1) on the run record before the job starts."""
    if not task_id or sender is None or sender.name.startswith("celery."):
        return
    try:
        run_record_attempt(task_id=task_id, attempt=sender.request.retries + 1)
    except DatabaseError:
        logger.warning("could not record the attempt of %s", task_id, exc_info=True)


@signals.task_retry.connect(weak=False)
def on_retry(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    """Remember when a run first failed, for its dead letter should it fail for good."""
    if request is None or not getattr(request, "id", None):
        return
    try:
        run_record_failure(task_id=request.id)
    except DatabaseError:
        logger.warning("could not record the failure of %s", request.id, exc_info=True)


@signals.task_failure.connect(weak=False)
def on_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    **extra: Any,
) -> None:
    """Store a run that failed for the last time in the dead-letter store."""
    if not task_id or sender is None or exception is None:
        return
    try:
        dead_letter_record(
            task_id=task_id,
            job=sender.name,
            args=args or [],
            kwargs=kwargs or {},
            exception=exception,
            attempts=sender.request.retries + 1,
        )
    except DatabaseError:
        logger.error("could not store the dead letter of %s", task_id, exc_info=True)
    overran = isinstance(exception, TimeLimitExceeded | SoftTimeLimitExceeded)
    try:
        alert_raise(
            cause=Cause.TIME_LIMIT if overran else Cause.FINAL_FAILURE,
            subject=sender.name,
            message=f"run {task_id}: {type(exception).__name__}",
        )
    except DatabaseError:
        logger.error("could not raise the alert of %s", task_id, exc_info=True)
    alerts_open_subjects_forget()


@signals.task_success.connect(weak=False)
def on_success(sender: Any = None, **kwargs: Any) -> None:
    """Send "recovered" for a job whose failure or overrun alert is open."""
    if sender is None or sender.name.startswith("celery."):
        return
    try:
        if sender.name in alerts_open_subjects():
            alert_resolve(causes=[Cause.FINAL_FAILURE, Cause.TIME_LIMIT], subject=sender.name)
    except DatabaseError:
        logger.warning("could not resolve the alerts of %s", sender.name, exc_info=True)
