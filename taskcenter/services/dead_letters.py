"""The dead-letter store: runs that failed for the last time, to requeue or discard."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from taskcenter.catalog import UnknownJobError, get_job
from taskcenter.models import DeadLetter, Run
from taskcenter.services.runs import run_trigger
from taskcenter.services.scrub import scrub


def dead_letter_record(
    *,
    task_id: str,
    job: str,
    args: Iterable[Any],
    kwargs: dict[str, Any],
    exception: BaseException,
    attempts: int,
) -> DeadLetter | None:
    """Worker side, on a run's final failure: store it (once); skip non-catalog tasks."""
    try:
        get_job(job)
    except UnknownJobError:
        return None
    now = timezone.now()
    first = Run.objects.filter(id=task_id).values_list("first_failed_at", flat=True).first()
    letter, _ = DeadLetter.objects.update_or_create(
        task_id=task_id,
        defaults={
            "job": job,
            "args": list(args or []),
            "kwargs": dict(kwargs or {}),
            "exception_type": type(exception).__name__[:200],
            "message": scrub(str(exception)),
            "attempts": attempts,
            "first_failed_at": first or now,
            "last_failed_at": now,
            "status": DeadLetter.Status.OPEN,
        },
    )
    return letter


def dead_letters_open() -> QuerySet[DeadLetter]:
    """Dead letters waiting for a decision, newest failure first."""
    return DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)


def dead_letters_requeue(
    *, user: AbstractBaseUser, letters: Iterable[DeadLetter]
) -> list[tuple[DeadLetter, Run]]:
    """Trigger each open letter's job again with its arguments, as `user`; mark it requeued.

    Each letter is sent in its own transaction, so a broker failure midway leaves the
    letters already requeued marked and the rest open.
    """
    if not user.has_perm("taskcenter.change_deadletter"):
        raise PermissionDenied("you may not requeue dead letters")
    letters = [letter for letter in letters if letter.status == DeadLetter.Status.OPEN]
    requeued = []
    for letter in letters:
        with transaction.atomic():
            locked = DeadLetter.objects.select_for_update().get(pk=letter.pk)
            if locked.status != DeadLetter.Status.OPEN:
                continue
            run, _ = run_trigger(
                user=user, job_name=locked.job, args=locked.args, kwargs=locked.kwargs
            )
            locked.status = DeadLetter.Status.REQUEUED
            locked.requeued_run_id = run.id
            locked.resolved_at = timezone.now()
            locked.resolved_by = user
            locked.save(update_fields=["status", "requeued_run_id", "resolved_at", "resolved_by"])
        requeued.append((locked, run))
    return requeued


@transaction.atomic
def dead_letters_discard(*, user: AbstractBaseUser, letters: Iterable[DeadLetter]) -> int:
    """Mark open letters discarded (kept for the record); return how many were."""
    if not user.has_perm("taskcenter.delete_deadletter"):
        raise PermissionDenied("you may not discard dead letters")
    return DeadLetter.objects.filter(
        pk__in=[letter.pk for letter in letters], status=DeadLetter.Status.OPEN
    ).update(status=DeadLetter.Status.DISCARDED, resolved_at=timezone.now(), resolved_by=user)


#: `exception_type` of a dead letter for a message the worker refused to run.
REFUSED = "RefusedMessage"


def dead_letter_refused(*, task_id: str | None, job: str | None, reason: str) -> DeadLetter:
    """Worker side: record a broker message refused unrun (unreadable, unknown, unsafe).

    The letter gets an id of its own: the message's id is whatever its sender wrote, and
    must not overwrite the dead letter of a real run. It is named in the message instead.
    """
    now = timezone.now()
    named = f" (message id {str(task_id)[:100]})" if task_id else ""
    return DeadLetter.objects.create(
        task_id=str(uuid.uuid4()),
        job=str(job or "(unreadable)")[:200],
        args=[],
        kwargs={},
        exception_type=REFUSED,
        message=scrub(reason + named)[:2000],
        attempts=0,
        first_failed_at=now,
        last_failed_at=now,
        status=DeadLetter.Status.OPEN,
    )
