"""Terraform expressions as cdktf writes them into cdk.tf.json: parsing and evaluation.

A JSON string in cdk.tf.json is a Terraform *template*: literal text with `${ expression }`
interpolations (`$${` is a literal `${`). A string that is exactly one interpolation evaluates to
the expression's own value (a list, a map, a number); anything else is text.

Supported expression syntax: literals (numbers, strings with nested templates, true/false/null),
tuples `[a, b]`, objects `{k = v}`, references (`aws_x.y.attr`, `data.t.n.attr`, `var.x`,
`local.x`, `path.module`), indexing and attribute access, function calls (the functions in
`FUNCTIONS`), arithmetic, comparison, logical operators and `cond ? a : b`. Anything else (for
expressions, splats, template directives, heredocs) is rejected with the offending text, so an
expression the local cloud cannot evaluate stops it instead of being mis-read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; the message names the bad part."""


# --- syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Template:
    """Text with interpolations: `parts` alternate between str and expression nodes."""

    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Reference:
    """A traversal from a root name: `aws_sqs_queue.dlq.arn` → ("aws_sqs_queue", "dlq", "arn")."""

    parts: tuple[str | int, ...]
    text: str


@dataclass(frozen=True)
class Traverse:
    """Attribute access or indexing applied to the value of another expression."""

    target: Any
    key: Any  # a node evaluating to str or int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    expand_last: bool  # f(a, list...)


@dataclass(frozen=True)
class Tuple_:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Object_:
    items: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Conditional:
    condition: Any
    then: Any
    otherwise: Any


Node = Literal | Template | Reference | Traverse | Call | Tuple_ | Object_ | Unary | Binary | Conditional


# --- parsing ---------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<=", ">=", "<", ">"),
    ("+", "-"),
    ("*", "/", "%"),
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse_template(text: str) -> Node:
    """Parse a string from cdk.tf.json. Plain text (no `${`) comes back as a Literal."""
    parser = _Parser(text)
    node = parser.template(quoted=False)
    if parser.pos != len(text):  # pragma: no cover - template() consumes everything when unquoted
        raise parser.error("unexpected text")
    return node


