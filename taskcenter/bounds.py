"""The integers a job argument may hold: a signed 64-bit range.

Why: Python's integers are unbounded, but a run's arguments travel through Celery's JSON,
MySQL's JSON and BIGINT columns and C code in the worker (time, struct, database
drivers); an integer past 64 bits is accepted by the API and then fails the run with
OverflowError. Refusing it up front keeps the failure the caller's, as a 422.
"""

from __future__ import annotations

from typing import Any

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


def int_out_of_range(value: Any, *, where: str) -> str | None:
    """Return the path (`where`, `where.0`, `where.key`) of the first integer out of range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT_MIN <= value <= INT_MAX else where
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = int_out_of_range(item, where=f"{where}.{key}")
        if found is not None:
            return found
    return None
