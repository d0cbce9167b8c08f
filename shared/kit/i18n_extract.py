"""The messages of Caseline, read from its source, and the catalogues kept in step with them.

`extract` walks the source (`services/`, `shared/`, `caseline/`) and finds every message a person
reads:

- the title of each error of the kit's tree (`shared.kit.errors`), in the context of its slug;
- the literal detail of each error raised or built (`SomeRuleError("... {name} ...", name=...)`),
  in the context of the problem's type: the rule of a refusal (409), else the slug;
- `problem(status, "Title", "detail", "slug")` in the context of its slug;
- `N_("...", "context")`, `translate("...", context=...)` and the CLI's `_("...")` (no context);
- the offline verifier's `BundleError("...")` (no context);
- a pydantic validator's own `raise ValueError("...")` (in the context `invalid-fields`);
- each catalogue event's `event_name` (in the context `value`: a 403's detail may name it).

An error's detail or a message written as an f-string cannot be translated, nor a context that is
not written out, nor a CLI help text not marked `_("…")`, nor a line the CLI prints
(`print`, `say`, `sys.stderr.write`) with English outside `_("…")`: `extract` names each such
place in `formatted` (the catalogue test fails on them); the variable parts of a message are
named placeholders filled after translation. Machine output (JSON, CSV) and log lines are not
messages.

`update_catalogues` (`make translations`) writes the template `caseline.pot` and adds each new
message to the French and Arabic `.po` files, keeping every translation made, marking obsolete
the messages no longer in the source.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.kit.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

__all__ = ["Extraction", "error_types", "extract", "update_catalogues"]

SOURCE_DIRS = ("services", "shared", "caseline")
# The offline verifier's exception (`caseline/bundle.py` imports no kit, so it is translated where
# it is shown): its first argument is a message without context, its variable parts named
# placeholders given as keywords (`BundleError("... {kid}", kid=kid)`).
MESSAGE_ERRORS = frozenset({"BundleError"})
# What writes a line a person reads: `print(...)`, `say(...)`, `sys.stderr.write(...)`.
_OUTPUT_CALLS = frozenset({"print", "say"})
_STREAMS = frozenset({"stdout", "stderr", "stream"})
_WORD = re.compile(r"[A-Za-z]{2,}")
# A pydantic validator's own words (`raise ValueError("…")` in a `field_validator`,
# `model_validator` or a function given to `AfterValidator`/`BeforeValidator`), shown in a 422's
# `errors[]`: translated in the context of the 422.
_VALIDATOR_DECORATORS = frozenset({"field_validator", "model_validator"})
_VALIDATOR_WRAPPERS = frozenset({"AfterValidator", "BeforeValidator", "PlainValidator"})
VALIDATION_CONTEXT = "invalid-fields"
# The configuration's validators speak to the operator at start, in English like the logs.
_CONFIGURATION = frozenset({"shared/kit/settings.py", "shared/kit/jurisdiction.py"})
_ROOT_ERROR = "CaselineError"
_RULE_BASE = "RuleViolation"


@dataclass
class _ErrorClass:
    name: str
    bases: list[str]
    attrs: dict[str, object]


@dataclass
class Extraction:
    messages: dict[tuple[str | None, str], list[str]] = field(default_factory=dict)
    formatted: list[str] = field(default_factory=list)

    def add(self, context: str | None, msgid: str, where: str) -> None:
        if msgid:
            self.messages.setdefault((context, msgid), []).append(where)


def _sources(root: Path) -> Iterable[Path]:
    for top in SOURCE_DIRS:
        yield from sorted((root / top).rglob("*.py"))


def _kebab(name: str) -> str:
    return "".join(("-" if ch.isupper() and i else "") + ch.lower() for i, ch in enumerate(name))


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _classes(trees: dict[Path, ast.Module]) -> dict[str, list[_ErrorClass]]:
    found: dict[str, list[_ErrorClass]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            attrs: dict[str, object] = {}
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Constant)
                ):
                    attrs[stmt.targets[0].id] = stmt.value.value
            bases = [b for b in (_name_of(x) for x in node.bases) if b]
            found.setdefault(node.name, []).append(_ErrorClass(node.name, bases, attrs))
    return found


def _resolve(classes: dict[str, list[_ErrorClass]]) -> dict[str, set[tuple[str, str, str]]]:
    """Each error class's (title, title's context, problem type) — a name defined twice (two
    services' `EntryNotVoidableError`) has each definition's."""
    out: dict[str, set[tuple[str, str, str]]] = {}

    def chain(cls: _ErrorClass, seen: frozenset[str]) -> list[list[_ErrorClass]] | None:
        if cls.name == _ROOT_ERROR:
            return [[cls]]
        chains = []
        for base in cls.bases:
            if base in seen:
                continue
            for parent in classes.get(base, []):
                for up in chain(parent, seen | {base}) or []:
                    chains.append([cls, *up])
        return chains or None

    for name, defs in classes.items():
        for cls in defs:
            for lineage in chain(cls, frozenset({name})) or []:
                attrs: dict[str, object] = {}
                for c in reversed(lineage):
                    attrs.update(c.attrs)
                slug, title, status = str(attrs["slug"]), str(attrs["title"]), attrs["status"]
                rule: object = None
                if any(c.name == _RULE_BASE for c in lineage):
                    explicit = next((c.attrs["rule"] for c in lineage if "rule" in c.attrs), None)
                    rule = explicit
                    if explicit == "rule":
                        rule = _kebab(cls.name.removesuffix("Error"))
                kind = str(rule) if status == 409 and rule else slug
                out.setdefault(name, set()).add((title, slug, kind))
    return out


def _formatted(node: ast.expr | None) -> bool:
    """A message built where it is raised (an f-string, or one joined or chosen in place)."""
    if isinstance(node, (ast.BinOp, ast.IfExp)):
        return any(isinstance(n, ast.JoinedStr) for n in ast.walk(node))
    return isinstance(node, ast.JoinedStr)


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _arg(call: ast.Call, i: int, name: str) -> ast.expr | None:
    return call.args[i] if len(call.args) > i else _kw(call, name)


def _trees(root: Path) -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), str(path)) for path in _sources(root)}


def error_types(root: Path) -> dict[str, set[tuple[str, str, str]]]:
    """Each error class of the source, by name: its (title, slug, problem type) as read."""
    return _resolve(_classes(_trees(root)))


def extract(root: Path) -> Extraction:
    """Every message of the source under `root` (the repository)."""
    trees = _trees(root)
    errors = _resolve(_classes(trees))
    out = Extraction()
    for path, tree in trees.items():
        rel = path.relative_to(root).as_posix()
        if rel not in _CONFIGURATION:
            _validator_messages(tree, out, rel)
        if rel.startswith("shared/events/"):
            _event_names(tree, out, rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in errors:
                for title, title_context, _ in errors[node.name]:
                    out.add(title_context, title, f"{rel}:{node.lineno}")
                _init_details(node, errors[node.name], out, rel)
            if not isinstance(node, ast.Call):
                continue
            where = f"{rel}:{node.lineno}"
            if rel.startswith("caseline/") and any(
                k.arg in ("help", "description")
                and (_literal(k.value) is not None or isinstance(k.value, ast.JoinedStr))
                for k in node.keywords
            ):
                out.formatted.append(where)  # the CLI's help, not marked _("…")
            callee = _name_of(node.func)
            if rel.startswith("caseline/") and _untranslated_output(node):
                out.formatted.append(where)  # a line printed in English only
            if callee in MESSAGE_ERRORS:
                message = _arg(node, 0, "reason")
                if _formatted(message):
                    out.formatted.append(where)
                elif (text := _literal(message)) is not None:
                    out.add(None, text, where)
            elif callee in errors:
                detail = _arg(node, 0, "detail")
                if _formatted(detail):
                    out.formatted.append(where)
                elif (text := _literal(detail)) is not None:
                    for _, _, kind in errors[callee]:
                        out.add(kind, text, where)
            elif callee == "problem":
                problem_type = _literal(_arg(node, 3, "slug"))
                if _formatted(_arg(node, 2, "detail")):
                    out.formatted.append(where)
                for part in (_arg(node, 1, "title"), _arg(node, 2, "detail")):
                    if problem_type and (literal := _literal(part)) is not None:
                        out.add(problem_type, literal, where)
            elif callee in ("N_", "translate", "_"):
                text = _literal(_arg(node, 0, "msgid"))
                context = _arg(node, 1, "context") if callee == "N_" else _kw(node, "context")
                if isinstance(_arg(node, 0, "msgid"), ast.JoinedStr) or (
                    text is not None and context is not None and _literal(context) is None
                ):
                    out.formatted.append(where)  # an f-string, or a context not written out
                elif text is not None:
                    out.add(_literal(context), text, where)
    return out


def _event_names(tree: ast.Module, out: Extraction, rel: str) -> None:
    """Each catalogue event's name (`event_name: ClassVar[str] = "ArrestRecorded"`), a word a
    403's detail may hold (`role 'police' may not void {name}`): in the context `value`."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "event_name"
            and (name := _literal(node.value)) is not None
        ):
            out.add("value", name, f"{rel}:{node.lineno}")


