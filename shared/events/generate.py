"""Renders the catalogue's checked-in artifacts: one JSON Schema per event type and the AsyncAPI
3.0 document of the bus. `python -m shared.events.generate [ROOT]` (or `make schemas`) writes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from shared.events.base import CatalogueEvent
from shared.events.envelope import CLOUDEVENTS_JSON, Envelope
from shared.events.registry import (
    DEADLETTER_PREFIX,
    DUPLICATE_WINDOW_SECONDS,
    EVENT_TYPES,
    STREAM,
    SUBJECTS,
    json_schema,
)

__all__ = ["ASYNCAPI_PATH", "SCHEMAS_DIR", "render_asyncapi", "render_schemas", "write_all"]

SCHEMAS_DIR = Path("shared/events/schemas")
"""Where the JSON Schemas live, relative to the repository root."""

ASYNCAPI_PATH = Path("deploy/asyncapi.yaml")
"""Where the AsyncAPI document lives, relative to the repository root."""

_COMPONENT_REF = "#/components/schemas/{model}"
_HEADER = (
    "# The Caseline event bus, generated from shared/events by `make schemas`\n"
    "# (python -m shared.events.generate). Do not edit: change the models and regenerate.\n"
)
_DESCRIPTION = """\
Every Caseline service publishes what it records as CloudEvents 1.0 in structured JSON mode on
NATS JetStream, after committing it to its own event store. Subjects are
`caseline.<service>.<EventName>.<case_id>`, read by the services and the ledger, which consumes
every event type. Partner agencies do not read these subjects: each receives what it may see,
redacted, from its own durable consumer `agency-<id>` of the stream `CASELINE_DELIVERIES`, on
`deliver.<id>.caseline.<service>.<EventName>.<case_id>` (docs/agencies.md). Payloads are validated by the
models of `shared/events`; their JSON Schemas are served at `GET /schemas/<service>.<EventName>.vN`.
"""


def render_schemas() -> dict[str, str]:
    """The JSON Schema file of every event type: file name → text."""
    return {f"{cls.schema_name()}.json": _json_text(json_schema(cls)) for cls in EVENT_TYPES}


def render_asyncapi() -> str:
    """The AsyncAPI 3.0 document of the bus, as YAML."""
    body = yaml.safe_dump(_asyncapi(), sort_keys=False, allow_unicode=True, width=100)
    return _HEADER + body


def write_all(root: Path) -> list[Path]:
    """Write every artifact under the repository `root`, removing schemas of no model."""
    schemas_dir = root / SCHEMAS_DIR
    schemas_dir.mkdir(parents=True, exist_ok=True)
    rendered = render_schemas()
    for stale in schemas_dir.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = []
    for name, text in rendered.items():
        path = schemas_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    asyncapi = root / ASYNCAPI_PATH
    asyncapi.parent.mkdir(parents=True, exist_ok=True)
    asyncapi.write_text(render_asyncapi(), encoding="utf-8")
    written.append(asyncapi)
    return written


def _json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "CloudEvent": Envelope.model_json_schema(ref_template=_COMPONENT_REF)
        | {"title": "CloudEvent"},
        "NatsHeaders": _nats_headers(),
    }
    for cls in EVENT_TYPES:
        channel_id = f"{cls.service}.{cls.event_name}"
        channels[channel_id] = _channel(cls)
        operations[f"{channel_id}.publish"] = _operation(cls, channel_id)
        messages[cls.schema_name()] = _message(cls)
        _add_schema(schemas, cls)
    channels["deadletter"] = _deadletter_channel()
    messages["deadletter"] = {
        "name": "DeadLetter",
        "summary": "A message a consumer gave up on after its last delivery, with the reason.",
        "contentType": CLOUDEVENTS_JSON,
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Caseline event bus",
            "version": "1.0.0",
            "description": " ".join(_DESCRIPTION.split()),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CLOUDEVENTS_JSON,
        "servers": {
            "local": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "The embedded NATS of `make run`; deployments name their own.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {
                "correlationid": {
                    "description": "Shared by the events of one request or reaction chain.",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
        "x-nats-jetstream": _jetstream(),
    }


def _channel(cls: type[CatalogueEvent]) -> dict[str, Any]:
    parameter = cls.subject_name
    return {
        "address": f"caseline.{cls.service}.{cls.event_name}.{{{parameter}}}",
        "title": cls.event_name,
        "description": _doc(cls),
        "parameters": {parameter: {"description": f"The envelope `subject`: the {parameter}."}},
        "messages": {
            cls.schema_name(): {"$ref": f"#/components/messages/{cls.schema_name()}"},
        },
        "x-nats-stream": STREAM,
    }


def _operation(cls: type[CatalogueEvent], channel_id: str) -> dict[str, Any]:
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "summary": f"{cls.service} publishes {cls.event_name} from its event store, in order.",
        "messages": [{"$ref": f"#/channels/{channel_id}/messages/{cls.schema_name()}"}],
        "x-caseline-producer": cls.service,
    }


def _message(cls: type[CatalogueEvent]) -> dict[str, Any]:
    data_ref = {"$ref": _COMPONENT_REF.format(model=cls.schema_name())}
    return {
        "name": cls.event_name,
        "title": cls.type_name(),
        "summary": _doc(cls),
        "contentType": CLOUDEVENTS_JSON,
        "headers": {"$ref": _COMPONENT_REF.format(model="NatsHeaders")},
        "correlationId": {"$ref": "#/components/correlationIds/correlationid"},
        "payload": {
            "allOf": [
                {"$ref": _COMPONENT_REF.format(model="CloudEvent")},
                {
                    "type": "object",
                    "properties": {
                        "source": {"const": f"/caseline/{cls.service}"},
                        "type": {"const": cls.type_name()},
                        "dataschema": {"const": cls.dataschema()},
                        "data": data_ref,
                    },
                },
            ]
        },
        "x-caseline-time-field": cls.time_field,
    }


def _add_schema(schemas: dict[str, Any], cls: type[CatalogueEvent]) -> None:
    # Nested models are hoisted into components; `$id` would re-base the `$ref`s, so it goes.
    schema = json_schema(cls, ref_template=_COMPONENT_REF)
    for key in ("$id", "$schema"):
        schema.pop(key)
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise RuntimeError(f"two catalogue models are both named {name!r}")
    schemas[cls.schema_name()] = schema


def _nats_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "format": "uuid",
                "description": "The envelope `id`; JetStream drops a duplicate within the window.",
            }
        },
        "required": ["Nats-Msg-Id"],
    }


def _deadletter_channel() -> dict[str, Any]:
    return {
        "address": f"{DEADLETTER_PREFIX}{{consumer}}",
        "title": "Dead letters",
        "description": (
            "Where a durable consumer puts a message it could not handle within `max_deliver`,"
            " with the reason, before terminating it. These subjects fall inside the stream's"
            f" `{SUBJECTS}`: a consumer of every event filters by service"
            " (`caseline.<service>.>`), not by `caseline.>`."
        ),
        "parameters": {"consumer": {"description": "The durable consumer's name."}},
        "messages": {"deadletter": {"$ref": "#/components/messages/deadletter"}},
        "x-nats-stream": STREAM,
    }


def _jetstream() -> dict[str, Any]:
    # AsyncAPI's NATS bindings define only `queue`; the JetStream contract of SPEC §4 is here.
    return {
        "stream": STREAM,
        "subjects": [SUBJECTS],
        "storage": "file",
        "duplicate_window_seconds": DUPLICATE_WINDOW_SECONDS,
        "message_id_header": "Nats-Msg-Id",
        "consumers": {
            "kind": "durable pull",
            "ack_policy": "explicit",
            "deliver_policy": "all",
            "order": "a batch is handled in stream order, committed, then acknowledged",
            "max_deliver": "finite, with a backoff longer than the slowest handler",
            "deadletter_subject": f"{DEADLETTER_PREFIX}{{consumer}}",
        },
    }


def _doc(cls: type[CatalogueEvent]) -> str:
    return " ".join((cls.__doc__ or "").split())


def main(argv: list[str] | None = None) -> int:
    """Write the artifacts under ROOT (default: this checkout)."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    written = write_all(root)
    sys.stderr.write(f"wrote {len(written)} files under {root}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
