"""Create the first admin user when none exists (used by `make run`)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from taskcenter.services.users import admin_ensure


class Command(BaseCommand):
    help = (
        "Create a superuser if there is none. Credentials come from "
        "DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD; without a password one is "
        "generated, printed once and kept in var/admin-password."
    )

    def handle(self, *args, **options):
        created = admin_ensure(password_file=settings.VAR_DIR / "admin-password")
        if created is None:
            self.stdout.write("admin user: already present")
        elif created.generated_password:
            self.stdout.write(
                f"admin user created: {created.username} / {created.generated_password} "
                f"(kept in {settings.VAR_DIR / 'admin-password'})"
            )
        else:
            self.stdout.write(f"admin user created: {created.username}")
