"""Go's text/template, the subset `kubectl -o go-template=…` users write, over JSON documents.

Actions: `{{.a.b}}`, `{{$}}`, `{{$x := …}}`, pipelines with `|`, `{{if}}/{{else if}}/{{else}}`,
`{{range}}` (with `$i, $e :=` and `{{else}}`), `{{with}}`, comments, `{{-`/`-}}` trimming, and the
built-in functions (index, len, printf, print, println, and, or, not, eq, ne, lt, le, gt, ge).
A missing map key prints `<no value>` as Go does; errors read like Go's (`template: output:…`).
No Python library keeps Go's template language, so this is the project's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<no value>"})()
_DECLARE = re.compile(r"\s*(\$\w*)(?:\s*,\s*(\$\w*))?\s*:?=(?!=)")
_LITERALS = {"true": True, "false": False, "nil": None}
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    |(?P<op>\||\()|(?P<close>\))(?P<after>(?:\.\w+)*)|(?P<var>\$\w*)(?P<vpath>(?:\.\w+)*)
    |(?P<field>(?:\.\w+)+|\.)|(?P<ident>[A-Za-z_]\w*))""",
    re.VERBOSE,
)


class GoTemplateError(ValueError):
    """A template that does not parse or cannot be executed; the message reads like Go's."""


@dataclass
class Pipe:
    """A pipeline: commands joined by `|`, maybe declaring variables (`$x :=`)."""

    text: str
    commands: list[list[tuple[str, Any]]]
    declare: list[str] = field(default_factory=list)


@dataclass
class Block:
    """An action with a body: if (with its `else if` chain), range or with."""

    kind: str
    pipe: Pipe
    body: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)


def _pipe(text: str, line: int) -> Pipe:
    declared = _DECLARE.match(text)
    declare = [name for name in declared.groups() if name] if declared else []
    tokens, pos = [], declared.end() if declared else 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise GoTemplateError(f"template: output:{line}: bad character in {text.strip()!r}")
        tokens.append(match)
        pos = match.end()
    commands, _ = _commands(tokens, 0, text, line)
    if not commands or not all(commands):
        raise GoTemplateError(f"template: output:{line}: missing value for command")
    return Pipe(text.strip(), commands, declare)


def _commands(tokens: list[re.Match[str]], i: int, text: str, line: int) -> tuple[list[Any], int]:
    commands: list[list[tuple[str, Any]]] = [[]]
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t.group("op") == "|":
            commands.append([])
        elif t.group("op") == "(":
            inner, i = _commands(tokens, i, text, line)
            if i > len(tokens) or tokens[i - 1].group("close") is None:
                raise GoTemplateError(f"template: output:{line}: unclosed left paren")
            after = [p for p in tokens[i - 1].group("after").split(".") if p]
            commands[-1].append(("sub", (Pipe(text, inner), after)))
        elif t.group("close") is not None:
            return commands, i
        elif t.group("str") is not None:
            commands[-1].append(("lit", json.loads(t.group("str"))))
        elif t.group("raw") is not None:
            commands[-1].append(("lit", t.group("raw")[1:-1]))
        elif (number := t.group("num")) is not None:
            exact = not any(c in number for c in ".eE")
            commands[-1].append(("lit", int(number) if exact else float(number)))
        elif t.group("var") is not None:
            path = [p for p in t.group("vpath").split(".") if p]
            commands[-1].append(("var", (t.group("var"), path)))
        elif t.group("field") is not None:
            commands[-1].append(("field", [p for p in t.group("field").split(".") if p]))
        elif t.group("ident") in _LITERALS:
            commands[-1].append(("lit", _LITERALS[t.group("ident")]))
        elif t.group("ident") in FUNCTIONS:
            commands[-1].append(("func", t.group("ident")))
        elif t.group("ident") is not None:
            raise GoTemplateError(
                f'template: output:{line}: function "{t.group("ident")}" not defined'
            )
        else:
            raise GoTemplateError(f"template: output:{line}: unexpected {t.group(0).strip()!r}")
    return commands, i + 1


