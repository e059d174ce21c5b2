"""The lean Redis publisher writes what `apply_async` writes, and a worker runs it."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import redis
from celery import signals
from django.conf import settings

from config.celery import app
from taskcenter import dispatch
from taskcenter.catalog import get_job
from taskcenter.dispatch import redis_publisher
from taskcenter.results.backend import ENQUEUED_AT
from tests.conftest import wait_for
from tests.servers import RedisServer

pytestmark = [pytest.mark.services]

JOB = "jobs.demo.add"
#: The queue of the tests that use a private Redis server of their own.
QUEUE = "taskcenter-test-publisher"

#: Every option the trigger API passes on, alone and together.
OPTION_CASES = {
    "none": {},
    "countdown": {"countdown": 30},
    "eta": {"eta": datetime.now(UTC) + timedelta(minutes=5)},
    "priority": {"priority": 5},
    "expires": {"expires": 120},
    "headers": {"headers": {"x-origin": "test"}},
    "all": {"countdown": 10, "priority": 9, "expires": 600, "headers": {"x-a": 1}},
}


@pytest.fixture
def queue():
    """A queue of this test's own (no worker consumes it) and a reader of its lists."""
    name = f"taskcenter-test-publisher-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(settings.REDIS_URL)

    def pop_all() -> dict[bytes, list[dict]]:
        found = {}
        for key in client.keys(f"{name}*"):
            found[key] = [json.loads(raw) for raw in client.lrange(key, 0, -1)]
            client.delete(key)
        return found

    yield name, pop_all
    for key in client.keys(f"{name}*"):
        client.delete(key)


def _publish_lean(task_id: str, queue: str, options: dict) -> None:
    task = get_job(JOB).task
    assert redis_publisher.can_publish(task, queue)
    with app.producer_or_acquire() as producer:
        redis_publisher.publish_many(
            producer,
            [redis_publisher.Message(task, task_id, {"x": 1, "y": 2}, queue=queue, **options)],
        )


def _comparable(envelope: dict) -> dict:
    """The envelope without what differs between any two sends (tag, times)."""
    envelope = json.loads(json.dumps(envelope))
    props = envelope["properties"]
    assert uuid.UUID(props.pop("delivery_tag"))
    expiration = props.pop("expiration", None)
    headers = envelope["headers"]
    sent = datetime.fromisoformat(headers.pop(ENQUEUED_AT))
    times = {}
    for key in ("eta", "expires"):
        if headers[key] is not None:
            times[key] = datetime.fromisoformat(headers.pop(key))
    body = json.loads(base64.b64decode(envelope.pop("body")))
    return {
        "envelope": envelope,
        "body": body,
        "expiration": expiration,
        "sent": sent,
        "times": times,
    }


@pytest.mark.parametrize("case", OPTION_CASES)
def test_the_message_is_the_one_apply_async_writes(case, queue):
    name, pop_all = queue
    options = OPTION_CASES[case]
    task_id = str(uuid.uuid4())

    get_job(JOB).task.apply_async(kwargs={"x": 1, "y": 2}, task_id=task_id, queue=name, **options)
    theirs = pop_all()
    _publish_lean(task_id, name, options)
    ours = pop_all()

    assert list(ours) == list(theirs), "same Redis list (queue and priority)"
    [(key, [their_message])] = theirs.items()
    [our_message] = ours[key]
    a, b = _comparable(their_message), _comparable(our_message)
    assert b["envelope"] == a["envelope"]
    assert b["body"] == a["body"]
    assert abs((b["sent"] - a["sent"]).total_seconds()) < 5
    assert set(b["times"]) == set(a["times"])
    for key in a["times"]:
        assert abs((b["times"][key] - a["times"][key]).total_seconds()) < 5
    if a["expiration"] is None:
        assert b["expiration"] is None
    else:
        assert abs(int(b["expiration"]) - int(a["expiration"])) <= 5000


def _routed_queue(job: str, queue: str | None) -> str:
    found = redis_publisher.route(job, queue)
    assert found is not None, "a plain direct queue"
    return found.queue.name


def test_a_job_is_routed_as_the_router_routes_it():
    assert _routed_queue("jobs.reports.build_report", None) == "reports"
    assert _routed_queue(JOB, None) == settings.CELERY_TASK_DEFAULT_QUEUE
    assert _routed_queue(JOB, "email") == "email"


