"""The leader lease: one holder, renewal by the holder only, release hands it over."""

import uuid

import pytest
from django.conf import settings

from taskcenter.beat.leader import DatabaseLease, RedisLease
from tests.conftest import wait_for


def _redis_pair(ttl=5.0):
    key = f"test:lease:{uuid.uuid4().hex[:8]}"
    return (
        RedisLease(url=settings.REDIS_URL, key=key, ident="a", ttl=ttl),
        RedisLease(url=settings.REDIS_URL, key=key, ident="b", ttl=ttl),
    )


def _db_pair(ttl=5.0):
    return DatabaseLease(key="leader", ident="a", ttl=ttl), DatabaseLease(
        key="leader", ident="b", ttl=ttl
    )


@pytest.fixture(params=["redis", "database"])
def pair(request, db):
    if request.param == "redis":
        request.applymarker(pytest.mark.services)
        return _redis_pair()
    return _db_pair()


@pytest.mark.services
def test_only_one_holder_and_the_holder_renews(pair):
    first, second = pair

    assert first.refresh() is True
    assert second.refresh() is False
    assert first.refresh() is True
    assert first.held()
    assert not second.held()
    assert second.holder() == "a"


@pytest.mark.services
def test_release_lets_the_standby_take_over_at_once(pair):
    first, second = pair
    first.refresh()

    first.release()

    assert not first.held()
    assert second.refresh() is True
    assert first.refresh() is False


@pytest.mark.services
def test_expired_lease_is_taken_by_the_standby_and_the_old_holder_cannot_renew(pair):
    first, second = pair
    first.ttl = second.ttl = 0.2
    first.refresh()

    wait_for(lambda: second.refresh(), timeout=5, interval=0.05, what="standby takes the lease")
    assert first.refresh() is False
    assert not first.held()


@pytest.mark.services
def test_holder_trusts_its_lease_for_less_than_the_ttl(pair):
    first, _ = pair

    first.refresh()

    assert 0 < first.remaining() < first.ttl
