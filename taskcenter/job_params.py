"""Job parameters: a model of a function's signature, and JSON arguments checked against it.

Why here: the admin, the API and the schedulers all refuse bad arguments before anything
is enqueued, with one message per field, so a run never fails in the worker on a wrong
type, a missing argument or an integer no job can take.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any, get_type_hints

import pydantic
from django.utils.translation import gettext as _

from taskcenter.bounds import INT_MAX, INT_MIN, int_out_of_range

#: The bounds as the message about them quotes them.
RANGE = {"min": INT_MIN, "max": INT_MAX}


class JobArgumentsError(ValueError):
    """Arguments do not match the job's parameters; `errors` maps each field to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def params_model_for(func: Callable[..., Any], name: str) -> type[pydantic.BaseModel]:
    """Build a pydantic model of the function's parameters from its type hints."""
    hints = get_type_hints(func, include_extras=True)  # keeps Annotated constraints
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"job {name}: *args/**kwargs are not allowed, name each parameter")
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, default)
    config = pydantic.ConfigDict(extra="forbid")
    return pydantic.create_model(f"{name}.params", __config__=config, **fields)


def params_bind(
    model: type[pydantic.BaseModel], args: Any = (), kwargs: Any = None
) -> dict[str, Any]:
    """Check JSON `args`/`kwargs` against `model`; return them as keyword arguments.

    Raises JobArgumentsError with one message per field: an unknown name, a missing
    required argument or a value of the wrong JSON type. Values are checked in strict
    JSON mode, so "5" is not accepted for an `int` (it would fail at run time).
    """
    kwargs = {} if kwargs is None else kwargs
    if not isinstance(args, list | tuple):
        raise JobArgumentsError({"args": _("must be a JSON list")})
    if not isinstance(kwargs, dict):
        raise JobArgumentsError({"kwargs": _("must be a JSON object")})
    names = list(model.model_fields)
    if len(args) > len(names):
        raise JobArgumentsError(
            {
                "args": _("takes at most %(most)d positional arguments, got %(got)d")
                % {"most": len(names), "got": len(args)}
            }
        )
    bound = dict(zip(names, args, strict=False))
    errors = {k: _("given both positionally and by name") for k in kwargs if k in bound}
    if errors:
        raise JobArgumentsError(errors)
    bound.update(kwargs)
    for key, value in bound.items():
        where = int_out_of_range(value, where=key)
        if where is not None:
            raise JobArgumentsError({where: _("integer out of range (%(min)s to %(max)s)") % RANGE})
    try:
        model.model_validate_json(json.dumps(bound), strict=True)
    except (TypeError, ValueError) as exc:
        if not isinstance(exc, pydantic.ValidationError):
            raise JobArgumentsError({"kwargs": _("values must be JSON")}) from None
        raise JobArgumentsError(_field_errors(exc)) from None
    return bound


def _field_errors(exc: pydantic.ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "kwargs"
        message = _("unexpected argument") if err["type"] == "extra_forbidden" else err["msg"]
        errors.setdefault(loc, message)
    return errors
