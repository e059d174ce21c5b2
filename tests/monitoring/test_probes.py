"""`/healthz`, `/readyz` and `/health` over real HTTP, with a broker that really stops."""

from __future__ import annotations

import time

import pytest

from tests.monitoring.conftest import heartbeat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_healthz_answers_while_the_process_is_up(http):
    answer = http.get("/healthz")

    assert answer.status == 200
    assert answer.body == {"status": "ok"}


def test_health_keeps_answering_for_existing_probes(http):
    answer = http.get("/health")

    assert answer.status == 200
    assert answer.body["database"] is True


def test_readyz_is_ready_when_database_and_broker_answer(http):
    answer = http.get("/readyz")

    assert answer.status == 200
    assert answer.body["checks"] == {"database": True, "broker": True}


def test_readyz_names_the_broker_within_its_bound_while_redis_is_stopped(http, own_redis, settings):
    settings.CELERY_BROKER_URL = own_redis.url
    settings.TASKCENTER_PROBE_TIMEOUT = 1.0
    assert http.get("/readyz").status == 200

    own_redis.freeze()
    try:
        began = time.monotonic()
        hung = http.get("/readyz")
        hung_took = time.monotonic() - began
    finally:
        own_redis.thaw()
    own_redis.stop()
    began = time.monotonic()
    refused = http.get("/readyz")
    refused_took = time.monotonic() - began

    for answer in (hung, refused):
        assert answer.status == 503
        assert answer.body["failed"] == ["broker"]
        assert answer.body["checks"]["database"] is True
    # The bound is 1 s per dependency; generous slack for a loaded 2-core machine.
    assert hung_took < 4.0
    assert refused_took < 4.0


def test_readyz_asked_for_a_worker_fails_without_a_fresh_worker_heartbeat(http, settings):
    settings.TASKCENTER_READYZ_REQUIRE_WORKER = True
    settings.TASKCENTER_HEARTBEAT_STALE_AFTER = 30
    heartbeat("worker", "worker:old@host", age=300, queues=["default"])

    stale = http.get("/readyz")
    heartbeat("worker", "worker:fresh@host", age=1, queues=["default"])
    fresh = http.get("/readyz")

    assert stale.status == 503
    assert stale.body["failed"] == ["worker"]
    assert fresh.status == 200
    assert fresh.body["checks"]["worker"] is True


def test_readyz_does_not_count_a_worker_that_said_it_stopped(http, settings):
    settings.TASKCENTER_READYZ_REQUIRE_WORKER = True
    heartbeat("worker", "worker:gone@host", age=1, stopped=True)

    answer = http.get("/readyz")

    assert answer.status == 503
    assert answer.body["failed"] == ["worker"]
