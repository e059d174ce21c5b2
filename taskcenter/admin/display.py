"""Shared pieces of the record admins: timestamps to the second, and a note per list page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

#: Runs seconds apart must read apart: the stock format shows minutes only ("7:10 a.m.").
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def timestamp(value: datetime | None) -> str:
    """Format `value` in the current time zone, to the second; "—" when unset."""
    if value is None:
        return "—"
    return timezone.localtime(value).strftime(TIMESTAMP_FORMAT)


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s"


class NotedListMixin:
    """A changelist with a sentence saying what it holds, linking to the related list."""

    change_list_template = "admin/taskcenter/change_list_note.html"
    #: (text with one `{}` for the link, link text, admin URL name of the related list)
    list_note: tuple[Any, Any, str] | None = None

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = extra_context or {}
        if self.list_note is not None:
            text, link_text, url_name = self.list_note
            link = format_html('<a href="{}">{}</a>', reverse(url_name), link_text)
            extra_context["list_note"] = format_html(str(text), link)
        return super().changelist_view(request, extra_context)  # type: ignore[misc]
