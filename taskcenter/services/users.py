"""Users: the first admin account."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction


@dataclass(frozen=True)
class CreatedAdmin:
    username: str
    generated_password: str | None


@transaction.atomic
def admin_ensure(*, password_file: Path) -> CreatedAdmin | None:
    """Create a superuser unless one exists; return what was created, or None.

    The password comes from DJANGO_SUPERUSER_PASSWORD; otherwise one is generated and
    written to `password_file` (mode 0600) so it can be read again later.
    """
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return None
    username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
    password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.touch(mode=0o600)
        password_file.write_text(f"{username}\n{password}\n")
    User.objects.create_superuser(username=username, email="", password=password)
    return CreatedAdmin(username=username, generated_password=generated)
