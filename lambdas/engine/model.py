"""Statuses, the one transition table, and the records the engine keeps in DynamoDB.

Every state change in the engine is one of the named transitions below (as Prefect's orchestration
rules declare FROM_STATES / TO_STATES). `check()` answers with a rejection reason instead of
raising, so callers decide whether a rejected transition is a conflict (the API), or simply a
decision someone else already took (the orchestrator, the worker).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class WorkflowStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class TaskStatus(enum.StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


WORKFLOW_FINISHED = frozenset({WorkflowStatus.SUCCESS, WorkflowStatus.FAILED, WorkflowStatus.CANCELLED})
TASK_TERMINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED})
TASK_UNFINISHED = frozenset({TaskStatus.PENDING, TaskStatus.READY, TaskStatus.RUNNING})
# A dependency in one of these states can never succeed (until a retry): its dependents are skipped.
TASK_BLOCKING = frozenset({TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED})
# Tasks a workflow retry runs again.
TASK_RETRYABLE = frozenset({TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED})


class Entity(enum.StrEnum):
    WORKFLOW = "workflow"
    TASK = "task"


@dataclass(frozen=True)
class Transition:
    """One allowed state change: its name, the states it leaves from, the state it reaches."""

    entity: Entity
    name: str
    from_states: frozenset[str]
    to_state: str


def _t(entity: Entity, name: str, from_states: set[str], to_state: str) -> Transition:
    return Transition(entity, name, frozenset(from_states), to_state)


W, T = WorkflowStatus, TaskStatus

# The one transition table. Nothing writes a status without naming one of these.
TRANSITIONS: dict[tuple[Entity, str], Transition] = {
    (t.entity, t.name): t
    for t in (
        # Workflows
        # Decisions (start, succeed, fail, ready, skip) are taken by flow.decide, in the write of whoever
        # committed the change they follow from (writer dispatch), or by the orchestrator (stream dispatch).
        _t(Entity.WORKFLOW, "start", {W.PENDING}, W.RUNNING),  # API (writer) or orchestrator (stream)
        _t(Entity.WORKFLOW, "succeed", {W.RUNNING}, W.SUCCESS),  # decision: every task SUCCEEDED
        _t(Entity.WORKFLOW, "fail", {W.RUNNING}, W.FAILED),  # decision: all terminal, one not SUCCEEDED
        _t(Entity.WORKFLOW, "cancel", {W.PENDING, W.RUNNING}, W.CANCELLED),  # API
        _t(Entity.WORKFLOW, "retry", {W.FAILED, W.CANCELLED}, W.RUNNING),  # API
        # Tasks
        _t(Entity.TASK, "ready", {T.PENDING}, T.READY),  # decision: dependencies all SUCCEEDED
        _t(Entity.TASK, "skip", {T.PENDING}, T.SKIPPED),  # decision: a dependency cannot succeed
        _t(Entity.TASK, "claim", {T.READY}, T.RUNNING),  # worker: exactly one claims an attempt
        _t(Entity.TASK, "succeed", {T.RUNNING}, T.SUCCEEDED),  # worker (or the sweep, from its result)
        _t(Entity.TASK, "reschedule", {T.RUNNING}, T.READY),  # worker or sweep: failed, attempts remain
        _t(Entity.TASK, "fail", {T.RUNNING}, T.FAILED),  # worker or sweep: failed, no attempt left
        _t(Entity.TASK, "cancel", {T.PENDING, T.READY, T.RUNNING}, T.CANCELLED),  # API
        _t(Entity.TASK, "reset", {T.FAILED, T.SKIPPED, T.CANCELLED}, T.PENDING),  # API: workflow retry
    )
}


def transition(entity: Entity, name: str) -> Transition:
    return TRANSITIONS[(entity, name)]


def check(entity: Entity, name: str, current: str) -> str | None:
    """None when `name` may leave `current`; otherwise the reason it may not."""
    rule = transition(entity, name)
    if current in rule.from_states:
        return None
    allowed = ", ".join(sorted(rule.from_states))
    return f"cannot {name} a {entity} that is {current} (only from {allowed})"


# ---------------------------------------------------------------------------------------------
# Records. Field names are the DynamoDB attribute names (docs/architecture.md, "The workflows table").
#
# Per workflow: one small mutable state item (WorkflowState: status, version, one TaskState per task),
# an immutable definition + input item, and one immutable item per attempt result (AttemptResult).


@dataclass(frozen=True)
class TaskState:
    """One task's entry in the state item's `tasks` list (position = the task's place in the definition).

    Kept small on purpose: every transition rewrites the state item and DynamoDB bills the whole item.
    `due` (epoch s) is the dispatch deadline of a READY task (not claimed by then: dispatched again)
    and the lease of a RUNNING one; `started` (epoch ms) is a RUNNING attempt's claim time; `max_attempts`
    overrides the definition's budget after a workflow retry."""

    status: str
    attempt: int = 0
    due: int | None = None
    started: int | None = None
    max_attempts: int | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"s": self.status, "a": self.attempt}
        if self.due is not None:
            item["d"] = self.due
        if self.started is not None:
            item["t"] = self.started
        if self.max_attempts is not None:
            item["m"] = self.max_attempts
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TaskState:
        def number(key: str) -> int | None:
            value = item.get(key)
            return None if value is None else int(value)

        return cls(str(item["s"]), int(item.get("a", 0)), number("d"), number("t"), number("m"))


@dataclass(frozen=True)
class WorkflowState:
    """The state item: everything a decision reads, nothing it does not."""

    workflow_id: str
    status: str
    version: int
    definition_name: str
    created_at: str
    tasks: tuple[TaskState, ...]
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: int = 0  # epoch ms of the last write (the sweep's horizon)
    expires_at: int | None = None
    settled: bool = True  # the writer applied every decision (the orchestrator's reconcile is a no-op)


@dataclass(frozen=True)
class AttemptResult:
    """The immutable record of one attempt's end (sk RES#<task_id>#<attempt>), written exactly once
    (attribute_not_exists) by whoever ended it: the worker, the sweep (an expired lease) or a cancel."""

    task_id: str
    attempt: int
    status: str  # SUCCEEDED, FAILED or CANCELLED
    started_at: str | None
    finished_at: str
    output: Any = None
    output_ref: str | None = None
    error: dict[str, str] | None = None


@dataclass(frozen=True)
class WorkflowSummary:
    """A list row: the state item without its definition (list pages read state items only)."""

    workflow_id: str
    status: str
    definition_name: str
    task_statuses: tuple[str, ...]
    version: int
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


def idempotency_key(workflow_id: str, task_id: str, attempt: int) -> str:
    """Stable across every delivery of one attempt, different for the next attempt."""
    return f"{workflow_id}:{task_id}:{attempt}"


def backoff_seconds(backoff: float, failed_attempt: int, cap: float = 900.0) -> float:
    """Exponential backoff after `failed_attempt` failed: backoff, 2*backoff, 4*backoff, ... (at most 15 min,
    the longest SQS delay)."""
    return float(min(cap, backoff * (2 ** (failed_attempt - 1))))
