"""API tokens: create (the secret is shown once), authenticate by hash, revoke."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from taskcenter.models import ApiToken
from taskcenter.selectors.permissions import held_columns_sql, remember_held

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


@cache
def _authenticate_sql() -> tuple[str, list[str]]:
    """Return the statement: the active user behind a live token, and whether to touch it.

    It also reads the user's trigger permissions (`held_columns_sql`), so a trigger
    needs no second query. Returns the statement and the parameters of those columns.

    Written out rather than built with the ORM: it runs on every API request, and building
    the equivalent queryset (a join, select_related, three filters) costs several times
    the statement itself. It is still one indexed lookup (`key_hash` is unique) joined to
    the user; names come from the models. `TASKCENTER_FAST_AUTH=false` uses the ORM.
    """
    user_model = get_user_model()
    q = connection.ops.quote_name
    t = {f.name: q(f.column) for f in ApiToken._meta.concrete_fields}
    held, held_params = held_columns_sql(f"u.{q(user_model._meta.pk.column)}")
    user_columns = ", ".join(f"u.{q(f.column)}" for f in user_model._meta.concrete_fields)
    sql = (
        f"SELECT {user_columns}, t.{t['id']},"
        f" (t.{t['last_used_at']} IS NULL OR t.{t['last_used_at']} < %s), {held}"
        f" FROM {q(ApiToken._meta.db_table)} t"
        f" JOIN {q(user_model._meta.db_table)} u"
        f" ON u.{q(user_model._meta.pk.column)} = t.{t['user']}"
        f" WHERE t.{t['key_hash']} = %s AND t.{t['revoked_at']} IS NULL"
        f" AND (t.{t['expires_at']} IS NULL OR t.{t['expires_at']} > %s)"
        f" AND u.{q(user_model._meta.get_field('is_active').column)} = %s"
    )
    return sql, held_params


@cache
def _user_loader() -> Callable[[Sequence[Any]], AbstractBaseUser]:
    """Return a function making a user object from the statement's user columns.

    It applies the same database converters the ORM applies (MySQL's 0/1 to booleans,
    naive datetimes to aware ones), so the object is the one a queryset would load.
    """
    user_model = get_user_model()
    fields = user_model._meta.concrete_fields
    names = [f.attname for f in fields]
    converters = []
    for field in fields:
        col = field.get_col(user_model._meta.db_table)
        found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        converters.append((col, found))

    def load(values: Sequence[Any]) -> AbstractBaseUser:
        converted = []
        for value, (col, found) in zip(values, converters, strict=True):
            for convert in found:
                value = convert(value, col, connection)
            converted.append(value)
        return user_model.from_db(connection.alias, names, converted)

    return load


def token_authenticate(*, secret: str) -> ApiToken | None:
    """Return the live token for `secret` (with its active user), or None.

    Revoked, expired and deactivated are refused on the very next request: nothing is
    cached between requests. The token comes back with only `id` and `user` loaded (the
    other fields load on access), and its `last_used_at` is written at most once per
    LAST_USED_RESOLUTION.
    """
    if not secret.startswith(TOKEN_MARKER) or len(secret) > 100:
        return None
    if not settings.TASKCENTER_FAST_AUTH:
        return _authenticate_orm(secret)
    now = timezone.now()
    to_db = connection.ops.adapt_datetimefield_value
    sql, held_params = _authenticate_sql()
    params = [to_db(now - LAST_USED_RESOLUTION), *held_params, token_hash(secret), to_db(now), True]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    *user_values, token_id, idle, own_perms, group_perms = row
    user = _user_loader()(user_values)
    remember_held(user=user, own=own_perms, via_groups=group_perms)
    token = ApiToken.from_db(connection.alias, ["id", "user_id"], [token_id, user.pk])
    token.user = user
    if idle:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _authenticate_orm(secret: str) -> ApiToken | None:
    """`token_authenticate` through the ORM: the stock path (TASKCENTER_FAST_AUTH=false)."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is not None and (
        token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_revoke(*, token: ApiToken) -> bool:
    """Revoke `token`; return False when it was already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def token_find(*, target: str) -> ApiToken:
    """Return the one token whose listed prefix or secret is `target` (ValueError otherwise)."""
    matches = list(ApiToken.objects.filter(Q(prefix=target) | Q(key_hash=token_hash(target))))
    if len(matches) != 1:
        raise ValueError(f"{len(matches)} tokens match {target!r}; give a longer prefix")
    return matches[0]
