"""Workflow definitions: the DAG schema, its validation, and the resolution of a named definition.

The pydantic models are the API's request schemas too, so the OpenAPI document, request
validation and the tests all use these. Shape errors (wrong types, unknown fields) are pydantic's;
graph errors (duplicate id, unknown dependency or function, cycle, size, depth) are
`InvalidDefinition` with a reason that names the tasks involved. The same validator checks the
definition files (`workflows/*.yaml`) at synthesis, the catalog when a function starts, and every
inline definition of `POST /workflows`.

Named definitions are not built in: they come from the deployment's catalog (engine.catalog), one per
file of `workflows/`. A definition's version is a hash of its resolved tasks, so a changed file (or a
changed function timeout) is a new version; a workflow keeps a copy of the tasks it started with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.errors import InvalidDefinition

MAX_TASKS = 50
MAX_DEPTH = 20
# Lambda stops any function at 900 s; a task's own function timeout is the real bound (checked in
# `validate` against the catalog's functions: a longer attempt would be cut short by Lambda).
MAX_TIMEOUT_SECONDS = 900
TASK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
DEFAULT_DEFINITION = "orchestra"
INLINE = "inline"  # the definition name of a workflow started with an inline DAG
DEFINITION_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: Annotated[int, Field(ge=1, le=10, description="Attempts before the task fails.")] = 3
    backoff: Annotated[
        float, Field(ge=0, le=300, description="Seconds before the 2nd attempt; doubles after each failure.")
    ] = 1.0


class TaskDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=TASK_ID_PATTERN, description="Unique within the workflow.")]
    function: Annotated[
        str,
        Field(
            min_length=1, max_length=128, description="A task function id of the deployment (its catalog)."
        ),
    ]
    depends_on: Annotated[list[str], Field(max_length=MAX_TASKS)] = []
    retry: RetryPolicy = RetryPolicy()
    timeout_seconds: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_TIMEOUT_SECONDS,
            description="The attempt's deadline, at most the task function's own timeout "
            "(absent: the function's timeout).",
        ),
    ] = None
    input: dict[str, Any] = {}


class InlineDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: Annotated[list[TaskDefinition], Field(min_length=1)]


class NamedDefinition(BaseModel):
    """A definition of the deployment (a file of workflows/), as the catalog carries it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=DEFINITION_NAME_PATTERN)]
    description: str
    source: str = ""  # the file it came from (workflows/report.yaml)
    tasks: Annotated[list[TaskDefinition], Field(min_length=1)]


class Resolved(BaseModel):
    """A definition ready to run: its name, its version and its tasks with every timeout filled in."""

    name: str
    version: str
    tasks: list[TaskDefinition]