def has_interpolation(text: str) -> bool:
    return "${" in text or "%{" in text


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> ExpressionError:
        snippet = self.text if len(self.text) <= 120 else self.text[:117] + "..."
        return ExpressionError(f"{message} at character {self.pos + 1} of {snippet!r}")

    # -- templates --

    def template(self, *, quoted: bool) -> Node:
        parts: list[Any] = []
        buffer: list[str] = []
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if quoted and ch == '"':
                self.pos += 1
                break
            if quoted and ch == "\\":
                self.pos += 1
                if self.pos >= len(text):
                    raise self.error("unfinished escape")
                esc = text[self.pos]
                if esc == "u":
                    code = text[self.pos + 1 : self.pos + 5]
                    if not re.fullmatch(r"[0-9A-Fa-f]{4}", code):
                        raise self.error("bad \\u escape")
                    buffer.append(chr(int(code, 16)))
                    self.pos += 5
                    continue
                if esc not in _ESCAPES:
                    raise self.error(f"unknown escape \\{esc}")
                buffer.append(_ESCAPES[esc])
                self.pos += 1
                continue
            if text.startswith("$${", self.pos) or text.startswith("%%{", self.pos):
                buffer.append(text[self.pos + 1 : self.pos + 3])
                self.pos += 3
                continue
            if text.startswith("%{", self.pos):
                raise self.error("template directives (%{ ... }) are not supported")
            if text.startswith("${", self.pos):
                if buffer:
                    parts.append("".join(buffer))
                    buffer = []
                self.pos += 2
                self.skip_space()
                if self.peek("~"):
                    self.pos += 1  # strip marker: whitespace control only
                parts.append(self.expression())
                self.skip_space()
                if self.peek("~"):
                    self.pos += 1
                self.expect("}")
                continue
            buffer.append(ch)
            self.pos += 1
        else:
            if quoted:
                raise self.error("unterminated string")
        if buffer:
            parts.append("".join(buffer))
        if not parts:
            return Literal("")
        if len(parts) == 1 and isinstance(parts[0], str):
            return Literal(parts[0])
        return Template(tuple(parts))

    # -- expressions --

    def skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos] in " \t\r\n":
                self.pos += 1
            elif text.startswith("#", self.pos) or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated comment")
                self.pos = end + 2
            else:
                return

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        self.skip_space()
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.accept(token):
            raise self.error(f"expected {token!r}")

    def expression(self) -> Node:
        condition = self.binary(0)
        if self.accept("?"):
            then = self.expression()
            self.expect(":")
            otherwise = self.expression()
            return Conditional(condition, then, otherwise)
        return condition

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            self.skip_space()
            op = next((o for o in _BINARY_LEVELS[level] if self.peek(o)), None)
            # `=>` and `==` must not be read as `=`; `<`/`>` never start anything else here.
            if op is None:
                return left
            self.pos += len(op)
            left = Binary(op, left, self.binary(level + 1))

    def unary(self) -> Node:
        self.skip_space()
        if self.peek("!") and not self.peek("!="):
            self.pos += 1
            return Unary("!", self.unary())
        if self.peek("-"):
            self.pos += 1
            return Unary("-", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            self.skip_space()
            if self.peek("..."):
                return node  # argument expansion: the caller reads it
            if self.peek("[*]") or self.peek(".*"):
                raise self.error("splat expressions are not supported")
            if self.peek("."):
                self.pos += 1
                self.skip_space()
                number = _NUMBER.match(self.text, self.pos)
                if number and number.group(0).isdigit():  # legacy index syntax: list.0
                    self.pos = number.end()
                    node = _traverse(node, int(number.group(0)))
                    continue
                ident = _IDENT.match(self.text, self.pos)
                if not ident:
                    raise self.error("expected an attribute name")
                self.pos = ident.end()
                node = _traverse(node, ident.group(0))
            elif self.peek("["):
                self.pos += 1
                key = self.expression()
                self.expect("]")
                if isinstance(key, Literal) and isinstance(key.value, (str, int)):
                    node = _traverse(node, key.value)
                else:
                    node = Traverse(node, key)
            else:
                return node

    def primary(self) -> Node:
        self.skip_space()
        text = self.text
        if self.pos >= len(text):
            raise self.error("expected an expression")
        ch = text[self.pos]
        if ch == '"':
            self.pos += 1
            return self.template(quoted=True)
        if text.startswith("<<", self.pos):
            raise self.error("heredoc strings are not supported")
        if ch == "(":
            self.pos += 1
            inner = self.expression()
            self.expect(")")
            return inner
        if ch == "[":
            self.pos += 1
            self.skip_space()
            if _IDENT.match(text, self.pos) and text.startswith("for ", self.pos):
                raise self.error("for expressions are not supported")
            return Tuple_(tuple(self.sequence("]")))
        if ch == "{":
            self.pos += 1
            self.skip_space()
            if text.startswith("for ", self.pos):
                raise self.error("for expressions are not supported")
            return self.object_body()
        number = _NUMBER.match(text, self.pos)
        if number:
            self.pos = number.end()
            raw = number.group(0)
            return Literal(float(raw) if any(c in raw for c in ".eE") else int(raw))
        ident = _IDENT.match(text, self.pos)
        if not ident:
            raise self.error(f"unexpected {ch!r}")
        name = ident.group(0)
        start = self.pos
        self.pos = ident.end()
        if name in ("true", "false"):
            return Literal(name == "true")
        if name == "null":
            return Literal(None)
        self.skip_space()
        if self.peek("(") or self.peek("::"):
            if self.peek("::"):
                raise self.error(f"provider functions ({name}::...) are not supported")
            self.pos += 1
            args, expand = self.arguments()
            return Call(name, tuple(args), expand)
        return Reference((name,), text[start : self.pos].strip())

    def sequence(self, closing: str) -> list[Node]:
        items: list[Node] = []
        while not self.accept(closing):
            items.append(self.expression())
            if not self.accept(","):
                self.expect(closing)
                break
        return items

    def arguments(self) -> tuple[list[Node], bool]:
        args: list[Node] = []
        expand = False
        while not self.accept(")"):
            args.append(self.expression())
            if self.accept("..."):
                expand = True
                self.expect(")")
                break
            if not self.accept(","):
                self.expect(")")
                break
        return args, expand

    def object_body(self) -> Object_:
        items: list[tuple[Node, Node]] = []
        while not self.accept("}"):
            self.skip_space()
            ident = _IDENT.match(self.text, self.pos)
            key: Node
            if ident and not self.text.startswith("(", ident.end()):
                self.pos = ident.end()
                key = Literal(ident.group(0))  # a bare word is the key itself, not a reference
            else:
                key = self.expression()
            if not (self.accept("=") or self.accept(":")):
                raise self.error("expected '=' or ':' in an object")
            items.append((key, self.expression()))
            self.accept(",")
        return Object_(tuple(items))


def _traverse(node: Node, key: str | int) -> Node:
    """Fold static traversals into the reference (`aws_x.y` + `.arn`), so references stay whole."""
    if isinstance(node, Reference):
        text = f"{node.text}.{key}" if isinstance(key, str) else f"{node.text}[{key}]"
        return Reference((*node.parts, key), text)
    return Traverse(node, Literal(key))


# --- references in a tree --------------------------------------------------------------------


def references(node: Node) -> Iterator[Reference]:
    """Every reference in an expression tree, in source order."""
    if isinstance(node, Reference):
        yield node
    elif isinstance(node, Template):
        for part in node.parts:
            if not isinstance(part, str):
                yield from references(part)
    elif isinstance(node, Traverse):
        yield from references(node.target)
        yield from references(node.key)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from references(arg)
    elif isinstance(node, Tuple_):
        for item in node.items:
            yield from references(item)
    elif isinstance(node, Object_):
        for key, value in node.items:
            yield from references(key)
            yield from references(value)
    elif isinstance(node, Unary):
        yield from references(node.operand)
    elif isinstance(node, Binary):
        yield from references(node.left)
        yield from references(node.right)
    elif isinstance(node, Conditional):
        yield from references(node.condition)
        yield from references(node.then)
        yield from references(node.otherwise)


def calls(node: Node) -> Iterator[Call]:
    if isinstance(node, Call):
        yield node
    children: Sequence[Any] = ()
    if isinstance(node, Template):
        children = [p for p in node.parts if not isinstance(p, str)]
    elif isinstance(node, Traverse):
        children = (node.target, node.key)
    elif isinstance(node, Call):
        children = node.args
    elif isinstance(node, Tuple_):
        children = node.items
    elif isinstance(node, Object_):
        children = [x for pair in node.items for x in pair]
    elif isinstance(node, Unary):
        children = (node.operand,)
    elif isinstance(node, Binary):
        children = (node.left, node.right)
    elif isinstance(node, Conditional):
        children = (node.condition, node.then, node.otherwise)
    for child in children:
        yield from calls(child)


# --- evaluation ------------------------------------------------------------------------------

Resolve = Callable[[Reference], Any]


@dataclass(frozen=True)
class Context:
    """What evaluation needs from outside: references, and the folder relative paths start from
    (Terraform runs in the stack's folder, cdktf.out/stacks/<stack>)."""

    resolve: Resolve
    base_dir: Path


def evaluate(node: Node, ctx: Context) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Template):
        if len(node.parts) == 1 and not isinstance(node.parts[0], str):
            return evaluate(node.parts[0], ctx)  # "${x}" keeps x's type
        return "".join(p if isinstance(p, str) else to_text(evaluate(p, ctx)) for p in node.parts)
    if isinstance(node, Reference):
        return ctx.resolve(node)
    if isinstance(node, Traverse):
        return index(evaluate(node.target, ctx), evaluate(node.key, ctx))
    if isinstance(node, Tuple_):
        return [evaluate(item, ctx) for item in node.items]
    if isinstance(node, Object_):
        return {to_text(evaluate(k, ctx)): evaluate(v, ctx) for k, v in node.items}
    if isinstance(node, Call):
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise ExpressionError(f"function {node.name}() is not supported by the local cloud")
        args = [evaluate(a, ctx) for a in node.args]
        if node.expand_last:
            if not isinstance(args[-1], list):
                raise ExpressionError(f"{node.name}(...): the expanded argument is not a list")
            args = args[:-1] + args[-1]
        try:
            return function(ctx, *args)
        except ExpressionError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OSError) as exc:
            raise ExpressionError(f"{node.name}(): {exc}") from exc
    if isinstance(node, Unary):
        value = evaluate(node.operand, ctx)
        return (not _bool(value)) if node.op == "!" else -_number(value)
    if isinstance(node, Binary):
        return _binary(node, ctx)
    if isinstance(node, Conditional):
        return evaluate(node.then if _bool(evaluate(node.condition, ctx)) else node.otherwise, ctx)
    raise ExpressionError(f"cannot evaluate {node!r}")  # pragma: no cover


