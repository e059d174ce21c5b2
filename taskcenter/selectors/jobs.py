"""Read the catalog for people: each job's parameters as a table (name, type, default, text)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from taskcenter.catalog import Job, Runtime, all_jobs


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str
    description: str


def _type_text(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " | ".join(_type_text(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        kind = f"list[{_type_text(prop.get('items', {}))}]"
    elif kind == "object":
        kind = "object"
    low, high = prop.get("minimum", prop.get("exclusiveMinimum")), prop.get("maximum")
    if low is not None or high is not None:
        bounds = f"{'' if low is None else low}…{'' if high is None else high}"
        kind = f"{kind} ({bounds})"
    if "enum" in prop:
        kind = " | ".join(json.dumps(v) for v in prop["enum"])
    return kind


def job_parameters(*, job: Job) -> list[Parameter]:
    """Return the job's parameters in signature order, from its parameter schema."""
    schema = job.parameters_schema()
    required = set(schema.get("required", ()))
    return [
        Parameter(
            name=name,
            type=_type_text(prop),
            default=_("required") if name in required else json.dumps(prop.get("default")),
            description=str(prop.get("description", "")),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def celery_jobs_parameters() -> list[dict[str, Any]]:
    """Return every Celery job with its parameters, for the schedule form."""
    return [
        {"name": job.name, "description": job.description, "parameters": job_parameters(job=job)}
        for job in all_jobs(Runtime.CELERY)
    ]
