"""Admin template tags: the beat and local scheduler panels on the admin index."""

from typing import Any

from django import template

from taskcenter.beat.status import beat_leader_status, missed_runs_recent
from taskcenter.selectors.local_jobs import local_scheduler_status

register = template.Library()


@register.inclusion_tag("admin/taskcenter/beat_panel.html")
def beat_panel(hours: int = 24) -> dict[str, Any]:
    """Show which beat leads, when it last ticked, and the slots missed or skipped lately."""
    return {
        "status": beat_leader_status(),
        "missed": list(missed_runs_recent(hours=hours, limit=20)),
        "hours": hours,
    }


@register.inclusion_tag("admin/taskcenter/local_panel.html")
def local_scheduler_panel() -> dict[str, Any]:
    """Show which run_apscheduler leads (its heartbeat) and the standbys."""
    return {"status": local_scheduler_status()}
