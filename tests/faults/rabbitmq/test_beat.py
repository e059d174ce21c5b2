"""The beat path on RabbitMQ: beat publishes a schedule's runs there and a worker runs them.

Beat (`BROKER_URL` on a private vhost; its lease stays in the suite's Redis) dispatches a
one-second interval schedule of a catalog job; a worker of the default queue on the same
vhost runs each to SUCCESS, and the result is stored under the schedule's name.
"""

import json

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from tests.conftest import wait_for
from tests.faults.test_rabbitmq import _start_default_worker

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.slow]


def test_beat_on_rabbitmq_dispatches_a_schedule_a_worker_runs_to_success(
    rabbit_vhost, beats, tmp_path
):
    # Given a one-second schedule of a catalog job, and a worker on RabbitMQ
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="on-rabbit",
        task="jobs.demo.add",
        interval=interval,
        kwargs=json.dumps({"x": 2, "y": 5}),
    )
    worker = _start_default_worker(tmp_path, rabbit_vhost.url)
    try:
        # When beat runs with its broker on the same vhost
        beats.start_leader(BROKER_URL=rabbit_vhost.url)

        # Then the schedule's runs end SUCCESS with their result stored
        finished = TaskResult.objects.filter(periodic_task_name="on-rabbit", status="SUCCESS")
        wait_for(lambda: finished.count() >= 2, timeout=60, what="two scheduled runs to succeed")
        assert {json.loads(r.result) for r in finished} == {7}
    finally:
        worker.stop()