def test_publish_signals_are_sent_after_the_pipeline(queue):
    name, pop_all = queue
    seen = []

    def before(sender=None, headers=None, routing_key=None, **kwargs):
        seen.append(("before", sender, headers["id"], routing_key))

    def after(sender=None, headers=None, routing_key=None, **kwargs):
        seen.append(("after", sender, headers["id"], routing_key, len(pop_all_peek())))

    client = redis.Redis.from_url(settings.REDIS_URL)

    def pop_all_peek():
        return client.lrange(name, 0, -1)

    signals.before_task_publish.connect(before, weak=False)
    signals.after_task_publish.connect(after, weak=False)
    try:
        task_id = str(uuid.uuid4())
        _publish_lean(task_id, name, {})
    finally:
        signals.before_task_publish.disconnect(before)
        signals.after_task_publish.disconnect(after)
    assert seen == [("before", JOB, task_id, name), ("after", JOB, task_id, name, 1)]
    pop_all()


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_what_submit_many_published(celery_worker):
    task_id = str(uuid.uuid4())
    assert redis_publisher.can_publish(get_job(JOB).task, None)

    dispatch.submit_many([dispatch.Submission(JOB, {"x": 20, "y": 22}, {"task_id": task_id})])

    assert wait_for(lambda: dispatch.status(task_id) == "SUCCESS", what="the run to finish")
    assert dispatch.result(task_id, timeout=5) == 42


def test_a_batch_keeps_its_order_in_one_list_and_reaches_every_list(queue):
    name, pop_all = queue
    task = get_job(JOB).task
    ids = [str(uuid.uuid4()) for _ in range(4)]
    messages = [
        redis_publisher.Message(task, ids[0], {"x": 0, "y": 0}, queue=name),
        redis_publisher.Message(task, ids[1], {"x": 1, "y": 0}, queue=name, priority=6),
        redis_publisher.Message(task, ids[2], {"x": 2, "y": 0}, queue=name),
        redis_publisher.Message(task, ids[3], {"x": 3, "y": 0}, queue=name),
    ]
    with app.producer_or_acquire() as producer:
        redis_publisher.publish_many(producer, messages)

    lists = pop_all()
    # LPUSH puts each message at the head: a worker (RPOP) takes them oldest first.
    in_order = {key: [m["headers"]["id"] for m in reversed(found)] for key, found in lists.items()}
    assert in_order == {
        name.encode(): [ids[0], ids[2], ids[3]],
        f"{name}\x06\x166".encode(): [ids[1]],
    }


def test_a_router_function_leaves_publishing_to_apply_async(monkeypatch):
    # A function in task_routes may route by the arguments: no route is kept for it.
    monkeypatch.setattr(app.amqp, "_rtable", [lambda *args, **kwargs: None])
    redis_publisher.route.cache_clear()
    try:
        assert redis_publisher.route(JOB, None) is None
        assert not redis_publisher.can_publish(get_job(JOB).task, None)
    finally:
        monkeypatch.undo()
        redis_publisher.route.cache_clear()
    assert redis_publisher.route(JOB, None) is not None


@pytest.mark.parametrize(
    ("change", "suits"),
    [
        ({}, True),
        ({"driver": "filesystem"}, False),
        ({"backend": "rpc"}, False),
        ({"task_serializer": "pickle"}, False),
        ({"task_compression": "gzip"}, False),
        ({"task_send_sent_event": True}, False),
        ({"task_protocol": 1}, False),
    ],
)
def test_only_a_setup_it_reproduces_exactly_uses_it(change, suits):
    conf = {
        "task_protocol": 2,
        "task_serializer": "json",
        "task_compression": None,
        "task_send_sent_event": False,
    }
    conf.update({k: v for k, v in change.items() if k in conf})
    backend = app.backend
    if change.get("backend") == "rpc":
        from celery.backends.rpc import RPCBackend

        backend = RPCBackend(app=app)
    found = redis_publisher.supports(
        driver=change.get("driver", "redis"), backend=backend, conf=SimpleNamespace(**conf)
    )
    assert found is suits


def test_after_the_broker_restarts_the_next_batch_goes_out(tmp_path):
    # Given a publisher whose kept Redis client is connected to a broker that then restarts
    server = RedisServer(tmp_path)
    server.start()
    task = get_job(JOB).task
    connection = app.connection_for_write(server.url)
    client = redis.Redis.from_url(server.url)

    def publish(x: int) -> None:
        message = redis_publisher.Message(task, str(uuid.uuid4()), {"x": x, "y": 0}, queue=QUEUE)
        redis_publisher.publish_many(producer, [message])

    try:
        producer = app.amqp.Producer(connection)
        publish(1)
        assert client.llen(QUEUE) == 1
        server.stop()
        server.start()  # same port, empty: the first message went with the old server

        # When the next batches are published
        try:
            publish(2)
            first_after = 1
        except dispatch.BROKER_ERRORS:  # the kept connection noticed it was gone
            first_after = 0
        publish(3)

        # Then each either went out or failed with a broker error, and the client recovered
        sent = [json.loads(raw)["headers"]["kwargsrepr"] for raw in client.lrange(QUEUE, 0, -1)]
        assert sent == ["{'x': 3, 'y': 0}", "{'x': 2, 'y': 0}"][: 1 + first_after]
    finally:
        connection.release()
        server.stop()
