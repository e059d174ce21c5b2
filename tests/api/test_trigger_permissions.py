"""The one-query trigger check answers as Django's permission system does."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taskcenter.catalog import get_job
from taskcenter.services.runs import job_can_trigger
from taskcenter.services.tokens import token_authenticate

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def fast_auth(settings):
    """The written-out token and permission statements, whichever mode the suite runs in."""
    settings.TASKCENTER_FAST_AUTH = True


ADD = get_job("jobs.demo.add")
TOTAL = get_job("jobs.demo.total")


#: (who, may trigger jobs.demo.add, may trigger jobs.demo.total)
ACTIVE_CASES = [
    ("nothing", False, False),
    ("own permission", True, False),
    ("group permission", True, False),
    ("trigger_any_job", True, True),
    ("trigger_any_job through a group", True, True),
    ("superuser", True, True),
]
INACTIVE_CASES = [
    ("inactive with permission", False, False),
    ("inactive superuser", False, False),
]


def _perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="taskcenter", codename=codename)


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def _user_with(make_user, setup: str):
    user = make_user(is_superuser="superuser" in setup, is_active=not setup.startswith("inactive"))
    if setup in ("own permission", "inactive with permission"):
        user.user_permissions.add(_perm(ADD.permission_codename))
    if setup.startswith("group") or setup.endswith("group"):
        codename = ADD.permission_codename if setup.startswith("group") else "trigger_any_job"
        group = Group.objects.create(name=f"g-{user.pk}")
        group.permissions.add(_perm(codename))
        user.groups.add(group)
    if setup == "trigger_any_job":
        user.user_permissions.add(_perm("trigger_any_job"))
    return user


@pytest.mark.parametrize(("setup", "add", "total"), ACTIVE_CASES + INACTIVE_CASES)
def test_trigger_check_matches_djangos_has_perm(make_user, setup, add, total):
    user = _user_with(make_user, setup)

    ours = (
        job_can_trigger(user=_fresh(user), job=ADD),
        job_can_trigger(user=_fresh(user), job=TOTAL),
    )
    django = tuple(
        _fresh(user).has_perm(f"taskcenter.{job.permission_codename}")
        or _fresh(user).has_perm("taskcenter.trigger_any_job")
        for job in (ADD, TOTAL)
    )

    assert ours == django == (add, total)


def test_trigger_check_is_one_query_per_user_object(make_user, fast_auth):
    user = _fresh(make_user(jobs=("jobs.demo.add",)))

    with CaptureQueriesContext(connection) as queries:
        checks = [job_can_trigger(user=user, job=job) for job in (ADD, TOTAL, ADD)]

    assert checks == [True, False, True]
    assert len(queries) == 1


def test_a_permission_granted_counts_from_the_next_lookup(make_user, token_for):
    user = make_user()
    secret = token_for(user)
    assert not job_can_trigger(user=token_authenticate(secret=secret).user, job=ADD)

    user.user_permissions.add(_perm(ADD.permission_codename))

    assert job_can_trigger(user=token_authenticate(secret=secret).user, job=ADD)


def test_token_lookup_is_one_query_and_loads_the_user(make_user, token_for):
    user = make_user()
    secret = token_for(user)
    token_authenticate(secret=secret)  # the first use writes last_used_at

    with CaptureQueriesContext(connection) as queries:
        token = token_authenticate(secret=secret)
        username = token.user.username

    assert username == user.username
    assert len(queries) == 1


@pytest.mark.parametrize(("setup", "add", "total"), ACTIVE_CASES)  # inactive: no token works
def test_token_lookup_reads_the_same_permissions_with_no_further_query(
    make_user, token_for, setup, add, total, fast_auth
):
    user = _user_with(make_user, setup)
    secret = token_for(user)
    token_authenticate(secret=secret)  # the first use writes last_used_at

    with CaptureQueriesContext(connection) as queries:
        caller = token_authenticate(secret=secret).user
        ours = (job_can_trigger(user=caller, job=ADD), job_can_trigger(user=caller, job=TOTAL))

    assert ours == (add, total)
    assert len(queries) == 1


def test_token_lookup_loads_the_user_as_a_queryset_does(make_user, token_for):
    user = make_user(is_superuser=True)
    user.last_login = user.date_joined
    user.save()

    loaded = token_authenticate(secret=token_for(user)).user
    expected = _fresh(user)

    for field in type(user)._meta.concrete_fields:
        ours, theirs = getattr(loaded, field.attname), getattr(expected, field.attname)
        assert (ours, type(ours)) == (theirs, type(theirs)), field.name


def test_a_permission_list_the_server_may_have_cut_short_is_queried_again(
    make_user, token_for, fast_auth
):
    # GROUP_CONCAT stops at group_concat_max_len (1024 bytes by default on MySQL): a long
    # list is not trusted, and the check asks the database itself.
    user = make_user(jobs=("jobs.demo.add",))
    content_type = _perm(ADD.permission_codename).content_type
    for i in range(12):
        codename = f"zz_padding_{i:02d}_" + "x" * 80
        user.user_permissions.add(
            Permission.objects.create(codename=codename, name=codename, content_type=content_type)
        )
    caller = token_authenticate(secret=token_for(user)).user

    with CaptureQueriesContext(connection) as queries:
        ours = (job_can_trigger(user=caller, job=ADD), job_can_trigger(user=caller, job=TOTAL))

    assert ours == (True, False)
    assert len(queries) == 1
