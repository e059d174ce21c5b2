"""Vendor-specific SQL pieces: time buckets and percentiles, computed by the database.

MariaDB computes exact percentiles with `PERCENTILE_CONT ... OVER (PARTITION BY ...)` in
one statement; on another database each percentile of each group is one `ORDER BY ...
LIMIT 1 OFFSET k` query, so the query count grows with the groups, never with the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def has_percentile_cont() -> bool:
    return connection.vendor == "mysql" and bool(getattr(connection, "mysql_is_mariadb", False))


def percentiles(
    *,
    source: str,
    params: Sequence[Any],
    group: str,
    values: dict[str, tuple[str, float]],
) -> dict[Any, dict[str, float | None]]:
    """Return {group value: {name: percentile}} over the rows of subquery `source`.

    `source` selects a column named by `group` and one per entry of `values`, which maps
    a result name to (column, fraction), e.g. {"p95": ("duration", 0.95)}.
    """
    if has_percentile_cont():
        return _percentile_cont(source, params, group, values)
    return _percentile_offsets(source, params, group, values)


def _percentile_cont(source, params, group, values):
    picks = ", ".join(
        f"PERCENTILE_CONT({fraction}) WITHIN GROUP (ORDER BY {column}) "
        f"OVER (PARTITION BY {group}) AS {name}"
        for name, (column, fraction) in values.items()
    )
    sql = f"SELECT DISTINCT {group}, {picks} FROM ({source}) AS src"
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    names = list(values)
    return {
        row[0]: {
            n: (float(v) if v is not None else None) for n, v in zip(names, row[1:], strict=True)
        }
        for row in rows
    }


def _percentile_offsets(source, params, group, values):
    out: dict[Any, dict[str, float | None]] = {}
    with connection.cursor() as cursor:
        for name, (column, fraction) in values.items():
            cursor.execute(
                f"SELECT {group}, COUNT(*) FROM ({source}) AS src "
                f"WHERE {column} IS NOT NULL GROUP BY {group}",
                list(params),
            )
            for key, n in cursor.fetchall():
                # Nearest rank: the ceil(p * n)-th smallest value.
                offset = max(0, math.ceil(fraction * n) - 1)
                cursor.execute(
                    f"SELECT {column} FROM ({source}) AS src WHERE {group} = %s "
                    f"AND {column} IS NOT NULL ORDER BY {column} LIMIT 1 OFFSET {offset}",
                    [*params, key],
                )
                found = cursor.fetchone()
                out.setdefault(key, {})[name] = float(found[0]) if found else None
    return out
