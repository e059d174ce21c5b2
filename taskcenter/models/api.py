"""API models: hashed bearer tokens, the runs this system issued, workflows, dead letters."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A bearer token acting as its user; only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(max_length=100, help_text=_("What the token is for (e.g. 'ci')."))
    prefix = models.CharField(
        max_length=12, db_index=True, help_text=_("First characters of the token, to recognise it.")
    )
    key_hash = models.CharField(
        max_length=64, unique=True, editable=False, help_text=_("SHA-256 of the secret, hex.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("After this time the token is refused; empty: never.")
    )
    revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Set when the token is revoked; it is refused from then."),
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Workflow(models.Model):
    """A chain, group or chord submitted as one; its steps are Runs."""

    class Kind(models.TextChoices):
        CHAIN = "chain", _("Chain")
        GROUP = "group", _("Group")
        CHORD = "chord", _("Chord")

    id = models.CharField(
        primary_key=True, max_length=36, help_text=_("Celery id of the workflow.")
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "workflow"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class Run(models.Model):
    """One job run this system issued: the id an API caller may ask about.

    Celery answers PENDING for any id it has never seen; this row is what lets the API
    answer 404 instead, and it carries what the result backend does not (who, attempts,
    idempotency key, revoke requests).
    """

    class Runtime(models.TextChoices):
        CELERY = "celery", _("Celery")
        AIO = "aio", _("AnyIO (in the web process)")

    id = models.CharField(primary_key=True, max_length=36, help_text=_("Celery task id."))
    job = models.CharField(max_length=200, db_index=True, help_text=_("Catalog job name."))
    runtime = models.CharField(
        max_length=8,
        choices=Runtime.choices,
        default=Runtime.CELERY,
        # In the schema too, so code from before this column (a rolling deploy) can insert.
        db_default=Runtime.CELERY,
        help_text=_("Where it runs: a Celery worker, or the AnyIO manager of a web process."),
    )
    kwargs = models.JSONField(default=dict, help_text=_("Validated keyword arguments."))
    options = models.JSONField(
        default=dict, help_text=_("queue, countdown, eta, priority, expires.")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    step = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Position in the workflow.")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text=_("Times a worker started it."))
    first_failed_at = models.DateTimeField(null=True, blank=True)
    revoke_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "run"
        ordering = ["-created_at"]
        permissions = [("trigger_any_job", "Can trigger any catalog job")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="run_unique_idempotency_key_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.id}"


class DeadLetter(models.Model):
    """A run that failed for the last time, kept to be requeued or discarded."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REQUEUED = "requeued", _("Requeued")
        DISCARDED = "discarded", _("Discarded")

    task_id = models.CharField(max_length=36, unique=True, help_text=_("Id of the failed run."))
    job = models.CharField(max_length=200, db_index=True)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    exception_type = models.CharField(max_length=200)
    message = models.TextField(blank=True, help_text=_("Scrubbed: no secrets, URLs' passwords."))
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    requeued_run_id = models.CharField(max_length=36, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "dead letter"
        ordering = ["-last_failed_at"]

    def __str__(self) -> str:
        return f"{self.job} {self.task_id}"
