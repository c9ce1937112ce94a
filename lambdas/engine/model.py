"""Statuses, the one transition table, and the records the engine keeps in DynamoDB.

Every state change in the engine is one of the named transitions below (as Prefect's orchestration
rules declare FROM_STATES / TO_STATES). `check()` answers with a rejection reason instead of
raising, so callers decide whether a rejected transition is a conflict (the API), or simply a
decision someone else already took (the orchestrator, the worker).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
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
        _t(Entity.WORKFLOW, "start", {W.PENDING}, W.RUNNING),  # orchestrator: first image
        _t(Entity.WORKFLOW, "succeed", {W.RUNNING}, W.SUCCESS),  # orchestrator: every task SUCCEEDED
        _t(Entity.WORKFLOW, "fail", {W.RUNNING}, W.FAILED),  # orchestrator: all terminal, one not SUCCEEDED
        _t(Entity.WORKFLOW, "cancel", {W.PENDING, W.RUNNING}, W.CANCELLED),  # API
        _t(Entity.WORKFLOW, "retry", {W.FAILED, W.CANCELLED}, W.RUNNING),  # API
        # Tasks
        _t(Entity.TASK, "ready", {T.PENDING}, T.READY),  # orchestrator: dependencies all SUCCEEDED
        _t(Entity.TASK, "skip", {T.PENDING}, T.SKIPPED),  # orchestrator: a dependency cannot succeed
        _t(Entity.TASK, "claim", {T.READY}, T.RUNNING),  # worker: exactly one claims an attempt
        _t(Entity.TASK, "succeed", {T.RUNNING}, T.SUCCEEDED),  # worker
        _t(Entity.TASK, "reschedule", {T.RUNNING}, T.READY),  # worker or reaper: failed, attempts remain
        _t(Entity.TASK, "fail", {T.RUNNING}, T.FAILED),  # worker or reaper: failed, no attempt left
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


@dataclass
class TaskSummary:
    """The workflow item's `tasks.<task_id>` entry, written in the same transaction as the task item."""

    status: str
    attempt: int
    version: int
    # Set while a rescheduled attempt waits for its backoff: the orchestrator reads it from the image
    # to choose between a direct invoke and a delayed SQS message.
    not_before: float | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"status": self.status, "attempt": self.attempt, "version": self.version}
        if self.not_before is not None:
            item["not_before"] = self.not_before
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TaskSummary:
        nb = item.get("not_before")
        return cls(
            str(item["status"]), int(item["attempt"]), int(item["version"]), None if nb is None else float(nb)
        )


@dataclass
class Workflow:
    workflow_id: str
    status: str
    definition_name: str
    definition: dict[str, Any]  # {"tasks": [TaskDefinition as dict]}
    input: Any
    request_hash: str
    tasks: dict[str, TaskSummary]
    version: int
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    expires_at: int | None = None

    def task_definitions(self) -> list[dict[str, Any]]:
        return list(self.definition["tasks"])


# What the by_created and by_status indexes project besides their keys (modules/data.py declares
# the same list; tests/infra checks they agree): what a list row shows, and no more.
LISTED_ATTRIBUTES = (
    "workflow_id",
    "status",
    "definition_name",
    "tasks",
    "version",
    "started_at",
    "finished_at",
)


@dataclass(frozen=True)
class WorkflowSummary:
    """A workflow as the list indexes hold it: their projection leaves out the definition and the
    input, so that the index copy written on every transition stays small (DynamoDB bills index
    writes by the projected item's size)."""

    workflow_id: str
    status: str
    definition_name: str
    tasks: dict[str, TaskSummary]
    version: int
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


@dataclass
class Attempt:
    attempt: int
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    error: dict[str, str] | None = None

    def to_item(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Attempt:
        return cls(
            int(item["attempt"]),
            str(item["status"]),
            item.get("started_at"),
            item.get("finished_at"),
            item.get("error"),
        )


@dataclass
class Task:
    workflow_id: str
    task_id: str
    status: str
    function: str
    depends_on: list[str]
    attempt: int
    max_attempts: int
    backoff: float
    timeout_seconds: int
    input: Any
    version: int
    output: Any = None
    output_ref: str | None = None
    error: dict[str, str] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    not_before: float | None = None
    lease_expires_at: float | None = None
    due_at: float | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.workflow_id, self.task_id, self.attempt)

    def summary(self) -> TaskSummary:
        return TaskSummary(self.status, self.attempt, self.version, self.not_before)


def idempotency_key(workflow_id: str, task_id: str, attempt: int) -> str:
    """Stable across every delivery of one attempt, different for the next attempt."""
    return f"{workflow_id}:{task_id}:{attempt}"


def backoff_seconds(backoff: float, failed_attempt: int, cap: float = 900.0) -> float:
    """Exponential backoff after `failed_attempt` failed: backoff, 2*backoff, 4*backoff, ... (at most 15 min,
    the longest SQS delay)."""
    return float(min(cap, backoff * (2 ** (failed_attempt - 1))))
