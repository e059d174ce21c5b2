"""Our MySQL backend skips the per-request ping only on a connection that just worked."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections

from taskcenter.db_backends.mysql import base

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def other() -> Iterator:
    """A second connection of our backend to the test database, as a web thread would hold.

    Built from the configured connection's settings whichever backend the switch picks,
    so the fast path is tested in the stock mode too.
    """
    wrapper = base.DatabaseWrapper(dict(connections["default"].settings_dict), "default")
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


def test_the_switch_picks_the_backend_and_health_checks_are_on(other):
    configured = connections.create_connection("default")
    _request(other)

    assert isinstance(configured, base.DatabaseWrapper) == settings.TASKCENTER_FAST_DB_BACKEND
    assert configured.settings_dict["CONN_HEALTH_CHECKS"]
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
