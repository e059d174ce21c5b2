"""API tokens: create (the secret is shown once), authenticate by hash, revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from taskcenter.models import ApiToken

#: Tokens look like `tc_<43 url-safe chars>`; the marker makes leaked tokens greppable.
TOKEN_MARKER = "tc_"
#: last_used_at is written at most this often, so authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def token_hash(secret: str) -> str:
    """Return the stored form of a secret.

    A plain SHA-256 is enough: the secret is 256 random bits, not a password, so a slow
    key-derivation function would only slow every request down.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, user: AbstractBaseUser, name: str, expires_at: datetime | None = None
) -> IssuedToken:
    """Create a token for `user`; the returned secret is never stored or shown again."""
    secret = TOKEN_MARKER + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: len(TOKEN_MARKER) + 6],
        key_hash=token_hash(secret),
        expires_at=expires_at,
    )
    return IssuedToken(token=token, secret=secret)


def token_authenticate(*, secret: str) -> ApiToken | None:
    """Return the live token for `secret` (with its active user), or None."""
    if not secret.startswith(TOKEN_MARKER) or len(secret) > 100:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .order_by()
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_revoke(*, token: ApiToken) -> bool:
    """Revoke `token`; return False when it was already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def token_command(
    *, action: str, target: str | None, name: str = "cli", days: int | None = None
) -> list[str]:
    """Carry out `manage.py api_token ACTION`; return the lines to print (ValueError on misuse)."""
    from django.contrib.auth import get_user_model

    if action == "create":
        user = get_user_model().objects.filter(username=target).first()
        if user is None:
            raise ValueError(f"no user named {target!r}")
        expires = timezone.now() + timedelta(days=days) if days else None
        issued = token_create(user=user, name=name, expires_at=expires)
        return [issued.secret]
    if action == "list":
        tokens = ApiToken.objects.select_related("user")
        if target:
            tokens = tokens.filter(user__username=target)
        return [
            f"{t.prefix}\t{t.user}\t{t.name}\texpires={t.expires_at or '-'}\t"
            f"{'revoked' if t.revoked_at else 'live'}"
            for t in tokens
        ]
    target = target or ""
    matches = list(ApiToken.objects.filter(Q(prefix=target) | Q(key_hash=token_hash(target))))
    if len(matches) != 1:
        raise ValueError(f"{len(matches)} tokens match {target!r}; give a longer prefix")
    return [f"revoked {matches[0]}" if token_revoke(token=matches[0]) else "already revoked"]