def version_of(tasks: Sequence[TaskDefinition]) -> str:
    """The version of a resolved definition: a hash of its tasks as the engine runs them."""
    canonical = json.dumps([t.model_dump(mode="json") for t in tasks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def resolve_tasks(name: str, tasks: Sequence[TaskDefinition], known_functions: Mapping[str, int]) -> Resolved:
    """Validate `tasks` and fill in their timeouts. `known_functions`: task function id -> its
    configured timeout (s)."""
    validate(tasks, known_functions)
    filled = _with_timeouts(tasks, known_functions)
    return Resolved(name=name, version=version_of(filled), tasks=filled)


def resolve(
    definition: str | InlineDefinition | None,
    known_functions: Mapping[str, int],
    named: Mapping[str, NamedDefinition],
) -> Resolved:
    """A request's definition resolved: a name of `named` (the deployment's definitions; absent, the
    default) or an inline DAG ("inline")."""
    if definition is None:
        definition = DEFAULT_DEFINITION
    if isinstance(definition, str):
        found = named.get(definition)
        if found is None:
            raise InvalidDefinition(
                f"unknown definition {definition!r} (known: {', '.join(sorted(named)) or 'none'})",
                [{"field": "definition", "message": "not a known definition name"}],
            )
        return resolve_tasks(found.name, found.tasks, known_functions)
    return resolve_tasks(INLINE, definition.tasks, known_functions)


def _with_timeouts(tasks: Sequence[TaskDefinition], functions: Mapping[str, int]) -> list[TaskDefinition]:
    return [
        t
        if t.timeout_seconds is not None
        else t.model_copy(update={"timeout_seconds": functions[t.function]})
        for t in tasks
    ]


def validate(tasks: Sequence[TaskDefinition], known_functions: Mapping[str, int]) -> None:
    """Raise InvalidDefinition with the first reason this list of tasks is not a runnable DAG."""
    where = "definition.tasks"
    if len(tasks) > MAX_TASKS:
        raise InvalidDefinition(
            f"too many tasks: {len(tasks)} (at most {MAX_TASKS})",
            [{"field": where, "message": f"at most {MAX_TASKS} tasks"}],
        )
    index: dict[str, int] = {}
    for i, task in enumerate(tasks):
        if task.id in index:
            raise InvalidDefinition(
                f"duplicate task id {task.id!r} (tasks {index[task.id]} and {i})",
                [{"field": f"{where}[{i}].id", "message": "duplicate task id"}],
            )
        index[task.id] = i
    functions = dict(known_functions)
    for i, task in enumerate(tasks):
        if task.function not in functions:
            raise InvalidDefinition(
                f"task {task.id!r} uses unknown function {task.function!r}"
                f" (known: {', '.join(sorted(functions))})",
                [{"field": f"{where}[{i}].function", "message": "unknown function"}],
            )
        limit = functions[task.function]
        if task.timeout_seconds is not None and task.timeout_seconds > limit:
            raise InvalidDefinition(
                f"task {task.id!r}: timeout_seconds {task.timeout_seconds} is longer than the timeout of "
                f"its function {task.function!r} ({limit} s): Lambda would stop the attempt first",
                [
                    {
                        "field": f"{where}[{i}].timeout_seconds",
                        "message": f"at most {limit} (the function's timeout)",
                    }
                ],
            )
        seen: set[str] = set()
        for j, dep in enumerate(task.depends_on):
            field = f"{where}[{i}].depends_on[{j}]"
            if dep not in index:
                raise InvalidDefinition(
                    f"task {task.id!r} depends on unknown task {dep!r}",
                    [{"field": field, "message": "unknown task"}],
                )
            if dep == task.id:
                raise InvalidDefinition(
                    f"task {task.id!r} depends on itself (cycle: {dep} -> {dep})",
                    [{"field": field, "message": "self dependency"}],
                )
            if dep in seen:
                raise InvalidDefinition(
                    f"task {task.id!r} lists dependency {dep!r} twice",
                    [{"field": field, "message": "duplicate dependency"}],
                )
            seen.add(dep)
    cycle = find_cycle({t.id: t.depends_on for t in tasks})
    if cycle:
        first = index[cycle[0]]
        raise InvalidDefinition(
            f"cycle: {' -> '.join(cycle)}",
            [{"field": f"{where}[{first}].depends_on", "message": "part of a cycle"}],
        )
    depth = max_depth({t.id: t.depends_on for t in tasks})
    if depth > MAX_DEPTH:
        raise InvalidDefinition(
            f"too deep: the longest dependency chain has {depth} tasks (at most {MAX_DEPTH})",
            [{"field": where, "message": f"depth at most {MAX_DEPTH}"}],
        )


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as a path that starts and ends on the same task (following depends_on), or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for root in graph:
        if colour[root] != white:
            continue
        path: list[str] = [root]
        stack = [iter(graph[root])]
        colour[root] = grey
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                stack.pop()
            elif colour[nxt] == grey:
                return [*path[path.index(nxt) :], nxt]
            elif colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None


def max_depth(graph: dict[str, list[str]]) -> int:
    """Number of tasks on the longest dependency chain of an acyclic graph."""
    memo: dict[str, int] = {}
    for node in topological_order(graph):
        memo[node] = 1 + max((memo[d] for d in graph[node]), default=0)
    return max(memo.values(), default=0)


def topological_order(graph: dict[str, list[str]]) -> list[str]:
    """Dependencies before dependents; ties keep the definition's order."""
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(graph)
    while remaining:
        progress = [n for n in remaining if all(d in placed for d in graph[n])]
        if not progress:
            raise InvalidDefinition("cycle")  # callers check find_cycle first
        for n in progress:
            placed.add(n)
            order.append(n)
        remaining = [n for n in remaining if n not in placed]
    return order