def parse(template: str) -> list[Any]:
    """The template's nodes; GoTemplateError naming the line for one that does not parse."""
    root: list[Any] = []
    stack: list[tuple[list[Any], Block | None]] = [(root, None)]
    pos = 0
    while True:
        start = template.find("{{", pos)
        text = template[pos:] if start < 0 else template[pos:start]
        if start >= 0 and template.startswith("{{- ", start):
            text = text.rstrip()
        if text:
            stack[-1][0].append(text)
        if start < 0:
            break
        end = template.find("}}", start)
        line = template.count("\n", 0, start) + 1
        if end < 0:
            raise GoTemplateError(f"template: output:{line}: unclosed action")
        inner = template[start + 2 : end]
        trim_right = inner.endswith(" -")
        inner = inner.removeprefix("- ").removesuffix(" -").strip()
        pos = end + 2
        if trim_right:
            pos = len(template) - len(template[pos:].lstrip())
        _action(inner, line, stack)
    if len(stack) > 1:
        raise GoTemplateError(f"template: output:{line}: unexpected EOF (missing {{{{end}}}})")
    return root


def _action(inner: str, line: int, stack: list[tuple[list[Any], Block | None]]) -> None:
    word, _, rest = inner.partition(" ")
    if inner.startswith("/*") and inner.endswith("*/"):
        return
    if word in ("if", "range", "with"):
        opened = Block(word, _pipe(rest, line))
        stack[-1][0].append(opened)
        stack.append((opened.body, opened))
    elif word == "else" and (block := stack[-1][1]) is not None:
        stack.pop()
        kind, _, condition = rest.strip().partition(" ")
        if kind in ("if", "with"):  # `else if`: one {{end}} closes the whole chain
            chained = Block(kind, _pipe(condition, line))
            block.otherwise.append(chained)
            stack.append((chained.body, chained))
        else:
            stack.append((block.otherwise, None))
    elif word == "end" and len(stack) > 1:
        stack.pop()
    elif word in ("else", "end"):
        raise GoTemplateError(f"template: output:{line}: unexpected {{{{{word}}}}}")
    elif word in ("define", "template", "block"):
        raise GoTemplateError(f"template: output:{line}: {{{{{word}}}}} is not supported here")
    else:
        stack[-1][0].append(_pipe(inner, line))


def go_string(value: Any) -> str:
    """A value as Go's %v prints JSON data: maps as map[k:v], lists as [a b], nil as <nil>."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_string(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def truth(value: Any) -> bool:
    """Go's truth: false, 0, nil, and empty strings, lists and maps are false."""
    return value is not MISSING and value is not None and bool(value)


def _printf(form: str, *args: Any) -> str:
    values = list(args)

    def one(match: re.Match[str]) -> str:
        flags, width, precision, verb = match.groups()
        if verb == "%":
            return "%"
        if not values:
            return f"%!{verb}(MISSING)"
        value = values.pop(0)
        spec = f"{flags}{width or ''}{'.' + precision if precision else ''}"
        try:
            if verb in "dxXo" and isinstance(value, int | float) and not isinstance(value, bool):
                return format(int(value), spec + ("d" if verb == "d" else verb))
            if verb in "feEgG" and isinstance(value, int | float):
                return format(float(value), spec + verb)
            if verb == "q":
                return format(json.dumps(go_string(value)), spec.replace("0", ""))
            if verb in "svt":
                return format(go_string(value), spec.replace("0", "") + "s")
        except ValueError:
            pass
        return f"%!{verb}({type(value).__name__}={go_string(value)})"

    text = re.sub(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])", one, form)
    return text + "".join(f"%!(EXTRA {go_string(v)})" for v in values)


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, dict):
            item = item.get(key)
        elif isinstance(item, list | str) and isinstance(key, int):
            if not 0 <= key < len(item):
                raise GoTemplateError(f"error calling index: index out of range: {key}")
            item = item[key]
        else:
            raise GoTemplateError(
                f"error calling index: cannot index {go_string(item)} with {key!r}"
            )
    return item


def _length(item: Any) -> int:
    if not isinstance(item, list | dict | str):
        raise GoTemplateError(f"error calling len: len of {go_string(item)}")
    return len(item)


