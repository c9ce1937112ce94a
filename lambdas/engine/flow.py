"""Pure decisions of the engine's flow, derived from a workflow image (no I/O here).

`plan()` is what the orchestrator does with one image; `dispatches()` says which tasks an image made
READY. Both read state, never counts or deltas, so a duplicated, replayed or reordered image leads
to the same decisions, and the conditional writes that carry them out make the stale ones lose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.model import (
    TASK_BLOCKING,
    TASK_TERMINAL,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)


@dataclass
class Plan:
    """What one image calls for: tasks to make READY or SKIPPED, and maybe a workflow transition."""

    workflow_transition: str | None = None
    ready: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    # Unchanged tasks the decisions rest on (task id -> summary version in the image).
    relied_on: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.workflow_transition is None and not self.ready and not self.skip


def plan(wf: Workflow) -> Plan:
    result = Plan()
    deps = {t["id"]: list(t.get("depends_on", [])) for t in wf.task_definitions()}
    if wf.status == WorkflowStatus.PENDING:
        result.workflow_transition = "start"
        result.ready = [
            tid for tid, d in deps.items() if not d and wf.tasks[tid].status == TaskStatus.PENDING
        ]
        return result
    if wf.status != WorkflowStatus.RUNNING:
        return result

    status = {tid: s.status for tid, s in wf.tasks.items()}
    # Skips cascade (a skipped task blocks its own dependents), so iterate to a fixed point and write
    # the whole cascade in one transaction. READY does not cascade: a READY task has not succeeded.
    changed = True
    while changed:
        changed = False
        for tid, dependencies in deps.items():
            if status[tid] != TaskStatus.PENDING:
                continue
            blocking = [d for d in dependencies if status[d] in TASK_BLOCKING]
            if blocking:
                status[tid] = TaskStatus.SKIPPED
                result.skip.append(tid)
                changed = True
            elif all(status[d] == TaskStatus.SUCCEEDED for d in dependencies):
                status[tid] = TaskStatus.READY
                result.ready.append(tid)
                changed = True
    changing = set(result.ready) | set(result.skip)
    for tid in changing:
        for d in deps[tid]:
            if d not in changing:
                result.relied_on[d] = wf.tasks[d].version
    if all(s in TASK_TERMINAL for s in status.values()):
        succeeded = all(s == TaskStatus.SUCCEEDED for s in status.values())
        result.workflow_transition = "succeed" if succeeded else "fail"
    return result


@dataclass(frozen=True)
class Dispatch:
    workflow_id: str
    task_id: str
    attempt: int
    not_before: float | None = None


def dispatches(old: Workflow | None, new: Workflow) -> list[Dispatch]:
    """Tasks READY in `new` that were not READY with the same attempt in `old`."""
    if new.status != WorkflowStatus.RUNNING:
        return []
    result = []
    for tid, summary in new.tasks.items():
        if summary.status != TaskStatus.READY:
            continue
        before = old.tasks.get(tid) if old else None
        if before and before.status == TaskStatus.READY and before.attempt == summary.attempt:
            continue
        result.append(Dispatch(new.workflow_id, tid, summary.attempt, summary.not_before))
    return result
