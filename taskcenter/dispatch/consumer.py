"""Celery's worker consumer, recording a message whose body it could not decode.

Why: Celery logs such a message and acknowledges it, leaving nothing an operator would
see unless they read the worker's log; here it also becomes a dead letter
(`taskcenter.dispatch.refusals`). Set as `CELERY_WORKER_CONSUMER`.
"""

from __future__ import annotations

from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

from taskcenter.dispatch.refusals import refusal_record


class Consumer(CeleryConsumer):
    """The worker's consumer; undecodable messages are recorded as well as logged."""

    def on_decode_error(self, message: Any, exc: BaseException) -> None:
        headers = message.headers if isinstance(message.headers, dict) else {}
        refusal_record(
            reason=f"the body could not be decoded: {type(exc).__name__}: {exc}"[:500],
            task_id=headers.get("id"),
            job=headers.get("task"),
        )
        super().on_decode_error(message, exc)
