"""`/api/dead-letters`: runs that failed for the last time; requeue or discard them."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from taskcenter.api.errors import Error, FieldErrors
from taskcenter.api.ratelimit import trigger_limit_check
from taskcenter.api.runs import run_status_url
from taskcenter.api.schemas import (
    DeadLetterOut,
    DiscardedOut,
    IdsIn,
    Pagination,
    Pk,
    RequeuedOut,
)
from taskcenter.models import DeadLetter
from taskcenter.services.dead_letters import dead_letters_discard, dead_letters_requeue

router = Router(tags=["dead letters"])


def _can_view(request: HttpRequest) -> None:
    if not request.auth.has_perm("taskcenter.view_deadletter"):
        raise PermissionDenied


@router.get("", response={200: list[DeadLetterOut], 401: Error, 403: Error})
@paginate(Pagination)
def list_dead_letters(request: HttpRequest, status: DeadLetter.Status | None = None):
    """Dead letters, newest failure first; `status` filters (open, requeued, discarded)."""
    _can_view(request)
    letters = DeadLetter.objects.all()
    return letters.filter(status=status) if status else letters


def _requeued(pairs) -> list[RequeuedOut]:
    return [
        RequeuedOut(
            dead_letter_id=letter.pk,
            run_id=run.id,
            status_url=run_status_url(run.id),
        )
        for letter, run in pairs
    ]


_MUTATE = {401: Error, 403: Error, 404: Error, 413: Error, 422: FieldErrors, 429: Error, 503: Error}


@router.post("/requeue", response={200: list[RequeuedOut], 400: Error, **_MUTATE})
def requeue_dead_letters(request: HttpRequest, payload: IdsIn) -> list[RequeuedOut]:
    """Trigger the selected open letters' jobs again with their arguments."""
    trigger_limit_check(user_id=request.auth.pk)
    letters = DeadLetter.objects.filter(pk__in=payload.ids)
    return _requeued(dead_letters_requeue(user=request.auth, letters=letters))


@router.post("/discard", response={200: DiscardedOut, 400: Error, **_MUTATE})
def discard_dead_letters(request: HttpRequest, payload: IdsIn) -> DiscardedOut:
    """Mark the selected open letters discarded."""
    letters = DeadLetter.objects.filter(pk__in=payload.ids)
    return DiscardedOut(discarded=dead_letters_discard(user=request.auth, letters=letters))


@router.get("/{letter_id}", response={200: DeadLetterOut, 401: Error, 403: Error, 404: Error})
def get_dead_letter(request: HttpRequest, letter_id: Pk) -> DeadLetter:
    """One dead letter."""
    _can_view(request)
    return DeadLetter.objects.get(pk=letter_id)


@router.post("/{letter_id}/requeue", response={200: list[RequeuedOut], **_MUTATE})
def requeue_dead_letter(request: HttpRequest, letter_id: Pk) -> list[RequeuedOut]:
    """Trigger one letter's job again (nothing happens to a letter already handled)."""
    letter = DeadLetter.objects.get(pk=letter_id)
    trigger_limit_check(user_id=request.auth.pk)
    return _requeued(dead_letters_requeue(user=request.auth, letters=[letter]))


@router.post("/{letter_id}/discard", response={200: DiscardedOut, **_MUTATE})
def discard_dead_letter(request: HttpRequest, letter_id: Pk) -> DiscardedOut:
    """Mark one letter discarded."""
    letter = DeadLetter.objects.get(pk=letter_id)
    return DiscardedOut(discarded=dead_letters_discard(user=request.auth, letters=[letter]))
