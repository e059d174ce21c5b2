"""Create, list or revoke API tokens from the command line."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from taskcenter.models import ApiToken
from taskcenter.services.tokens import token_create, token_find, token_revoke


class Command(BaseCommand):
    help = (
        "Manage API tokens. 'create USERNAME --name NAME [--days N]' prints a new token once; "
        "'list [USERNAME]' shows tokens; 'revoke PREFIX|TOKEN' revokes a token by its "
        "listed prefix or by the token itself."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("target", nargs="?", help="username (create, list) or token prefix")
        parser.add_argument("--name", default="cli", help="what the token is for")
        parser.add_argument("--days", type=int, default=None, help="expire after N days")

    def handle(self, *args, **options):
        action, target = options["action"], options["target"]
        if action == "create":
            user = get_user_model().objects.filter(username=target).first()
            if user is None:
                raise CommandError(f"no user named {target!r}")
            days = options["days"]
            expires = timezone.now() + timedelta(days=days) if days else None
            issued = token_create(user=user, name=options["name"], expires_at=expires)
            self.stdout.write(issued.secret)
        elif action == "list":
            tokens = ApiToken.objects.select_related("user")
            if target:
                tokens = tokens.filter(user__username=target)
            for t in tokens:
                state = "revoked" if t.revoked_at else "live"
                self.stdout.write(
                    f"{t.prefix}\t{t.user}\t{t.name}\texpires={t.expires_at or '-'}\t{state}"
                )
        else:
            try:
                token = token_find(target=target or "")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"revoked {token}" if token_revoke(token=token) else "already revoked"
            )
