"""Create, list or revoke API tokens from the command line."""

from django.core.management.base import BaseCommand, CommandError

from taskcenter.services.tokens import token_command


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
        try:
            for line in token_command(
                action=options["action"],
                target=options["target"],
                name=options["name"],
                days=options["days"],
            ):
                self.stdout.write(line)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
