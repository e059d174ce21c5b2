"""Concurrent triggers in one web process are recorded and published together."""

import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django_celery_results.models import TaskResult

from taskcenter import dispatch
from taskcenter.dispatch.run_sender import RunSender, SenderTimeoutError, _Pending
from taskcenter.models import Run
from taskcenter.services.runs import run_trigger
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


#: A queue of this test module's own, which no worker consumes.
QUEUE = f"taskcenter-test-sender-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def queue_length():
    """The number of messages waiting on QUEUE."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(QUEUE)
    yield lambda: client.llen(QUEUE)
    client.delete(QUEUE)


def _pending(user, **kwargs) -> _Pending:
    run = Run(id=str(uuid.uuid4()), job="jobs.demo.add", kwargs=kwargs, user=user)
    options = {"task_id": run.id, "queue": QUEUE}
    return _Pending(run, dispatch.Submission("jobs.demo.add", kwargs, options))


def test_a_batch_is_one_insert_and_every_run_is_published(django_user_model, queue_length):
    user = django_user_model.objects.create_user("sender")
    batch = [_pending(user, x=i, y=1) for i in range(5)]

    with CaptureQueriesContext(connection) as queries:
        RunSender()._send(batch)

    assert [p.error for p in batch] == [None] * 5
    assert all(p.done and p.wake.is_set() for p in batch)
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert set(Run.objects.values_list("id", flat=True)) == {p.run.id for p in batch}
    assert queue_length() == 5


def test_a_run_the_database_refuses_does_not_fail_the_rest_of_its_batch(
    django_user_model, queue_length
):
    user = django_user_model.objects.create_user("sender")
    gone = django_user_model.objects.create_user("gone")
    batch = [_pending(user, x=1, y=1), _pending(gone, x=2, y=2), _pending(user, x=3, y=3)]
    gone.delete()  # its run now points at no user: the foreign key refuses that row

    RunSender()._send(batch)

    assert [p.error is None for p in batch] == [True, False, True]
    assert isinstance(batch[1].error, IntegrityError)
    assert set(Run.objects.values_list("id", flat=True)) == {batch[0].run.id, batch[2].run.id}
    assert queue_length() == 2


def test_a_run_nobody_sends_in_time_is_dropped_and_the_next_request_still_leads(
    django_user_model, queue_length, monkeypatch
):
    # Given a request leading a batch whose publish is stuck, and one waiting behind it
    user = django_user_model.objects.create_user("sender")
    monkeypatch.setattr("taskcenter.dispatch.run_sender.WAIT_TIMEOUT", 0.5)
    sender = RunSender()
    stuck, release = threading.Event(), threading.Event()
    real_submit = dispatch.submit_many

    def slow_submit(submissions):
        stuck.set()
        release.wait(10)
        real_submit(submissions)

    monkeypatch.setattr(dispatch, "submit_many", slow_submit)
    first, second = _pending(user, x=1, y=1), _pending(user, x=2, y=2)
    outcome: dict[str, BaseException | None] = {}

    def send(name, pending):
        try:
            sender.send(pending.run, pending.submission)
            outcome[name] = None
        except BaseException as exc:  # reported below
            outcome[name] = exc
        finally:
            connection.close()

    leader = threading.Thread(target=send, args=("first", first))
    leader.start()
    assert stuck.wait(10)
    send("second", second)  # waits behind the stuck batch, then gives up

    # Then the waiting run is refused and never recorded or sent
    assert isinstance(outcome["second"], SenderTimeoutError)
    release.set()
    leader.join(10)
    assert outcome["first"] is None
    monkeypatch.setattr(dispatch, "submit_many", real_submit)
    # And the sender is free again: the next request leads and sends its own run
    third = _pending(user, x=3, y=3)
    sender.send(third.run, third.submission)
    assert set(Run.objects.values_list("id", flat=True)) == {first.run.id, third.run.id}
    assert queue_length() == 2


def test_an_interrupted_leader_keeps_its_interrupt_and_the_others_get_a_broker_error(
    django_user_model, monkeypatch
):
    user = django_user_model.objects.create_user("sender")
    batch = [_pending(user, x=1, y=1), _pending(user, x=2, y=2)]

    def interrupted(submissions):
        raise KeyboardInterrupt("worker stopping")

    monkeypatch.setattr(dispatch, "submit_many", interrupted)
    with pytest.raises(KeyboardInterrupt):
        RunSender()._send(batch)

    assert all(isinstance(p.error, SenderTimeoutError) for p in batch)
    assert all(p.done and p.wake.is_set() for p in batch)
    assert not Run.objects.exists()  # recorded, then taken back when the publish failed


def test_concurrent_triggers_share_batches_and_each_run_is_carried_out(
    django_user_model, celery_worker, settings
):
    settings.TASKCENTER_RUN_BATCHING = True
    user = django_user_model.objects.create_user("sender", is_superuser=True)
    from taskcenter.dispatch.run_sender import run_sender

    sender = run_sender()
    before = (sender.batches, sender.runs)
    clients = 32
    gate = threading.Barrier(clients)
    ids: list[str] = []
    errors: list[BaseException] = []

    def trigger(i: int) -> None:
        gate.wait()
        try:
            run, created = run_trigger(user=user, job_name="jobs.demo.add", kwargs={"x": i, "y": 0})
            assert created
            ids.append(run.id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(set(ids)) == clients
    assert set(Run.objects.values_list("id", flat=True)) == set(ids)
    wait_for(
        lambda: TaskResult.objects.filter(task_id__in=ids, status="SUCCESS").count() == clients,
        timeout=60,
        what="every run to succeed",
    )
    batches, runs = sender.batches - before[0], sender.runs - before[1]
    assert runs == clients
    assert batches < clients  # some of them went out together
