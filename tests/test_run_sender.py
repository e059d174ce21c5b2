"""Concurrent triggers in one web process are recorded and published together."""

import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from taskcenter import dispatch
from taskcenter.models import Run
from taskcenter.services.run_sender import RunSender, _Pending
from taskcenter.services.runs import run_trigger

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue_length():
    """The number of messages waiting on the default queue (no worker runs here)."""
    app.control.purge()
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield lambda: client.llen("default")
    app.control.purge()


def _pending(user, **kwargs) -> _Pending:
    run = Run(id=str(uuid.uuid4()), job="jobs.demo.add", kwargs=kwargs, user=user)
    return _Pending(run, dispatch.Submission("jobs.demo.add", kwargs, {"task_id": run.id}))


def test_a_batch_is_one_insert_and_every_run_is_published(django_user_model, queue_length):
    user = django_user_model.objects.create_user("sender")
    batch = [_pending(user, x=i, y=1) for i in range(5)]

    with CaptureQueriesContext(connection) as queries:
        RunSender()._send(batch)

    assert [p.error for p in batch] == [None] * 5
    assert all(p.done.is_set() for p in batch)
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


def test_concurrent_triggers_share_batches_and_each_gets_its_own_run(
    django_user_model, queue_length, settings
):
    settings.TASKCENTER_RUN_BATCHING = True
    user = django_user_model.objects.create_user("sender", is_superuser=True)
    from taskcenter.services.run_sender import run_sender

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
    assert queue_length() == clients
    batches, runs = sender.batches - before[0], sender.runs - before[1]
    assert runs == clients
    assert batches < clients  # some of them went out together
