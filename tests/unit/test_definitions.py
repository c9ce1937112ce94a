"""DAG validation in isolation (the API tests cover the same through POST /workflows)."""

from __future__ import annotations

import pytest
from engine import definitions
from engine.definitions import InlineDefinition, NamedDefinition, TaskDefinition
from engine.errors import InvalidDefinition

from workflows.definitions import WORKFLOWS_DIR, load_file

FUNCTIONS = {"task-a": 60, "task-b1": 60}
REFERENCE = {f"task-{x}": 60 for x in ("a", "b1", "b2", "b3", "c")}
NAMED = {"orchestra": load_file(WORKFLOWS_DIR / "orchestra.yaml", REFERENCE).named()}


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
        tasks = NAMED["orchestra"].tasks
        definitions.validate(tasks, REFERENCE)
        assert definitions.max_depth({t.id: t.depends_on for t in tasks}) == 3


class TestResolve:
    def test_default_is_the_reference_definition(self) -> None:
        resolved = definitions.resolve(None, REFERENCE, NAMED)
        assert resolved.name == "orchestra"
        assert [t.id for t in resolved.tasks] == ["A", "B1", "B2", "B3", "C"]
        assert {t.timeout_seconds for t in resolved.tasks} == {60}, "absent: the function's own timeout"

    def test_the_reference_definition_needs_its_functions_configured(self) -> None:
        with pytest.raises(InvalidDefinition, match="unknown function 'task-b2'"):
            definitions.resolve(
                "orchestra", {"task-a": 60, "task-b1": 60, "task-b3": 60, "task-c": 60}, NAMED
            )

    def test_an_unknown_name_lists_the_deployments_definitions(self) -> None:
        with pytest.raises(InvalidDefinition, match=r"unknown definition 'report' \(known: orchestra\)"):
            definitions.resolve("report", REFERENCE, NAMED)

    def test_inline_definitions_are_named_inline(self) -> None:
        resolved = definitions.resolve(InlineDefinition(tasks=dag(("only", []))), FUNCTIONS, NAMED)
        assert resolved.name == "inline"


class TestVersions:
    """A definition's version is what runs: its tasks with the timeouts filled in."""

    def test_the_same_tasks_are_the_same_version(self) -> None:
        a = definitions.resolve_tasks("x", dag(("a", [])), FUNCTIONS)
        b = definitions.resolve_tasks("y", dag(("a", [])), FUNCTIONS)
        assert a.version == b.version and len(a.version) == 12

    def test_a_changed_task_or_a_changed_function_timeout_is_a_new_version(self) -> None:
        base = definitions.resolve_tasks("x", dag(("a", [])), FUNCTIONS).version
        assert definitions.resolve_tasks("x", dag(("b", [])), FUNCTIONS).version != base
        assert definitions.resolve_tasks("x", dag(("a", [])), {**FUNCTIONS, "task-a": 30}).version != base

    def test_an_explicit_timeout_equal_to_the_default_is_the_same_version(self) -> None:
        implicit = definitions.resolve_tasks("x", dag(("a", [])), FUNCTIONS).version
        explicit = [TaskDefinition(id="a", function="task-a", timeout_seconds=60)]
        assert definitions.resolve_tasks("x", explicit, FUNCTIONS).version == implicit

    def test_named_definitions_refuse_unknown_keys(self) -> None:
        with pytest.raises(ValueError, match="extra"):
            NamedDefinition.model_validate({"name": "x", "description": "", "tasks": [], "owner": "me"})

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
