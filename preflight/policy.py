"""IAM's condition operators as AWS evaluates them, for the ones the stacks' policies use.

Shared by the preflight (which evaluates bucket policies against the requests Terraform will make)
and the local cloud (which evaluates them for every request a function makes). Semantics from
"IAM JSON policy elements: Condition operators" (IAM User Guide):

- every operator of a Condition block must match, and every key within an operator (AND); any of
  an operator's values may match (OR);
- a key missing from the request: a positive operator (StringEquals, ArnLike, Bool) does not match;
  a negated one (StringNotEquals, ArnNotLike) matches; `...IfExists` makes any operator match;
- Null: "true" matches when the key is missing, "false" when it is present.

An operator or a key this module does not know raises `Unsupported`: a caller fails loudly rather
than guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Bool",
    "Null",
)
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


class Unsupported(ValueError):
    """A condition operator or key that is not evaluated here."""


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL
    )


def _matches(operator: str, actual: str, expected: str) -> bool:
    base = operator.removeprefix("String").removeprefix("Arn").replace("Not", "")
    if operator.startswith("Bool"):
        return actual.lower() == expected.lower()
    if base == "EqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if base == "Equals" and operator.startswith("String"):
        return actual == expected
    return bool(_glob(expected).fullmatch(actual))  # StringLike, ArnLike, ArnEquals (wildcards)


def condition_matches(
    condition: Mapping[str, Any], context: Mapping[str, str | None], known: frozenset[str]
) -> bool:
    """Whether a statement's Condition block matches a request whose condition keys are `context`
    (a key mapped to None is absent from the request). Keys outside `known` are unsupported."""
    for raw_operator, pairs in condition.items():
        operator = raw_operator.removesuffix("IfExists")
        if_exists = operator != raw_operator
        if operator not in OPERATORS or (if_exists and operator == "Null"):
            raise Unsupported(f"condition operator {raw_operator} is not evaluated")
        if not isinstance(pairs, Mapping):
            raise Unsupported(f"condition operator {raw_operator} needs an object of keys")
        for key, values in pairs.items():
            if key.lower() not in {k.lower() for k in known}:
                raise Unsupported(f"condition key {key} is not evaluated")
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            expected = [str(v) for v in (values if isinstance(values, list) else [values])]
            if operator == "Null":
                if (actual is None) != (expected[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if not (if_exists or operator in _NEGATED):
                    return False
                continue
            hit = any(_matches(operator, actual, e) for e in expected)
            if hit == (operator in _NEGATED):
                return False
    return True
