"""Formatting filters of the operations page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def seconds(value: float | None) -> str:
    """Show a duration in seconds with a precision that suits its size ("—" when none)."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.1f} min"


@register.filter
def percent(value: float | None) -> str:
    """Show a ratio as a percentage ("—" when none)."""
    return "—" if value is None else f"{value * 100:.1f} %"


@register.filter
def online_count(processes: list) -> int:
    """Count the processes shown as online."""
    return sum(1 for p in processes if p.online)
