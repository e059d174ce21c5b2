"""Read runs: which of a process's AnyIO runs someone asked to revoke."""

from __future__ import annotations

from taskcenter.models import Run


def runs_revoke_requested(*, ids: list[str]) -> list[str]:
    """Return those of `ids` whose revoke was requested (by any web process)."""
    return list(
        Run.objects.filter(id__in=ids, revoke_requested_at__isnull=False).values_list(
            "id", flat=True
        )
    )
