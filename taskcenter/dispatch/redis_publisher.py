"""Publish catalog-job messages to a Redis broker: `apply_async`'s message, one round trip a batch.

Why: through `apply_async` most of a message's CPU goes to bookkeeping that comes out the
same for every message of one job (merging options, routing by name, re-binding the
queue, a new redis-py client per batch); here it is worked out once per job and queue.
`TASKCENTER_FAST_PUBLISH=false` turns it off (figures: bench/README.md).

Celery and kombu still build the message (`app.amqp.create_task_message`, protocol 2,
JSON), route it, declare the queue, send the publish signals, pick the priority list and
pool the connections; ours is kombu's Redis envelope and one LPUSH per list. It leans on
internals of the pinned versions (`Task._get_exec_options`, the Redis channel's
`_create_client`, `_q_for_pri`, `_get_message_priority`,
`Connection._reraise_as_library_errors`): tests/dispatch/test_redis_publisher.py holds it
to what `apply_async` writes, field by field, so an upgrade fails there first.
Used only where it equals `apply_async` (Redis broker, database results, JSON without
compression, no sent events, published outside a task); `dispatch.submit_many` keeps
`apply_async` everywhere else.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from celery import signals
from celery.app.routes import MapRoute
from celery.app.task import Task
from celery.backends.base import Backend as BaseBackend
from celery.utils.nodenames import anon_nodename
from celery.utils.saferepr import saferepr
from kombu import Producer, Queue
from kombu.entity import maybe_delivery_mode
from kombu.serialization import dumps as serialize
from kombu.utils.json import dumps as envelope_json

from config.celery import app


@dataclass(frozen=True)
class Route:
    """Where one job's messages go and the defaults they carry (from apply_async's own steps)."""

    queue: Queue
    delivery_mode: int
    priority: int | None
    expires: float | None
    time_limit: float | None
    soft_time_limit: float | None
    ignore_result: bool
    #: The message's `argsrepr` (no positional arguments) and `task_repr_maxlevels`.
    argsrepr: str
    maxlevels: int


@dataclass(frozen=True)
class Message:
    """One job to publish: its id, keyword arguments and the options the API allows."""

    task: Task
    task_id: str
    kwargs: dict[str, Any]
    queue: str | None = None
    countdown: float | None = None
    eta: datetime | None = None
    priority: int | None = None
    expires: float | None = None
    headers: dict[str, Any] | None = None


@cache
def broker_supported() -> bool:
    """Whether this process's broker and settings are ones this module reproduces exactly."""
    with app.connection_for_write() as connection:
        driver = connection.transport.driver_type
    return supports(driver=driver, backend=app.backend, conf=app.conf)


def supports(*, driver: str, backend: Any, conf: Any) -> bool:
    """Whether a broker `driver`, result `backend` and Celery `conf` suit this module."""
    return (
        driver == "redis"
        # A result backend that must hear of each sent task (rpc://, redis://) is not ours.
        and type(backend).on_task_call is BaseBackend.on_task_call
        and int(conf.task_protocol) == 2
        and conf.task_serializer == "json"
        and not conf.task_compression
        and not conf.task_send_sent_event
    )


@lru_cache(maxsize=256)
def route(task_name: str, queue: str | None) -> Route | None:
    """Route `task_name` (optionally to `queue`) as `apply_async` does; None if not plain.

    The same steps as `Task.apply_async` and `Celery.send_task`: the task's execution
    options, then the router. Kept per job and queue, which is right while task_routes
    are name patterns (a mapping): a router function could look at the arguments, so
    with one this answers None. None too for a route this module does not reproduce (a
    named exchange or routing key, a non-direct or expiring queue).
    """
    if not all(isinstance(r, MapRoute) for r in app.amqp.routes):
        return None
    task = app.tasks[task_name]
    options = dict(task._get_exec_options())
    if queue is not None:
        options["queue"] = queue
    time_limit = options.pop("time_limit", None)
    soft_time_limit = options.pop("soft_time_limit", None)
    expires = options.pop("expires", None)
    options.pop("ignore_result", None)
    routed = app.amqp.router.route(options, task_name, (), {}, task)
    target = routed.get("queue")
    if (
        not isinstance(target, Queue)
        or routed.get("exchange")
        or routed.get("routing_key")
        or routed.get("serializer") not in (None, "json")
        or routed.get("compression")
        or target.exchange.type != "direct"
        or target.expires is not None
        or (target.queue_arguments or {}).get("x-expires") is not None
    ):
        return None
    return Route(
        queue=target,
        delivery_mode=maybe_delivery_mode(
            routed.get("delivery_mode")
            or target.exchange.delivery_mode
            or app.conf.task_default_delivery_mode
        ),
        priority=routed.get("priority"),
        expires=expires,
        time_limit=time_limit,
        soft_time_limit=soft_time_limit,
        ignore_result=task.ignore_result,
        argsrepr=saferepr((), app.amqp.argsrepr_maxsize, maxlevels=app.conf.task_repr_maxlevels),
        maxlevels=app.conf.task_repr_maxlevels,
    )


