"""The preflight: what AWS would refuse in a synthesized stack, or what would break on AWS, found
before any apply. `python -m preflight [DIR ...]` (the `preflight` nox session) checks stacks; the
local cloud runs the same rules at start-up and refuses what AWS would refuse."""

from preflight.rules import RULES, Rule, Violation, check
from preflight.stack import Stack, StackError

__all__ = ["RULES", "Rule", "Stack", "StackError", "Violation", "check"]
