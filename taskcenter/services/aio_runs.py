"""AnyIO runs: start an `@aio_job` in this web process's manager, revoke it.

A run is recorded (its `Run` row, `runtime="aio"`) before it is handed to the manager,
and each state it reaches is stored as its `TaskResult` row (`taskcenter.aio.recording`),
so `GET /api/runs/{id}` and the admin read it from any process, as a Celery run. A full
or stopped manager refuses at once and the record is deleted again: nothing queues
without bound.
"""

from __future__ import annotations

import functools
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from taskcenter.aio.manager import ManagerClosedError, QueueFullError
from taskcenter.aio.runtime import runtime_cancel, runtime_submit
from taskcenter.catalog import Job, JobArgumentsError
from taskcenter.dispatch.run_sender import insert_runs
from taskcenter.models import Run

#: Seconds a client should wait after a full manager: AnyIO runs are short by design.
RETRY_AFTER_FULL = 1
#: ... and after a process that runs no manager (stopping, or a server without one).
RETRY_AFTER_NOT_RUNNING = 5


class AioUnavailableError(RuntimeError):
    """This web process's AnyIO manager took nothing: full, stopping or not running."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def aio_options_check(*, options: dict[str, Any]) -> dict[str, Any]:
    """Refuse the Celery publish options (queue, countdown, ...): they mean nothing here."""
    given = [key for key, value in options.items() if value is not None]
    if given:
        raise JobArgumentsError(dict.fromkeys(given, _("applies to Celery jobs only")))
    return {}


def aio_run_start(*, run: Run, job: Job) -> None:
    """Record the (validated and permitted) run of the AnyIO `job` and start it here.

    Raises AioUnavailableError when the manager is full or not running, the record gone
    again by then, and IntegrityError for a duplicate Idempotency-Key.
    """
    insert_runs([run])
    try:
        runtime_submit(
            functools.partial(job.func, **run.kwargs),
            name=job.name,
            task_id=run.id,
            meta={"run": True, "kwargs": run.kwargs},
        )
    except (QueueFullError, ManagerClosedError) as exc:
        Run.objects.filter(id=run.id).delete()
        if isinstance(exc, QueueFullError):
            message = _("this web process runs as many AnyIO jobs as it may; try again shortly")
            raise AioUnavailableError(message, retry_after=RETRY_AFTER_FULL) from exc
        message = _("no AnyIO runtime runs in this web process; try again later")
        raise AioUnavailableError(message, retry_after=RETRY_AFTER_NOT_RUNNING) from exc


def aio_run_revoke(*, run: Run) -> str:
    """Cancel `run` if this process runs it ("revoked"), else have its process do it.

    The process running it looks for requests about once a second
    (AIO_REVOKE_POLL_INTERVAL) and cancels it ("revoke requested"); either way it ends
    REVOKED.
    """
    Run.objects.filter(id=run.id).update(revoke_requested_at=timezone.now())
    if runtime_cancel(run.id):
        return "revoked"
    return "revoke requested"