def index(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(key, int) and key == 0 and key not in value:
            return value  # a nested block written as an object is a list of one block in Terraform
        if key not in value:
            raise ExpressionError(f"no attribute or key {key!r} (has {', '.join(map(str, value)) or 'none'})")
        return value[key]
    if isinstance(value, list):
        if not isinstance(key, int) or isinstance(key, bool):
            if isinstance(key, str) and key.isdigit():
                key = int(key)
            elif len(value) == 1 and isinstance(value[0], dict):
                return index(value[0], key)  # a block list of one: block.attr
            else:
                raise ExpressionError(f"a list is indexed by number, not {key!r}")
        if not 0 <= key < len(value):
            raise ExpressionError(f"index {key} out of range for a list of {len(value)}")
        return value[key]
    raise ExpressionError(f"cannot take {key!r} of {type(value).__name__} {value!r}")


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if value is None:
        raise ExpressionError("a null value cannot be interpolated into a string")
    raise ExpressionError(f"a {type(value).__name__} cannot be interpolated into a string: {value!r}")


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ExpressionError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ExpressionError(f"{value!r} is not a number") from None
        return int(number) if number.is_integer() else number
    raise ExpressionError(f"{value!r} is not a number")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise ExpressionError(f"{value!r} is not a bool")


def _binary(node: Binary, ctx: Context) -> Any:
    op = node.op
    if op == "&&":
        return _bool(evaluate(node.left, ctx)) and _bool(evaluate(node.right, ctx))
    if op == "||":
        return _bool(evaluate(node.left, ctx)) or _bool(evaluate(node.right, ctx))
    left, right = evaluate(node.left, ctx), evaluate(node.right, ctx)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    a, b = _number(left), _number(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise ExpressionError("division by zero")
    if op == "/":
        quotient = a / b
        return int(quotient) if float(quotient).is_integer() else quotient
    return math.fmod(a, b)


# --- functions -------------------------------------------------------------------------------
# Terraform's built-in functions, as far as stacks use them. Each takes the evaluation context
# first (for file functions) and then Terraform's arguments.


def _path(ctx: Context, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else ctx.base_dir / candidate


def _jsonencode(ctx: Context, value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _format(ctx: Context, spec: str, *args: Any) -> str:
    values = iter(args)

    def one(match: re.Match[str]) -> str:
        verb = match.group(0)
        if verb == "%%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            raise ExpressionError(f"format: not enough arguments for {spec!r}") from None
        kind = verb[-1]
        if kind == "s":
            return to_text(value)
        if kind == "d":
            return str(int(_number(value)))
        if kind == "q":
            return json.dumps(to_text(value))
        if kind == "v":
            return to_text(value) if isinstance(value, (str, int, float, bool)) else _jsonencode(ctx, value)
        if kind == "f":
            return verb.replace("f", "f") % float(_number(value))
        raise ExpressionError(f"format: verb {verb} is not supported")

    return re.sub(r"%%|%[-+ #0]*[0-9]*(\.[0-9]+)?[sdqvf]", one, spec)


def _lookup(ctx: Context, mapping: dict[str, Any], key: str, *default: Any) -> Any:
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise ExpressionError(f"lookup: no key {key!r} and no default")


def _element(ctx: Context, items: list[Any], position: Any) -> Any:
    if not items:
        raise ExpressionError("element: empty list")
    return items[int(_number(position)) % len(items)]


def _replace(ctx: Context, text: str, search: str, replacement: str) -> str:
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        return re.sub(search[1:-1], re.sub(r"\$\{?(\d+)\}?", r"\\\1", replacement), text)
    return text.replace(search, replacement)


def _merge(ctx: Context, *maps: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for mapping in maps:
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise ExpressionError(f"merge: {mapping!r} is not a map")
        merged.update(mapping)
    return merged


def _coalesce(ctx: Context, *values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    raise ExpressionError("coalesce: no non-null, non-empty argument")


def _substr(ctx: Context, text: str, offset: Any, length: Any) -> str:
    start, count = int(_number(offset)), int(_number(length))
    if start < 0:
        start += len(text)
    return text[start:] if count < 0 else text[start : start + count]


def _flatten(ctx: Context, items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        flat.extend(_flatten(ctx, item) if isinstance(item, list) else [item])
    return flat


def _file_digest(algorithm: str, encode: Callable[[bytes], str]) -> Callable[[Context, str], str]:
    def digest(ctx: Context, path: str) -> str:
        return encode(hashlib.new(algorithm, _path(ctx, path).read_bytes()).digest())

    return digest


def _hex(data: bytes) -> str:
    return data.hex()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _text_digest(algorithm: str, encode: Callable[[bytes], str]) -> Callable[[Context, str], str]:
    def digest(ctx: Context, text: str) -> str:
        return encode(hashlib.new(algorithm, to_text(text).encode()).digest())

    return digest


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jsonencode": _jsonencode,
    "jsondecode": lambda ctx, text: json.loads(text),
    "join": lambda ctx, sep, *lists: sep.join(to_text(x) for items in lists for x in items),
    "split": lambda ctx, sep, text: to_text(text).split(sep),
    "concat": lambda ctx, *lists: [x for items in lists for x in items],
    "element": _element,
    "lookup": _lookup,
    "length": lambda ctx, value: len(value),
    "lower": lambda ctx, text: to_text(text).lower(),
    "upper": lambda ctx, text: to_text(text).upper(),
    "replace": _replace,
    "format": _format,
    "merge": _merge,
    "tostring": lambda ctx, value: None if value is None else to_text(value),
    "tonumber": lambda ctx, value: None if value is None else _number(value),
    "tolist": lambda ctx, value: list(value),
    "toset": lambda ctx, value: list(dict.fromkeys(value)),
    "tomap": lambda ctx, value: dict(value),
    "keys": lambda ctx, mapping: sorted(mapping),
    "values": lambda ctx, mapping: [mapping[k] for k in sorted(mapping)],
    "coalesce": _coalesce,
    "compact": lambda ctx, items: [x for x in items if x not in (None, "")],
    "distinct": lambda ctx, items: list(dict.fromkeys(items)),
    "flatten": _flatten,
    "contains": lambda ctx, items, value: value in items,
    "startswith": lambda ctx, text, prefix: to_text(text).startswith(prefix),
    "endswith": lambda ctx, text, suffix: to_text(text).endswith(suffix),
    "trimprefix": lambda ctx, text, prefix: to_text(text).removeprefix(prefix),
    "trimsuffix": lambda ctx, text, suffix: to_text(text).removesuffix(suffix),
    "trimspace": lambda ctx, text: to_text(text).strip(),
    "substr": _substr,
    "min": lambda ctx, *numbers: min(_number(n) for n in numbers),
    "max": lambda ctx, *numbers: max(_number(n) for n in numbers),
    "base64encode": lambda ctx, text: _b64(to_text(text).encode()),
    "base64decode": lambda ctx, text: base64.b64decode(text).decode(),
    "md5": _text_digest("md5", _hex),
    "sha1": _text_digest("sha1", _hex),
    "sha256": _text_digest("sha256", _hex),
    "base64sha256": _text_digest("sha256", _b64),
    "file": lambda ctx, path: _path(ctx, path).read_text(),
    "filebase64": lambda ctx, path: _b64(_path(ctx, path).read_bytes()),
    "filemd5": _file_digest("md5", _hex),
    "filesha1": _file_digest("sha1", _hex),
    "filesha256": _file_digest("sha256", _hex),
    "filebase64sha256": _file_digest("sha256", _b64),
    "fileexists": lambda ctx, path: _path(ctx, path).is_file(),
    "abspath": lambda ctx, path: str(_path(ctx, path).resolve()),
    "basename": lambda ctx, path: os.path.basename(path),
    "dirname": lambda ctx, path: os.path.dirname(path),
}