@cache
def _retry_policy() -> dict[str, Any]:
    """The retry policy the `before_task_publish` signal reports (Celery's default one)."""
    return dict(app.conf.task_publish_retry_policy or {})


@cache
def _origin(pid: int) -> str:
    """The `origin` header Celery gives messages sent from this (non-worker) process."""
    return anon_nodename()


def can_publish(task: Task, queue: str | None) -> bool:
    """Whether `publish_many` reproduces `apply_async` for this job and queue here."""
    return (
        broker_supported()
        and app.current_worker_task is None
        and route(task.name, queue) is not None
    )


def _expiration(expires: float | datetime) -> float:
    if isinstance(expires, datetime):
        seconds = (expires - app.now()).total_seconds()
    else:
        seconds = expires
    return max(seconds, 0)


def _envelope(message: Message, channel: Any) -> tuple[str, str, tuple[Any, ...]]:
    """Return the list key, the JSON envelope and the after-publish signal's arguments."""
    r = route(message.task.name, message.queue)
    assert r is not None, "call can_publish() first"
    name = message.task.name
    expires = message.expires if message.expires is not None else r.expires
    headers, properties, body, _ = app.amqp.create_task_message(
        message.task_id,
        name,
        (),
        message.kwargs,
        message.countdown,
        message.eta,
        None,
        None,
        expires,
        0,
        None,
        None,
        None,
        app.thread_oid,
        r.time_limit,
        r.soft_time_limit,
        False,
        None,
        None,
        None,
        None,
        ignore_result=r.ignore_result,
        replaced_task_nesting=0,
        # What Celery would compute here, without its settings lookups for each message.
        argsrepr=r.argsrepr,
        kwargsrepr=saferepr(message.kwargs, app.amqp.kwargsrepr_maxsize, maxlevels=r.maxlevels),
        origin=_origin(os.getpid()),
    )
    if message.headers:
        headers.update(message.headers)
    priority = message.priority if message.priority is not None else r.priority
    qname = r.queue.name
    if signals.before_task_publish.receivers:
        signal_properties = dict(properties, priority=priority)
        signals.before_task_publish.send(
            sender=name,
            body=body,
            exchange="",
            routing_key=qname,
            declare=[r.queue],
            headers=headers,
            properties=signal_properties,
            retry_policy=_retry_policy(),
        )
    properties["delivery_mode"] = r.delivery_mode
    if expires is not None:
        properties["expiration"] = str(int(_expiration(expires) * 1000))
    content_type, content_encoding, payload = serialize(body, serializer="json")
    if isinstance(payload, str):
        payload = payload.encode(content_encoding)
    properties["delivery_info"] = {"exchange": "", "routing_key": qname}
    properties["priority"] = priority or channel.default_priority
    properties["body_encoding"] = "base64"
    properties["delivery_tag"] = str(uuid.uuid4())
    envelope = {
        "body": base64.b64encode(payload).decode(),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": headers,
        "properties": properties,
    }
    key = channel._q_for_pri(qname, channel._get_message_priority(envelope, reverse=False))
    return key, envelope_json(envelope), (name, body, qname, headers)


#: One redis-py client per kombu channel. kombu builds a new one for every publish (or
#: batch), on the channel's connection pool; building one costs more than the LPUSH.
_clients: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def _client(channel: Any) -> Any:
    client = _clients.get(channel)
    if client is None:
        client = _clients[channel] = channel._create_client()
    return client


def publish_many(producer: Producer, messages: Sequence[Message]) -> None:
    """Publish `messages` in one round trip; raise kombu's OperationalError if not sent.

    Every message must have passed `can_publish`. A refused connection sends none. Messages
    for one list go in one LPUSH, all or none; a batch spanning several lists is a
    pipeline, and a connection lost midway may have sent a part (as kombu's own batches).
    """
    with producer.connection._reraise_as_library_errors():
        channel = producer.channel
        declared = producer.connection.declared_entities
        for message in messages:
            queue = route(message.task.name, message.queue).queue
            if hash(queue) not in declared:
                producer.maybe_declare(queue)
        built = [_envelope(message, channel) for message in messages]
        by_key: dict[str, list[str]] = {}
        for key, payload, _ in built:
            by_key.setdefault(key, []).append(payload)
        client = _client(channel)
        if len(by_key) == 1:
            # One list (the usual case): one LPUSH of every message, in order, at once.
            [(key, payloads)] = by_key.items()
            client.lpush(key, *payloads)
        else:
            pipe = client.pipeline(transaction=False)
            for key, payloads in by_key.items():
                pipe.lpush(key, *payloads)
            pipe.execute()
    if signals.after_task_publish.receivers:
        for _, _, (name, body, qname, headers) in built:
            signals.after_task_publish.send(
                sender=name, body=body, exchange="", routing_key=qname, headers=headers
            )
