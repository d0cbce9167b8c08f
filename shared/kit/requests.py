"""Request bodies derived from the catalogue: a payload less what the service fills in itself.

`request_model` builds a command's body from its catalogue model (SPEC §7), keeping each field's
type, constraints, description and the model's validators; `VoidRequest` is the body of every
`POST /entries/{event_id}/void`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from copy import copy
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

from pydantic import BaseModel, Field, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from shared.events.base import PayloadModel, ShortText

__all__ = ["RequestModel", "VoidRequest", "request_model"]

R = TypeVar("R", bound="RequestModel")


class RequestModel(PayloadModel):
    """The base of a command's body: frozen, unknown fields refused, as catalogue payloads are."""

    if TYPE_CHECKING:
        # The fields `request_model` takes from the catalogue are unknown to the type checker.
        def __getattr__(self, name: str) -> Any: ...


class VoidRequest(RequestModel):
    """Why a mistaken entry is voided."""

    reason: ShortText


def request_model(
    event: type[BaseModel],
    *,
    exclude: Collection[str] = (),
    optional: Collection[str] = (),
    validators: bool = True,
) -> Callable[[type[R]], type[R]]:
    """A class decorator: the body declared (a direct subclass of `RequestModel`), with the fields
    of the catalogue model `event` first.

    `exclude` names the fields the service fills in; `optional` the ones it fills in when the
    caller leaves them out (they default to None). The class's own fields come after (or replace
    the catalogue field of the same name); its docstring and validators are kept, and so are
    `event`'s validators and model-level JSON Schema unless `validators` is false (for a body
    whose optional fields those validators would read before the service fills them in).
    """
    unknown = (set(exclude) | set(optional)) - set(event.model_fields)
    if unknown:
        raise ValueError(f"{event.__name__} has no field {', '.join(sorted(unknown))}")

    def derive(declared: type[R]) -> type[R]:
        fields: dict[str, Any] = {}
        for name, info in event.model_fields.items():
            if name not in exclude:
                fields[name] = _optional(info) if name in optional else (info.annotation, info)
        fields.update({name: (f.annotation, f) for name, f in declared.model_fields.items()})
        fields = {name: (kind, copy(info)) for name, (kind, info) in fields.items()}
        config: dict[str, Any] = {}
        found = _validators(declared, set(fields))
        if validators:
            found = {**_validators(event, set(fields)), **found}
            extra = event.model_config.get("json_schema_extra")
            if extra is not None:
                config["json_schema_extra"] = extra
        derived = create_model(
            declared.__name__,
            __base__=RequestModel,
            __module__=declared.__module__,
            __qualname__=declared.__qualname__,
            __doc__=declared.__doc__,
            __validators__=found,
            __cls_kwargs__=config,
            **fields,
        )
        return cast("type[R]", derived)

    return derive


def _optional(info: FieldInfo) -> tuple[Any, Any]:
    """A catalogue field the caller may leave out: its type and constraints, or None."""
    if not info.is_required():
        return info.annotation, info
    inner: Any = info.annotation
    if info.metadata or info.json_schema_extra is not None:
        schema = Field(json_schema_extra=info.json_schema_extra)
        inner = Annotated[(info.annotation, *info.metadata, schema)]
    return inner | None, Field(
        default=None,
        alias=info.alias,
        title=info.title,
        description=info.description,
        examples=info.examples,
    )


def _validators(model: type[BaseModel], fields: set[str]) -> dict[str, Any]:
    """`model`'s own model and field validators, for the fields kept, ready to declare again."""
    found: dict[str, Any] = {}
    decorators = model.__pydantic_decorators__
    for name, dec in decorators.model_validators.items():
        found[name] = model_validator(mode=dec.info.mode)(dec.func)
    for name, fdec in decorators.field_validators.items():
        kept = [f for f in fdec.info.fields if f in fields]
        if kept:
            found[name] = field_validator(*kept, mode=fdec.info.mode)(fdec.func)
    return found