def _compare(test: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, str) != isinstance(b, str):
            raise GoTemplateError(
                f"incompatible types for comparison: {go_string(a)}, {go_string(b)}"
            )
        return test(a, b)

    return compare


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "index": _index,
    "len": _length,
    "printf": _printf,
    "print": lambda *a: "".join(
        (" " if i and not isinstance(v, str) and not isinstance(a[i - 1], str) else "")
        + go_string(v)
        for i, v in enumerate(a)
    ),
    "println": lambda *a: " ".join(go_string(v) for v in a) + "\n",
    "not": lambda a: not truth(a),
    "and": lambda *a: next((v for v in a if not truth(v)), a[-1]),
    "or": lambda *a: next((v for v in a if truth(v)), a[-1]),
    "eq": lambda a, *b: any(a == v for v in b),
    "ne": lambda a, b: a != b,
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
}


def _walk(value: Any, path: list[str], pipe: Pipe) -> Any:
    for name in path:
        if isinstance(value, dict):
            value = value.get(name, MISSING)
        elif value is None or value is MISSING:
            raise _failed(pipe, f"nil pointer evaluating interface {{}}.{name}")
        else:
            raise _failed(pipe, f"can't evaluate field {name} in type {_go_type(value)}")
    return value


def _go_type(value: Any) -> str:
    names = {str: "string", bool: "bool", int: "int64", float: "float64", list: "[]interface {}"}
    return names.get(type(value), "map[string]interface {}")


def _failed(pipe: Pipe, message: str) -> GoTemplateError:
    return GoTemplateError(f'template: output: executing "output" at <{pipe.text}>: {message}')


def _operand(op: tuple[str, Any], dot: Any, scope: dict[str, Any], pipe: Pipe) -> Any:
    kind, value = op
    if kind == "lit":
        return value
    if kind == "field":
        return _walk(dot, value, pipe)
    if kind == "var":
        name, path = value
        if name not in scope:
            raise _failed(pipe, f"undefined variable: {name}")
        return _walk(scope[name], path, pipe)
    if kind == "sub":
        inner, path = value
        return _walk(_run(inner, dot, scope), path, pipe)
    raise _failed(pipe, f"{value} is a function; call it first")


def _run(pipe: Pipe, dot: Any, scope: dict[str, Any], assign: bool = True) -> Any:
    result: Any = MISSING
    for number, command in enumerate(pipe.commands):
        head, *rest = command
        if head[0] == "func":
            args = [_operand(op, dot, scope, pipe) for op in rest]
            args += [result] if number else []
            try:
                result = FUNCTIONS[head[1]](*args)
            except GoTemplateError as exc:
                raise _failed(pipe, str(exc)) from exc
            except TypeError as exc:
                raise _failed(pipe, f"wrong number of args for {head[1]}: {exc}") from exc
        elif rest or number:
            raise _failed(pipe, f"can't give argument to non-function {pipe.text}")
        else:
            result = _operand(head, dot, scope, pipe)
    for name in pipe.declare if assign else []:
        scope[name] = result
    return result


def _execute(nodes: list[Any], dot: Any, scope: dict[str, Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Pipe):
            value = _run(node, dot, scope)
            if not node.declare:
                out.append(go_string(value) if value is not None else "<no value>")
        elif node.kind == "range":
            _range(node, dot, dict(scope), out)
        else:
            value = _run(node.pipe, dot, inner := dict(scope))
            if truth(value):
                _execute(node.body, value if node.kind == "with" else dot, inner, out)
            else:
                _execute(node.otherwise, dot, dict(scope), out)


def _range(node: Block, dot: Any, scope: dict[str, Any], out: list[str]) -> None:
    declare, items = node.pipe.declare, _run(node.pipe, dot, scope, assign=False)
    pairs = sorted(items.items()) if isinstance(items, dict) else list(enumerate(items or []))
    if items not in (None, MISSING) and not isinstance(items, list | dict):
        raise _failed(node.pipe, f"range can't iterate over {go_string(items)}")
    for key, item in pairs:
        if len(declare) == 2:
            scope[declare[0]], scope[declare[1]] = key, item
        elif declare:
            scope[declare[0]] = item
        _execute(node.body, item, scope, out)
    if not pairs:
        _execute(node.otherwise, dot, scope, out)


def render(template: str, document: Any) -> str:
    """The template executed over document (`-o go-template=…`)."""
    out: list[str] = []
    _execute(parse(template), document, {"$": document}, out)
    return "".join(out)
