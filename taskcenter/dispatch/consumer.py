"""Celery's worker consumer, refusing an oversized message and recording undecodable ones.

Why: Celery logs a message whose body it could not decode and acknowledges it, leaving
nothing an operator would see unless they read the worker's log; here it also becomes a
dead letter (`taskcenter.dispatch.refusals`). A body over `TASKCENTER_MAX_MESSAGE_BYTES`
is refused before Celery decodes it, on any broker (on Redis the transport has already
screened the envelope; RabbitMQ's own cap is 128 MiB). Set as `CELERY_WORKER_CONSUMER`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer
from django.conf import settings

from taskcenter.dispatch.refusals import oversize_problem, refusal_record

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    """The worker's consumer; oversized and undecodable messages are recorded, never run."""

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        handler = super().create_task_handler(*args, **kwargs)
        errors = self.connection_errors

        def on_task_received(message: Any) -> Any:
            problem = oversize_problem(message.body, settings.TASKCENTER_MAX_MESSAGE_BYTES)
            if problem is None:
                return handler(message)
            headers = message.headers if isinstance(message.headers, dict) else {}
            refusal_record(reason=problem, task_id=headers.get("id"), job=headers.get("task"))
            message.reject_log_error(logger, errors, requeue=False)
            return None

        return on_task_received

    def on_decode_error(self, message: Any, exc: BaseException) -> None:
        headers = message.headers if isinstance(message.headers, dict) else {}
        refusal_record(
            reason=f"the body could not be decoded: {type(exc).__name__}: {exc}"[:500],
            task_id=headers.get("id"),
            job=headers.get("task"),
        )
        super().on_decode_error(message, exc)
