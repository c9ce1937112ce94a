"""The JSON shapes the REST API and the WebSocket broadcasts send (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config import TaskFunction
from engine.flow import Dag
from engine.model import AttemptResult, TaskStatus, WorkflowState, WorkflowSummary
from engine.service import iso, parse_iso, task_counts
from engine.store import Snapshot


def _duration_ms(started: str | None, finished: str | None) -> int | None:
    start, end = parse_iso(started), parse_iso(finished)
    if start is None or end is None:
        return None
    return round((end - start) * 1000)


def workflow_summary(wf: WorkflowState | WorkflowSummary) -> dict[str, Any]:
    statuses = tuple(t.status for t in wf.tasks) if isinstance(wf, WorkflowState) else wf.task_statuses
    return {
        "workflow_id": wf.workflow_id,
        "definition_name": wf.definition_name,
        "status": wf.status,
        "created_at": wf.created_at,
        "started_at": wf.started_at,
        "finished_at": wf.finished_at,
        "duration_ms": _duration_ms(wf.started_at, wf.finished_at),
        "task_counts": task_counts(statuses),
        "version": wf.version,
    }


def _attempt_view(result: AttemptResult) -> dict[str, Any]:
    return {
        "attempt": result.attempt,
        "status": result.status,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "error": result.error,
    }


def task_views(snapshot: Snapshot, functions: Mapping[str, TaskFunction]) -> list[dict[str, Any]]:
    assert snapshot.state is not None and snapshot.definition is not None
    dag = Dag.from_definition(snapshot.definition.definition)
    views = []
    for i, task in enumerate(snapshot.state.tasks):
        task_id = dag.ids[i]
        results = sorted(
            (r for (t, _), r in snapshot.results.items() if t == task_id), key=lambda r: r.attempt
        )
        attempts = [_attempt_view(r) for r in results]
        current = next((r for r in results if r.attempt == task.attempt), None)
        started_at = finished_at = None
        if task.status == TaskStatus.RUNNING:
            started_at = iso(task.started / 1000) if task.started else None
            attempts.append(
                {
                    "attempt": task.attempt,
                    "status": TaskStatus.RUNNING,
                    "started_at": started_at,
                    "finished_at": None,
                    "error": None,
                }
            )
        elif current is not None and task.status in (
            TaskStatus.SUCCEEDED,
            TaskStatus.FAILED,
            TaskStatus.CANCELLED,
        ):
            started_at, finished_at = current.started_at, current.finished_at
        latest = results[-1] if results else None
        error = (
            latest.error
            if latest
            and latest.status == TaskStatus.FAILED
            and task.status
            in (
                TaskStatus.READY,
                TaskStatus.FAILED,
            )
            else None
        )
        succeeded = current if task.status == TaskStatus.SUCCEEDED else None
        fn = functions.get(dag.functions[i])
        views.append(
            {
                "task_id": task_id,
                "function": dag.functions[i],
                "type": fn.type if fn else None,
                "depends_on": [dag.ids[d] for d in dag.deps[i]],
                "status": task.status,
                "attempt": task.attempt,
                "max_attempts": dag.budget(i, task),
                "input": dag.inputs[i],
                "output": succeeded.output if succeeded else None,
                "output_ref": succeeded.output_ref if succeeded else None,
                "error": error,
                "started_at": started_at,
                "finished_at": finished_at,
                "duration_ms": _duration_ms(started_at, finished_at),
                "attempts": attempts,
            }
        )
    return views


def workflow_view(snapshot: Snapshot, functions: Mapping[str, TaskFunction]) -> dict[str, Any]:
    assert snapshot.state is not None and snapshot.definition is not None
    return {
        **workflow_summary(snapshot.state),
        "definition_version": snapshot.definition.definition_version,
        "input": snapshot.definition.input,
        "tasks": task_views(snapshot, functions),
    }


def workflow_update(state: WorkflowState, dag: Dag, functions: Mapping[str, TaskFunction]) -> dict[str, Any]:
    """The WebSocket message for one state image (the original design's format, plus version)."""
    tasks = []
    for i, task in enumerate(state.tasks):
        fn = functions.get(dag.functions[i])
        tasks.append({"taskId": dag.ids[i], "status": task.status, "type": fn.type if fn else None})
    return {
        "type": "workflow_update",
        "workflow_id": state.workflow_id,
        "data": {
            "workflow_id": state.workflow_id,
            "status": state.status,
            "version": state.version,
            "tasks": tasks,
        },
    }
