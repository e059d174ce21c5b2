"""kombu's Redis transport, refusing messages no task center process could have sent.

Why: kombu parses each envelope it pops and hands it on; an envelope that is not JSON
raised out of the worker's event loop and stopped the worker, and a pickle or oversized
message reached Celery's own decoding. Here a popped envelope is screened first
(`taskcenter.dispatch.refusals`): a refused one is dropped and recorded, never delivered
or acknowledged (it was never in the unacked set). Everything else is kombu's.
Re-check `_brpop_read` and `_get` on every kombu upgrade.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis

from taskcenter.dispatch.refusals import envelope_names, envelope_problem, refusal_record


class Channel(redis.Channel):
    """A Redis channel whose unparseable envelopes are dropped and recorded."""

    def _brpop_read(self, **options: Any) -> bool:
        try:
            return super()._brpop_read(**options)
        except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
            refusal_record(reason=f"the envelope is not JSON: {exc}")
            return True

    def _get(self, queue: str) -> Any:
        try:
            return super()._get(queue)
        except ValueError as exc:
            refusal_record(reason=f"the envelope is not JSON: {exc}")
            raise redis.Empty() from None


class Transport(redis.Transport):
    """The Redis transport with screened deliveries."""

    Channel = Channel

    def _deliver(self, message: Any, queue: str) -> None:
        problem = envelope_problem(message)
        if problem is not None:
            task_id, job = envelope_names(message)
            refusal_record(reason=problem, task_id=task_id, job=job)
            return
        super()._deliver(message, queue)
