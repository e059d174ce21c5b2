"""The audit trail in the admin: read-only, searchable by schedule and user."""

from django.contrib import admin
from django.http import HttpRequest


class ScheduleChangeAdmin(admin.ModelAdmin):
    """Who changed which schedule, when, and how; nobody edits history."""

    list_display = ("created_at", "schedule_name", "action", "user", "task_id")
    list_filter = ("action", "created_at")
    search_fields = ("schedule_name", "user__username", "=task_id")
    list_select_related = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
