"""Vendor-specific SQL pieces (MySQL/MariaDB and SQLite): time buckets and differences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection


def when(value: datetime) -> Any:
    """Return datetime `value` as the database stores it, for a raw statement's parameter."""
    return connection.ops.adapt_datetimefield_value(value)


def epoch_seconds(column: str) -> str:
    """Return SQL for the Unix time of datetime `column` (stored as UTC), any session zone."""
    if connection.vendor == "mysql":
        return f"TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {column})"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def bucket(column: str, step: int) -> str:
    """Return SQL numbering the `step`-second bucket that `column` falls into."""
    return f"FLOOR({epoch_seconds(column)} / {int(step)})"


def seconds_between(start: str, end: str) -> str:
    """Return SQL for the seconds (with fractions) from datetime `start` to `end`."""
    if connection.vendor == "mysql":
        return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 1000000.0)"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"
