"""Read which job trigger permissions a user holds, in one query (or none extra)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

#: Every job's permission is `taskcenter.trigger_<job>`, plus `taskcenter.trigger_any_job`.
TRIGGER_PREFIX = "trigger_"
APP_LABEL = "taskcenter"
#: Held for the life of the user object, as Django's ModelBackend keeps its `_perm_cache`:
#: a user is loaded per request, so a change of permissions counts from the next request.
_CACHE_ATTR = "_taskcenter_trigger_perms"
#: A codename list read with GROUP_CONCAT at least this long may have been cut short by
#: the server (MySQL's default group_concat_max_len is 1024 bytes): it is not trusted.
_LISTED_MAX = 1000


def _held_parts(user_ref: str) -> tuple[str, str]:
    """Return `FROM ... WHERE ...` for the user's own, and their groups', permissions `p`.

    `user_ref` is `%s` for a parameter or a column (`u.id`) for a correlated subquery; the
    app label is each part's other parameter. Each part starts from the user's rows, so
    both are index lookups. Written out rather than built with the ORM: this runs on every
    trigger, and building the equivalent queryset costs several times the statement itself.
    Table and column names come from the models, as the ORM's do.
    """
    user_perms = get_user_model()._meta.get_field("user_permissions")
    user_groups = get_user_model()._meta.get_field("groups")
    group_perms = Group._meta.get_field("permissions")
    q = connection.ops.quote_name
    perm = (
        f" JOIN {q(Permission._meta.db_table)} p ON p.{q('id')} = {{}}"
        f" JOIN {q(ContentType._meta.db_table)} ct"
        f" ON ct.{q('id')} = p.{q(Permission._meta.get_field('content_type').column)}"
    )
    app = f" AND ct.{q('app_label')} = %s"
    own = (
        f"FROM {q(user_perms.remote_field.through._meta.db_table)} up"
        + perm.format(f"up.{q(user_perms.m2m_reverse_name())}")
        + f" WHERE up.{q(user_perms.m2m_column_name())} = {user_ref}"
        + app
    )
    via_groups = (
        f"FROM {q(user_groups.remote_field.through._meta.db_table)} ug"
        f" JOIN {q(group_perms.remote_field.through._meta.db_table)} gp"
        f" ON gp.{q(group_perms.m2m_column_name())} = ug.{q(user_groups.m2m_reverse_name())}"
        + perm.format(f"gp.{q(group_perms.m2m_reverse_name())}")
        + f" WHERE ug.{q(user_groups.m2m_column_name())} = {user_ref}"
        + app
    )
    return own, via_groups


@cache
def _held_sql() -> str:
    """Return the statement: the user's own and their groups' permissions in our app."""
    codename = f"p.{connection.ops.quote_name('codename')}"
    own, via_groups = _held_parts("%s")
    return f"SELECT {codename} {own} UNION SELECT {codename} {via_groups}"


@cache
def held_columns_sql(user_ref: str) -> tuple[str, list[str]]:
    """Return two select-list columns, and their parameters, for a statement reading a user.

    `api_own_perms` and `api_group_perms` list the codenames of user `user_ref`'s own and
    their groups' permissions in our app, comma-separated (`remember_held` reads them).
    """
    codename = f"p.{connection.ops.quote_name('codename')}"
    own, via_groups = _held_parts(user_ref)
    sql = (
        f"(SELECT GROUP_CONCAT({codename}) {own}) AS api_own_perms,"
        f" (SELECT GROUP_CONCAT({codename}) {via_groups}) AS api_group_perms"
    )
    return sql, [APP_LABEL, APP_LABEL]


def remember_held(*, user: AbstractBaseUser, own: str | None, via_groups: str | None) -> None:
    """Keep the permissions a statement built with `held_columns_sql` read for `user`.

    The request then needs no second query to check a trigger permission. A list that may
    have been cut short is not kept; `trigger_permissions_held` then queries.
    """
    listed = [text for text in (own, via_groups) if text]
    if any(len(text) >= _LISTED_MAX for text in listed):
        return
    setattr(user, _CACHE_ATTR, _trigger_only(c for text in listed for c in text.split(",")))


def _trigger_only(codenames: Iterable[str]) -> frozenset[str]:
    return frozenset(c for c in codenames if c.startswith(TRIGGER_PREFIX))


def trigger_permissions_held(*, user: AbstractBaseUser) -> frozenset[str]:
    """Return the codenames of the `taskcenter.trigger_*` permissions `user` holds.

    The same answer as Django's ModelBackend gives (the user's own permissions and their
    groups'; none for an inactive or anonymous user; superusers are the caller's to
    check), in one query instead of two loading every permission the user holds, and
    none when the token lookup already read them (`remember_held`).
    """
    held = getattr(user, _CACHE_ATTR, None)
    if held is not None:
        return held
    if not (user.is_active and user.is_authenticated):
        return frozenset()
    with connection.cursor() as cursor:
        cursor.execute(_held_sql(), [user.pk, APP_LABEL, user.pk, APP_LABEL])
        held = _trigger_only(codename for (codename,) in cursor.fetchall())
    setattr(user, _CACHE_ATTR, held)
    return held
