"""Trigger overrides are validated like schedules, and cron weekdays count from Sunday."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from taskcenter.catalog import LocalTrigger
from taskcenter.local.triggers import override_clean, trigger_build


def test_cron_weekday_numbers_follow_cron_not_apscheduler():
    trigger = trigger_build(
        code=LocalTrigger(kind="interval", args={"seconds": 1}),
        override={"cron": "0 9 * * 1"},
        timezone="UTC",
        default_jitter=0,
    )

    fire = trigger.get_next_fire_time(None, datetime(2026, 12, 3, tzinfo=UTC))  # a Thursday

    assert fire == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday


@pytest.mark.parametrize(
    "value",
    [{"cron": "* * * * 8"}, {"interval": {"every": 1, "period": "weeks"}}, {"both": 1}, "x"],
)
def test_override_clean_rejects_bad_values(value):
    with pytest.raises(ValidationError):
        override_clean(value)