def _validator_messages(tree: ast.Module, out: Extraction, rel: str) -> None:
    """The words of each pydantic validator of a module: `raise ValueError("…")` in it."""
    wrapped = {
        name
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and _name_of(call.func) in _VALIDATOR_WRAPPERS and call.args
        if (name := _name_of(call.args[0]))
    }
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorated = any(
            isinstance(d, ast.Call) and _name_of(d.func) in _VALIDATOR_DECORATORS
            for d in fn.decorator_list
        )
        if not decorated and fn.name not in wrapped:
            continue
        for node in ast.walk(fn):
            if not (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and _name_of(node.exc.func) == "ValueError"
            ):
                continue
            message = _arg(node.exc, 0, "")
            if _formatted(message):
                out.formatted.append(f"{rel}:{node.lineno}")
            elif (text := _literal(message)) is not None:
                out.add(VALIDATION_CONTEXT, text, f"{rel}:{node.lineno}")


def _output_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in _OUTPUT_CALLS
    if isinstance(func, ast.Attribute) and func.attr == "write":
        return _name_of(func.value) in _STREAMS
    return False


def _english_words(node: ast.AST) -> bool:
    """Words written out in `node`, outside a `_("…")` that translates them."""
    if isinstance(node, ast.Call) and _name_of(node.func) in ("_", "translate", "N_"):
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_WORD.search(node.value))
    if isinstance(node, ast.Call):  # a call's result (json.dumps, str(exc)) is not written out
        return any(_english_words(a) for a in node.args if isinstance(a, ast.JoinedStr))
    if isinstance(node, ast.Subscript):  # a key (`key["development"]`) is not written out
        return _english_words(node.value)
    return any(_english_words(child) for child in ast.iter_child_nodes(node))


