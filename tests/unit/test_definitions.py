"""DAG validation in isolation (the API tests cover the same through POST /workflows)."""

from __future__ import annotations

import pytest
from engine import definitions
from engine.definitions import InlineDefinition, TaskDefinition
from engine.errors import InvalidDefinition

FUNCTIONS = {"task-a": 60, "task-b1": 60}
REFERENCE = {f"task-{x}": 60 for x in ("a", "b1", "b2", "b3", "c")}


def dag(*specs: tuple[str, list[str]]) -> list[TaskDefinition]:
    return [TaskDefinition(id=i, function="task-a", depends_on=d) for i, d in specs]


class TestCycleDetection:
    def test_names_the_cycle_in_dependency_order(self) -> None:
        graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": []}
        assert definitions.find_cycle(graph) == ["a", "b", "c", "a"]

    def test_no_cycle_in_a_diamond(self) -> None:
        assert definitions.find_cycle({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}) is None

    def test_a_cycle_beside_a_valid_branch_is_found(self) -> None:
        with pytest.raises(InvalidDefinition, match=r"cycle: y -> z -> y"):
            definitions.validate(dag(("x", []), ("y", ["z"]), ("z", ["y", "x"])), FUNCTIONS)


class TestDepth:
    def test_depth_counts_tasks_on_the_longest_chain(self) -> None:
        assert definitions.max_depth({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}) == 3

    def test_the_reference_workflow_is_valid_and_three_deep(self) -> None:
        tasks = definitions.BUILT_IN["orchestra"].tasks
        definitions.validate(tasks, REFERENCE)
        assert definitions.max_depth({t.id: t.depends_on for t in tasks}) == 3


class TestResolve:
    def test_default_is_the_reference_definition(self) -> None:
        name, tasks = definitions.resolve(None, REFERENCE)
        assert name == "orchestra"
        assert [t.id for t in tasks] == ["A", "B1", "B2", "B3", "C"]
        assert {t.timeout_seconds for t in tasks} == {60}, "absent: the function's own timeout"

    def test_the_reference_definition_needs_its_functions_configured(self) -> None:
        with pytest.raises(InvalidDefinition, match="unknown function 'task-b2'"):
            definitions.resolve("orchestra", {"task-a": 60, "task-b1": 60, "task-b3": 60, "task-c": 60})

    def test_inline_definitions_are_named_inline(self) -> None:
        name, _ = definitions.resolve(InlineDefinition(tasks=dag(("only", []))), FUNCTIONS)
        assert name == "inline"

    def test_duplicate_dependency_is_rejected(self) -> None:
        with pytest.raises(InvalidDefinition, match="lists dependency 'a' twice"):
            definitions.validate(dag(("a", []), ("b", ["a", "a"])), FUNCTIONS)


class TestTimeouts:
    def test_a_timeout_longer_than_the_functions_own_is_refused_naming_the_field(self) -> None:
        tasks = [
            TaskDefinition(id="a", function="task-a"),
            TaskDefinition(id="b", function="task-b1", timeout_seconds=61),
        ]
        with pytest.raises(
            InvalidDefinition, match="longer than the timeout of its function 'task-b1' \\(60 s\\)"
        ) as raised:
            definitions.validate(tasks, FUNCTIONS)
        assert raised.value.details == [
            {"field": "definition.tasks[1].timeout_seconds", "message": "at most 60 (the function's timeout)"}
        ]

    def test_the_functions_timeout_itself_is_allowed(self) -> None:
        definitions.validate([TaskDefinition(id="a", function="task-a", timeout_seconds=60)], FUNCTIONS)
