"""Reading the broker directly: Redis lists (with priority levels) and the filesystem broker."""

from __future__ import annotations

import json
import os
import time

import pytest
import redis

from taskcenter.dispatch.broker import broker_ping, queue_depths


@pytest.fixture
def filesystem_broker(settings, tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(folder)}
    return folder


def test_filesystem_broker_depth_and_oldest_age_come_from_its_message_files(filesystem_broker):
    old = filesystem_broker / "1_aaaa.default.msg"
    old.write_text("{}")
    os.utime(old, (time.time() - 120, time.time() - 120))
    (filesystem_broker / "2_bbbb.default.msg").write_text("{}")
    (filesystem_broker / "3_cccc.email.msg").write_text("{}")

    depths = {d.queue: d for d in queue_depths(timeout=1)}

    assert (depths["default"].waiting, depths["email"].waiting, depths["reports"].waiting) == (
        2,
        1,
        0,
    )
    assert depths["default"].oldest_age == pytest.approx(120, abs=10)
    assert depths["reports"].oldest_age is None
    broker_ping(timeout=1)


def test_filesystem_broker_without_its_folder_does_not_answer(filesystem_broker):
    filesystem_broker.rmdir()

    with pytest.raises(OSError, match="missing"):
        broker_ping(timeout=1)


@pytest.mark.services
def test_redis_depth_counts_every_priority_level_and_names_the_oldest(settings):
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = "tc-broker-test"
    settings.CELERY_TASK_QUEUES = [type("Q", (), {"name": queue})()]
    client.delete(queue, f"{queue}\x06\x163")
    try:
        for task_id in ("first", "second"):
            client.lpush(queue, json.dumps({"headers": {"id": task_id}}))
        client.lpush(f"{queue}\x06\x163", json.dumps({"headers": {"id": "urgent"}}))

        (depth,) = queue_depths(timeout=1)
    finally:
        client.delete(queue, f"{queue}\x06\x163")

    assert (depth.queue, depth.waiting, depth.oldest_task_id) == (queue, 3, "first")
