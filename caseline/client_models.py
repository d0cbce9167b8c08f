"""`caseline client-models`: the client kit's typed payloads (`TypedDict`s, standard library only),
generated from the catalogue's committed JSON Schemas, so agencies type-check what they receive.

Every field is optional in the generated classes: the ledger removes from a delivery the fields
the agency's role may not see (`redacted`), whatever the catalogue requires.
"""

from __future__ import annotations

import argparse
import json
import keyword
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from shared.kit.i18n import translate as _

__all__ = ["MODELS_PATH", "add_parser", "render_models"]

SCHEMAS_DIR = Path("shared/events/schemas")
MODELS_PATH = Path("clients/python/caseline_client/models.py")

_HEADER = '''"""Typed payloads of Caseline's event catalogue, generated from its JSON Schemas by
`caseline client-models`. Do not edit: regenerate. Every field is optional, since a delivery
leaves out the fields the receiving agency's role may not see."""

from __future__ import annotations

from typing import Literal, TypedDict
'''
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def render_models(schemas_dir: Path) -> str:
    """The module text for the schemas in `schemas_dir` (one file per event type)."""
    defs: dict[str, dict[str, Any]] = {}
    events: list[tuple[str, str, dict[str, Any]]] = []
    for path in sorted(schemas_dir.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        defs.update(schema.get("$defs", {}))
        service, name, version = path.name.removesuffix(".json").split(".")
        events.append((f"{name}{version.upper()}", f"caseline.{service}.{name}.{version}", schema))
    names = [cls for cls, _, _ in events]
    # Every service has its own EntryVoided: those names take the service's in front.
    events = [
        (cls if names.count(cls) == 1 else type_name.split(".")[1].title() + cls, type_name, s)
        for cls, type_name, s in events
    ]
    out = [_HEADER]
    for name in sorted(n for n, d in defs.items() if d.get("type") == "object"):
        out.append(_class(name, defs[name], defs))
    for class_name, _subject, schema in events:
        out.append(_class(class_name, schema, defs))
    out.append("EVENT_TYPES: dict[str, type] = {\n")
    out += [f'    "{type_name}": {cls},\n' for cls, type_name, _ in events]
    out.append('}\n"""Event type → its payload class."""\n')
    return _formatted("".join(out))


def _formatted(text: str) -> str:
    """The text as `ruff format` leaves it, so the committed file passes the formatting check."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    done = subprocess.run(  # noqa: S603 - the project's own formatter, on our own text
        [ruff, "format", "--stdin-filename", str(MODELS_PATH), "-"],
        input=text, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def _class(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> str:
    doc = " ".join(str(schema.get("description") or f"The payload {name}.").split())
    lines = [f"\n\nclass {name}(TypedDict, total=False):\n", f"    {json.dumps(doc)}\n\n"]
    required = set(schema.get("required", ()))
    props = schema.get("properties", {})
    for field in sorted(props):
        if not field.isidentifier() or keyword.iskeyword(field):
            raise ValueError(f"{name}.{field} is not a Python identifier")
        note = "  # required by the catalogue" if field in required else ""
        lines.append(f"    {field}: {_type(props[field], defs)}{note}\n")
    if not props:
        lines.append("    pass\n")
    return "".join(lines)


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in node:
        target = node["$ref"].removeprefix("#/$defs/")
        return target if defs[target].get("type") == "object" else _type(defs[target], defs)
    if "anyOf" in node:
        return " | ".join(dict.fromkeys(_type(v, defs) for v in node["anyOf"]))
    if "const" in node:
        return f"Literal[{json.dumps(node['const'])}]"
    if "enum" in node:
        return f"Literal[{', '.join(json.dumps(v) for v in node['enum'])}]"
    kind = node.get("type")
    if kind == "array":
        return f"list[{_type(node.get('items') or {}, defs)}]"
    if kind == "object":
        extra = node.get("additionalProperties")
        value = _type(extra, defs) if isinstance(extra, dict) else "object"
        return f"dict[str, {value}]"
    if isinstance(kind, str) and kind in _SCALARS:
        return _SCALARS[kind]
    return "object"


def _command(args: argparse.Namespace) -> int:
    root = Path(args.root)
    text = render_models(root / SCHEMAS_DIR)
    target = root / MODELS_PATH
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            sys.stderr.write(
                _("{target} is stale: run `caseline client-models`", target=target) + "\n"
            )
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    sys.stdout.write(_("wrote {path}", path=target) + "\n")
    return 0


def add_parser(sub: Any) -> None:
    """Register `caseline client-models` on the CLI's subparsers."""
    parser = sub.add_parser(
        "client-models", help=_("regenerate the client kit's typed payloads from the JSON Schemas")
    )
    parser.add_argument("--root", default=".")
    parser.add_argument("--check", action="store_true", help=_("exit 1 if the file is stale"))
    parser.set_defaults(func=_command)
