"""Lambda event filtering: the filter patterns of an event-source mapping's `filter_criteria`.

A pattern is a JSON object whose keys follow the record's structure and whose leaves are arrays of
conditions; a record passes when every key matches (AND), a leaf matches when any condition does
(OR), and a record passes the criteria when any of its filters matches. Conditions, as Lambda
documents them: literal values (string, number, null; "" for empty), `prefix`, `suffix`,
`equals-ignore-case`, `anything-but` (a value, a list, or a prefix/suffix), `numeric`
(`=`, `<`, `<=`, `>`, `>=`, pairs for ranges), `exists`, and `$or` between objects. A pattern
that uses anything else is rejected when the mapping is built, naming the path in the pattern.

For SQS the `body` is matched as JSON when it is a JSON object, as text otherwise (as Lambda does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class FilterError(ValueError):
    """A filter pattern Lambda would reject (or the local cloud does not know)."""


_NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
_ANYTHING = object()


@dataclass(frozen=True)
class Condition:
    kind: str  # literal, prefix, suffix, equals-ignore-case, anything-but, numeric, exists
    value: Any


@dataclass(frozen=True)
class Pattern:
    fields: tuple[tuple[str, Pattern | tuple[Condition, ...]], ...]
    alternatives: tuple[Pattern, ...] = ()  # $or


def compile_pattern(text: str) -> Pattern:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FilterError(f"filter pattern is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(document, dict) or not document:
        raise FilterError("a filter pattern must be a non-empty JSON object")
    return _object(document, "")


def _object(document: dict[str, Any], where: str) -> Pattern:
    fields: list[tuple[str, Pattern | tuple[Condition, ...]]] = []
    alternatives: list[Pattern] = []
    for key, value in document.items():
        path = f"{where}.{key}" if where else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
                raise FilterError(f"{path}: $or takes a list of at least two objects")
            alternatives.extend(_object(v, path) for v in value)
        elif isinstance(value, dict):
            fields.append((key, _object(value, path)))
        elif isinstance(value, list):
            if not value:
                raise FilterError(f"{path}: an empty list matches nothing")
            fields.append((key, tuple(_condition(v, path) for v in value)))
        else:
            raise FilterError(f"{path}: a leaf must be a list of conditions, not {json.dumps(value)}")
    return Pattern(tuple(fields), tuple(alternatives))


def _condition(value: Any, where: str) -> Condition:
    if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
        return Condition("literal", value)
    if not isinstance(value, dict) or len(value) != 1:
        raise FilterError(f"{where}: {json.dumps(value)} is not a value or a one-operator object")
    ((operator, operand),) = value.items()
    if operator in ("prefix", "suffix"):
        if isinstance(operand, dict) and set(operand) == {"equals-ignore-case"}:
            operand = operand["equals-ignore-case"]
            operator = f"{operator}-ignore-case"
        if not isinstance(operand, str):
            raise FilterError(f"{where}: {operator} takes a string")
        return Condition(operator, operand)
    if operator == "equals-ignore-case":
        if not isinstance(operand, str):
            raise FilterError(f"{where}: equals-ignore-case takes a string")
        return Condition(operator, operand.lower())
    if operator == "exists":
        if not isinstance(operand, bool):
            raise FilterError(f"{where}: exists takes true or false")
        return Condition(operator, operand)
    if operator == "anything-but":
        if isinstance(operand, dict):
            inner = _condition(operand, where)
            if inner.kind not in ("prefix", "suffix", "equals-ignore-case"):
                raise FilterError(
                    f"{where}: anything-but takes values, a prefix, a suffix or equals-ignore-case"
                )
            return Condition(operator, inner)
        values = operand if isinstance(operand, list) else [operand]
        if not values or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values
        ):
            raise FilterError(f"{where}: anything-but takes strings or numbers")
        return Condition(operator, tuple(values))
    if operator == "numeric":
        return Condition(operator, _numeric(operand, where))
    raise FilterError(f"{where}: the operator {operator!r} is not supported in Lambda filter patterns")


def _numeric(operand: Any, where: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise FilterError(f"{where}: numeric takes [op, number] or [op, number, op, number]")
    pairs = []
    for i in range(0, len(operand), 2):
        op, number = operand[i], operand[i + 1]
        if op not in _NUMERIC_OPERATORS or isinstance(number, bool) or not isinstance(number, (int, float)):
            raise FilterError(f"{where}: numeric: {json.dumps(operand)} is not a comparison")
        pairs.append((op, float(number)))
    if len(pairs) == 2 and not (pairs[0][0] in (">", ">=") and pairs[1][0] in ("<", "<=")):
        raise FilterError(f"{where}: a numeric range is a lower bound (> or >=) then an upper bound")
    return tuple(pairs)


# --- matching --------------------------------------------------------------------------------


def matches(pattern: Pattern, record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    for key, sub in pattern.fields:
        present = key in record
        value = record.get(key, _ANYTHING)
        if isinstance(sub, Pattern):
            candidates = value if isinstance(value, list) else [value]
            if not any(matches(sub, c) for c in candidates if c is not _ANYTHING):
                return False
        elif not _leaf(sub, value, present):
            return False
    return not pattern.alternatives or any(matches(alt, record) for alt in pattern.alternatives)


def _leaf(conditions: Sequence[Condition], value: Any, present: bool) -> bool:
    for condition in conditions:
        if condition.kind == "exists":
            if condition.value == (present and value is not None):
                return True
            continue
        if not present:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_one(condition, v) for v in values):
            return True
    return False


def _one(condition: Condition, value: Any) -> bool:
    kind, operand = condition.kind, condition.value
    if kind == "literal":
        if operand is None or value is None:
            return operand is None and value is None
        if (
            isinstance(operand, (int, float))
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            return float(operand) == float(value)
        return bool(operand == value)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return False
    if kind == "numeric":
        if isinstance(value, str):
            return False
        number = float(value)
        return all(_compare(op, number, bound) for op, bound in operand)
    text = value if isinstance(value, str) else None
    if kind == "anything-but":
        if isinstance(operand, Condition):
            return text is not None and not _one(operand, text)
        return not any(_one(Condition("literal", o), value) for o in operand)
    if text is None:
        return False
    if kind == "prefix":
        return text.startswith(operand)
    if kind == "suffix":
        return text.endswith(operand)
    if kind == "prefix-ignore-case":
        return text.lower().startswith(operand.lower())
    if kind == "suffix-ignore-case":
        return text.lower().endswith(operand.lower())
    if kind == "equals-ignore-case":
        return bool(text.lower() == operand)
    return False  # pragma: no cover - compile_pattern admits no other kind


def _compare(op: str, number: float, bound: float) -> bool:
    return {
        "=": number == bound,
        "<": number < bound,
        "<=": number <= bound,
        ">": number > bound,
        ">=": number >= bound,
    }[op]


class Criteria:
    """A mapping's filter criteria: a record passes when any filter matches (no filters: all pass)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = [compile_pattern(p) for p in patterns]

    @classmethod
    def from_config(cls, filter_criteria: Any, where: str) -> Criteria:
        block = (
            filter_criteria[0] if isinstance(filter_criteria, list) and filter_criteria else filter_criteria
        )
        filters = (block or {}).get("filter") or []
        if isinstance(filters, dict):
            filters = [filters]
        texts = []
        for i, item in enumerate(filters):
            text = item.get("pattern")
            if not isinstance(text, str):
                raise FilterError(f"{where}: filter_criteria.filter[{i}] has no pattern")
            texts.append(text)
        if len(texts) > 10:
            raise FilterError(f"{where}: at most 10 filters per mapping (found {len(texts)})")
        try:
            return cls(texts)
        except FilterError as exc:
            raise FilterError(f"{where}: filter_criteria.filter: {exc}") from exc

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def accepts(self, record: dict[str, Any]) -> bool:
        return not self.patterns or any(matches(p, record) for p in self.patterns)

    def accepts_sqs(self, record: dict[str, Any]) -> bool:
        if not self.patterns:
            return True
        view = dict(record)
        try:
            body = json.loads(record.get("body") or "")
        except ValueError:
            body = None
        if isinstance(body, dict):
            view["body"] = body
        return self.accepts(view)
