"""Our MySQL backend skips the per-request ping only on a connection that just worked."""

from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection, connections

from taskcenter.db_backends.mysql import base

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def other() -> Iterator:
    """A second connection to the test database, as a web thread would hold one."""
    wrapper = connections.create_connection("default")
    yield wrapper
    wrapper.close()


def _request(wrapper, sql: str = "SELECT 1") -> tuple:
    """Run `sql` as one request would: Django's checks at its start and at its end."""
    wrapper.close_if_unusable_or_obsolete()
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()
    finally:
        wrapper.close_if_unusable_or_obsolete()


def _kill(wrapper) -> None:
    """Have the server drop `wrapper`'s connection, as a server restart would."""
    with connection.cursor() as cursor:
        cursor.execute(f"KILL CONNECTION {wrapper.connection.thread_id()}")


def test_the_backend_is_in_use_with_health_checks_on(other):
    _request(other)
    assert isinstance(other, base.DatabaseWrapper)
    assert other.health_check_enabled


def test_a_connection_idle_longer_than_the_window_is_pinged_and_replaced(other):
    _request(other)
    _kill(other)
    other._known_good_at -= base.HEALTH_CHECK_BYPASS + 1  # idle for longer than the window

    assert _request(other) == (1,)


def test_within_the_window_a_dropped_connection_fails_one_request_then_is_replaced(other):
    _request(other)
    _kill(other)

    # Trusted without a ping: this request sees the broken connection (the API answers
    # 503 for a database error), and Django closes the connection when it ends ...
    with pytest.raises(OperationalError):
        _request(other)
    assert other.connection is None

    # ... so the next request opens a new one.
    assert _request(other) == (1,)