def _untranslated_output(call: ast.Call) -> bool:
    """`print(f"checked {n} entries")`, `sys.stderr.write("no token\\n")`: a line a person reads,
    written in English only. Machine output (JSON, CSV, an env file) is built by a call
    (`json.dumps`, `writer.writerow`) or from values alone, and is not flagged."""
    return _output_call(call) and any(_english_words(a) for a in call.args)


def _init_details(
    node: ast.ClassDef, kinds: set[tuple[str, str, str]], out: Extraction, rel: str
) -> None:
    """An error whose own `__init__` passes a literal detail to `super().__init__`."""
    for call in ast.walk(node):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "__init__"
            and isinstance(call.func.value, ast.Call)
            and _name_of(call.func.value.func) == "super"
        ):
            detail = _arg(call, 0, "detail")
            if isinstance(detail, ast.JoinedStr):
                out.formatted.append(f"{rel}:{call.lineno}")
            elif (text := _literal(detail)) is not None:
                for _, _, kind in kinds:
                    out.add(kind, text, f"{rel}:{call.lineno}")


_HEADER = """\
# {language} translations of the messages people read in Caseline.
# The msgid is the English written in the code, msgctxt the problem's type (docs/architecture.md):
# keep each {{placeholder}} as it is; `make translations` adds the new messages here.
#"""
_NAMES = {"fr": "French", "ar": "Arabic"}


def update_catalogues(root: Path, locale_dir: Path = LOCALE_DIR) -> Extraction:
    """Writes `caseline.pot` and brings `{fr,ar}/LC_MESSAGES/caseline.po` in step with it:
    messages sorted, files named without line numbers (so that moving code changes nothing)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    found = extract(root)
    template = Catalog(project="Caseline", domain=DOMAIN, fuzzy=False)
    for (context, msgid), places in found.messages.items():
        files = sorted({p.rsplit(":", 1)[0] for p in places})[:3]
        flags = ["python-brace-format"] if "{" in msgid else []
        template.add(msgid, context=context, locations=[(f, 0) for f in files], flags=flags)
    locale_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"width": 100, "sort_output": True, "include_lineno": False}
    with (locale_dir / f"{DOMAIN}.pot").open("wb") as f:
        write_po(f, template, omit_header=True, **options)
    for language in LANGUAGES:
        if language == "en":
            continue
        path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as source:
                catalogue = read_po(source, locale=language, domain=DOMAIN)
        else:
            catalogue = Catalog(
                locale=language,
                domain=DOMAIN,
                project="Caseline",
                version="1",
                header_comment=_HEADER.format(language=_NAMES[language]),
                msgid_bugs_address="",
                last_translator="Caseline",
                language_team=f"Caseline {_NAMES[language]}",
                fuzzy=False,
            )
        catalogue.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalogue.obsolete.clear()
        with path.open("wb") as f:
            write_po(f, catalogue, **options)
    return found
