"""Reports on the task center's own work, written as files under `REPORTS_DIR`."""

import csv
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from django_celery_results.models import TaskResult


def task_statistics(*, since_hours: int) -> list[dict[str, Any]]:
    """Count results per job and state over the last `since_hours` hours (in the database)."""
    since = timezone.now() - timedelta(hours=since_hours)
    rows = (
        TaskResult.objects.filter(date_done__gte=since)
        .values("task_name", "status")
        .annotate(count=Count("id"))
        .order_by("task_name", "status")
    )
    return [
        {"task_name": r["task_name"] or "", "status": r["status"], "count": r["count"]}
        for r in rows
    ]


def report_build(*, since_hours: int = 24, fmt: str = "json") -> dict[str, Any]:
    """Write a task-statistics report (JSON or CSV) and return its path and totals."""
    if fmt not in ("json", "csv"):
        raise ValueError("fmt must be 'json' or 'csv'")
    rows = task_statistics(since_hours=since_hours)
    directory = Path(settings.REPORTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"task-statistics-{stamp}.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps({"since_hours": since_hours, "rows": rows}, indent=2))
    else:
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["task_name", "status", "count"])
            writer.writeheader()
            writer.writerows(rows)
    return {"path": str(path), "rows": len(rows), "tasks": sum(r["count"] for r in rows)}
