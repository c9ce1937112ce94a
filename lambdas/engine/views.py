"""The JSON shapes the REST API and the WebSocket broadcasts send (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config import TaskFunction
from engine.model import Task, Workflow, WorkflowSummary
from engine.service import parse_iso, task_counts


def _duration_ms(started: str | None, finished: str | None) -> int | None:
    start, end = parse_iso(started), parse_iso(finished)
    if start is None or end is None:
        return None
    return round((end - start) * 1000)


def _order(wf: Workflow) -> list[str]:
    return [t["id"] for t in wf.task_definitions()]


def workflow_summary(wf: Workflow | WorkflowSummary) -> dict[str, Any]:
    return {
        "workflow_id": wf.workflow_id,
        "definition_name": wf.definition_name,
        "status": wf.status,
        "created_at": wf.created_at,
        "started_at": wf.started_at,
        "finished_at": wf.finished_at,
        "duration_ms": _duration_ms(wf.started_at, wf.finished_at),
        "task_counts": task_counts(wf.tasks),
        "version": wf.version,
    }


def task_view(task: Task, functions: Mapping[str, TaskFunction]) -> dict[str, Any]:
    fn = functions.get(task.function)
    return {
        "task_id": task.task_id,
        "function": task.function,
        "type": fn.type if fn else None,
        "depends_on": list(task.depends_on),
        "status": task.status,
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "input": task.input,
        "output": task.output,
        "output_ref": task.output_ref,
        "error": task.error,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "duration_ms": _duration_ms(task.started_at, task.finished_at),
        "attempts": [
            {
                "attempt": a.attempt,
                "status": a.status,
                "started_at": a.started_at,
                "finished_at": a.finished_at,
                "error": a.error,
            }
            for a in task.attempts
        ],
    }


def workflow_view(
    wf: Workflow, tasks: Mapping[str, Task], functions: Mapping[str, TaskFunction]
) -> dict[str, Any]:
    return {
        **workflow_summary(wf),
        "input": wf.input,
        "tasks": [task_view(tasks[tid], functions) for tid in _order(wf) if tid in tasks],
    }


def workflow_update(wf: Workflow, functions: Mapping[str, TaskFunction]) -> dict[str, Any]:
    """The WebSocket message for one workflow image (the original design's format, plus version)."""
    functions_of = {t["id"]: t["function"] for t in wf.task_definitions()}
    tasks = []
    for tid in _order(wf):
        fn = functions.get(functions_of[tid])
        tasks.append({"taskId": tid, "status": wf.tasks[tid].status, "type": fn.type if fn else None})
    return {
        "type": "workflow_update",
        "workflow_id": wf.workflow_id,
        "data": {"workflow_id": wf.workflow_id, "status": wf.status, "version": wf.version, "tasks": tasks},
    }
