"""The engine's operations: what the handlers call. Handlers stay thin; the semantics live here.

Writers read, decide with the transition table (`model.check`), and write conditionally on what
they read (`store.apply`). Losing a condition is normal under at-least-once delivery: someone
else already took this decision or a newer one, and there is a newer stream image to act on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from engine import definitions, flow, model
from engine.config import Settings
from engine.definitions import InlineDefinition, TaskDefinition
from engine.errors import (
    InvalidCursor,
    ItemAlreadyExists,
    TransitionRejected,
    VersionConflict,
    WorkflowIdConflict,
    WorkflowNotFound,
)
from engine.model import (
    Attempt,
    Entity,
    Task,
    TaskStatus,
    TaskSummary,
    Workflow,
    WorkflowStatus,
    WorkflowSummary,
)
from engine.store import Store, TaskChange, TaskTouch, WorkflowChange, dump_json

# A READY task not claimed this long after it became due is dispatched again by the reaper.
DISPATCH_GRACE_SECONDS = 120.0
# A RUNNING task's lease: its timeout plus this margin for the worker's own work (read, record).
LEASE_MARGIN_SECONDS = 30.0
# Cancel re-reads and tries again when a worker or the orchestrator changed a task meanwhile.
CANCEL_ATTEMPTS = 5
ERROR_MESSAGE_LIMIT = 4096


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str | None) -> float | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


@dataclass
class Created:
    workflow: Workflow
    tasks: dict[str, Task]
    created: bool


@dataclass
class Reconciled:
    """What the orchestrator did with one image."""

    applied: bool
    finished: str | None = None  # SUCCESS or FAILED when this image finished the workflow
    stale: bool = False


@dataclass
class Claim:
    """A claimed attempt: the task as it is now RUNNING, and what the task function receives."""

    task: Task
    workflow_input: Any
    dependencies: dict[str, Task] = field(default_factory=dict)


@dataclass
class Outcome:
    ok: bool
    output: Any = None
    output_ref: str | None = None
    error: dict[str, str] | None = None
    duration_ms: float = 0.0


@dataclass
class Recorded:
    status: str | None  # SUCCEEDED, READY (rescheduled), FAILED; None when the result was discarded
    attempt: int
    retried: bool = False


class Engine:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    # --- create, read, list ----------------------------------------------------------------------

    def create(
        self,
        workflow_id: str | None,
        definition: str | InlineDefinition | None,
        workflow_input: dict[str, Any],
    ) -> Created:
        name, task_defs = definitions.resolve(definition, self.settings.task_functions.keys())
        dag = {"tasks": [t.model_dump(mode="json") for t in task_defs]}
        request_hash = _hash({"definition_name": name, "definition": dag, "input": workflow_input})
        wf_id = workflow_id or f"wf-{uuid.uuid4().hex}"
        created_at = iso(self.clock())
        assert created_at is not None
        tasks = {t.id: self._new_task(wf_id, t) for t in task_defs}
        wf = Workflow(
            workflow_id=wf_id,
            status=WorkflowStatus.PENDING,
            definition_name=name,
            definition=dag,
            input=workflow_input,
            request_hash=request_hash,
            tasks={tid: t.summary() for tid, t in tasks.items()},
            version=1,
            created_at=created_at,
        )
        try:
            self.store.create(wf, list(tasks.values()))
        except ItemAlreadyExists as exc:
            loaded = self.store.load(wf_id)
            if loaded is None:  # deleted by TTL in between: extremely unlikely, and a retry succeeds
                raise
            if loaded[0].request_hash != request_hash:
                raise WorkflowIdConflict(wf_id) from exc
            return Created(loaded[0], loaded[1], created=False)
        return Created(wf, tasks, created=True)

    @staticmethod
    def _new_task(workflow_id: str, t: TaskDefinition) -> Task:
        return Task(
            workflow_id=workflow_id,
            task_id=t.id,
            status=TaskStatus.PENDING,
            function=t.function,
            depends_on=list(t.depends_on),
            attempt=0,
            max_attempts=t.retry.max_attempts,
            backoff=t.retry.backoff,
            timeout_seconds=t.timeout_seconds,
            input=t.input,
            version=1,
        )

    def get(self, workflow_id: str) -> tuple[Workflow, dict[str, Task]]:
        loaded = self.store.load(workflow_id)
        if loaded is None:
            raise WorkflowNotFound(workflow_id)
        return loaded

    def list_workflows(
        self, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[WorkflowSummary], str | None]:
        start = _decode_cursor(cursor, status) if cursor else None
        workflows, last = self.store.list_workflows(status, limit, start)
        return workflows, _encode_cursor(last, status) if last else None

    # --- cancel and retry (API) ------------------------------------------------------------------

    def cancel(self, workflow_id: str) -> tuple[Workflow, dict[str, Task]]:
        for _ in range(CANCEL_ATTEMPTS):
            wf, tasks = self.get(workflow_id)
            reason = model.check(Entity.WORKFLOW, "cancel", wf.status)
            if reason:
                raise TransitionRejected(f"workflow {workflow_id}: {reason}")
            now = self.clock()
            changes = []
            for task in tasks.values():
                if task.status not in model.TASK_UNFINISHED:
                    continue
                attempts = _close_attempt(task, TaskStatus.CANCELLED, now)
                changes.append(
                    TaskChange(
                        workflow_id,
                        task.task_id,
                        "cancel",
                        task.status,
                        task.version,
                        task.attempt,
                        sets={
                            "finished_at": iso(now),
                            "lease_expires_at": None,
                            "attempts": attempts,
                            "expires_at": self._expires_at(now),
                        },
                    )
                )
            change = WorkflowChange(
                workflow_id,
                transition="cancel",
                from_status=wf.status,
                # Only the tasks being cancelled must be as read (their summaries are checked);
                # the status check stops a cancel racing the orchestrator's finishing write.
                expected_status=frozenset({wf.status}),
                sets={"finished_at": iso(now), "expires_at": self._expires_at(now)},
            )
            try:
                self.store.apply(change, changes)
            except VersionConflict:
                continue  # a worker claimed or recorded meanwhile: read again and cancel what is there
            return self.get(workflow_id)
        raise TransitionRejected(f"workflow {workflow_id} kept changing while being cancelled; try again")

    def retry(self, workflow_id: str) -> tuple[Workflow, dict[str, Task]]:
        wf, tasks = self.get(workflow_id)
        reason = model.check(Entity.WORKFLOW, "retry", wf.status)
        if reason:
            raise TransitionRejected(f"workflow {workflow_id}: {reason}")
        budgets = {t["id"]: t.get("retry", {}).get("max_attempts", 3) for t in wf.task_definitions()}
        changes = [
            TaskChange(
                workflow_id,
                task.task_id,
                "reset",
                task.status,
                task.version,
                task.attempt,
                # Attempt numbers keep counting (each idempotency key stays unique); the task gets
                # its full budget of attempts again from here.
                sets={
                    "max_attempts": task.attempt + int(budgets.get(task.task_id, task.max_attempts)),
                    "error": None,
                    "lease_expires_at": None,
                    "finished_at": None,
                    "expires_at": None,
                },
            )
            for task in tasks.values()
            if task.status in model.TASK_RETRYABLE
        ]
        # Succeeded tasks stay as they are, but must not expire under the running workflow.
        keep = [
            TaskTouch(workflow_id, task.task_id, task.version, {"expires_at": None})
            for task in tasks.values()
            if task.status == TaskStatus.SUCCEEDED
        ]
        change = WorkflowChange(
            workflow_id,
            transition="retry",
            from_status=wf.status,
            # A finished workflow changes only through the API: two retries racing, one wins.
            expected_version=wf.version,
            sets={"finished_at": None, "expires_at": None},
        )
        try:
            self.store.apply(change, changes, keep)
        except VersionConflict as exc:
            raise TransitionRejected(
                f"workflow {workflow_id} changed while being retried; try again"
            ) from exc
        return self.get(workflow_id)

    # --- orchestrator ----------------------------------------------------------------------------

    def reconcile(self, wf: Workflow) -> Reconciled:
        """Carry out what this image calls for; a stale image's writes lose their conditions."""
        decided = flow.plan(wf)
        if decided.empty:
            return Reconciled(applied=False)
        now = self.clock()
        changes = [self._make_ready(wf, tid, now) for tid in decided.ready]
        changes += [
            TaskChange(
                wf.workflow_id,
                tid,
                "skip",
                wf.tasks[tid].status,
                wf.tasks[tid].version,
                wf.tasks[tid].attempt,
                sets={"finished_at": iso(now), "expires_at": self._expires_at(now)},
            )
            for tid in decided.skip
        ]
        sets: dict[str, Any] = {}
        if decided.workflow_transition == "start":
            sets["started_at"] = iso(now)
        elif decided.workflow_transition in ("succeed", "fail"):
            sets.update(finished_at=iso(now), expires_at=self._expires_at(now))
        if decided.workflow_transition:
            # The decision read every task: nothing in the workflow may have changed since.
            change = WorkflowChange(
                wf.workflow_id,
                transition=decided.workflow_transition,
                from_status=wf.status,
                expected_version=wf.version,
                sets=sets,
            )
        else:
            change = WorkflowChange(
                wf.workflow_id,
                expected_status=frozenset({WorkflowStatus.RUNNING}),
                read_tasks=decided.relied_on,
            )
        try:
            self.store.apply(change, changes)
        except VersionConflict:
            return Reconciled(applied=False, stale=True)
        finished = None
        if decided.workflow_transition in ("succeed", "fail"):
            finished = model.transition(Entity.WORKFLOW, decided.workflow_transition).to_state
        return Reconciled(applied=True, finished=finished)

    def _make_ready(self, wf: Workflow, task_id: str, now: float) -> TaskChange:
        summary = wf.tasks[task_id]
        return TaskChange(
            wf.workflow_id,
            task_id,
            "ready",
            summary.status,
            summary.version,
            summary.attempt + 1,
            due_at=now + DISPATCH_GRACE_SECONDS,
        )

    def _expires_at(self, now: float) -> int:
        return int(now + self.settings.workflow_ttl_days * 86400)

    # --- worker ----------------------------------------------------------------------------------

    def claim(self, workflow_id: str, task_id: str, attempt: int) -> Claim | None:
        """READY -> RUNNING for exactly this attempt, by exactly one caller; None for everyone else."""
        loaded = self.store.load(workflow_id)
        if loaded is None:
            return None
        wf, tasks = loaded
        task = tasks.get(task_id)
        if task is None or task.attempt != attempt or model.check(Entity.TASK, "claim", task.status):
            return None  # a duplicate or late dispatch: the attempt was claimed, or is gone
        if wf.status != WorkflowStatus.RUNNING:
            return None
        now = self.clock()
        lease = now + task.timeout_seconds + LEASE_MARGIN_SECONDS
        started = iso(now)
        attempts = [a.to_item() for a in task.attempts] + [
            Attempt(attempt, TaskStatus.RUNNING, started).to_item()
        ]
        change = TaskChange(
            workflow_id,
            task_id,
            "claim",
            task.status,
            task.version,
            attempt,
            sets={
                "lease_expires_at": lease,
                "started_at": started,
                "finished_at": None,
                "error": None,
                "attempts": attempts,
            },
            due_at=lease,
        )
        try:
            self.store.apply(
                WorkflowChange(workflow_id, expected_status=frozenset({WorkflowStatus.RUNNING})), [change]
            )
        except VersionConflict:
            return None  # another worker claimed this attempt first, or the workflow was cancelled
        claimed = replace(
            task,
            status=change.to_status,
            version=change.from_version + 1,
            lease_expires_at=lease,
            started_at=started,
            finished_at=None,
            error=None,
            attempts=[Attempt.from_item(a) for a in attempts],
        )
        deps = {d: tasks[d] for d in task.depends_on if d in tasks}
        return Claim(task=claimed, workflow_input=wf.input, dependencies=deps)

    def record(self, claim: Claim, outcome: Outcome) -> Recorded:
        """Record the claimed attempt's result exactly once; a late or duplicate result is discarded."""
        return self._finish_attempt(claim.task, outcome, self.clock())

    def _finish_attempt(self, task: Task, outcome: Outcome, now: float) -> Recorded:
        wf_id, tid = task.workflow_id, task.task_id
        if outcome.ok:
            attempts = _close_attempt(task, TaskStatus.SUCCEEDED, now)
            change = TaskChange(
                wf_id,
                tid,
                "succeed",
                task.status,
                task.version,
                task.attempt,
                sets={
                    "output": None if outcome.output_ref else dump_json(outcome.output),
                    "output_ref": outcome.output_ref,
                    "error": None,
                    "lease_expires_at": None,
                    "finished_at": iso(now),
                    "attempts": attempts,
                    "expires_at": self._expires_at(now),
                },
            )
        else:
            error = _clip_error(outcome.error)
            attempts = _close_attempt(task, TaskStatus.FAILED, now, error)
            if task.attempt < task.max_attempts:
                not_before = now + model.backoff_seconds(task.backoff, task.attempt)
                change = TaskChange(
                    wf_id,
                    tid,
                    "reschedule",
                    task.status,
                    task.version,
                    task.attempt + 1,
                    sets={"error": error, "lease_expires_at": None, "attempts": attempts},
                    due_at=not_before + DISPATCH_GRACE_SECONDS,
                    not_before=not_before,
                )
            else:
                change = TaskChange(
                    wf_id,
                    tid,
                    "fail",
                    task.status,
                    task.version,
                    task.attempt,
                    sets={
                        "error": error,
                        "lease_expires_at": None,
                        "finished_at": iso(now),
                        "attempts": attempts,
                        "expires_at": self._expires_at(now),
                    },
                )
        try:
            self.store.apply(WorkflowChange(wf_id), [change])
        except VersionConflict:
            # The lease expired and the reaper moved on, or the workflow was cancelled: this
            # attempt's result no longer counts.
            return Recorded(status=None, attempt=task.attempt)
        return Recorded(
            status=change.to_status, attempt=task.attempt, retried=change.transition == "reschedule"
        )

    # --- reaper ----------------------------------------------------------------------------------

    def reap(self, limit: int = 500) -> tuple[list[Recorded], list[flow.Dispatch]]:
        """Expired leases become failed attempts; READY tasks nobody claimed are dispatched again."""
        now = self.clock()
        recorded, redispatch = [], []
        for task in self.store.due_tasks(now, limit):
            if task.status == TaskStatus.RUNNING and (task.lease_expires_at or 0) <= now:
                error = {
                    "type": "LeaseExpired",
                    "message": f"attempt {task.attempt} did not report within its lease",
                }
                result = self._finish_attempt(task, Outcome(ok=False, error=error), now)
                if result.status is not None:
                    recorded.append(result)
            elif task.status == TaskStatus.READY:
                redispatch.append(
                    flow.Dispatch(task.workflow_id, task.task_id, task.attempt, task.not_before)
                )
        return recorded, redispatch


def _close_attempt(
    task: Task, status: str, now: float, error: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The attempt history with the current attempt (if it started) closed with `status`."""
    attempts = [a.to_item() for a in task.attempts]
    if attempts and attempts[-1]["attempt"] == task.attempt and attempts[-1]["status"] == TaskStatus.RUNNING:
        attempts[-1].update(status=status, finished_at=iso(now), error=error)
    return attempts


def _clip_error(error: dict[str, str] | None) -> dict[str, str]:
    error = error or {"type": "Error", "message": "unknown error"}
    return {
        "type": str(error.get("type", "Error"))[:200],
        "message": str(error.get("message", ""))[:ERROR_MESSAGE_LIMIT],
    }


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# The cursor is opaque to clients: base64 of the last key and the filter it belongs to. Decoding
# accepts exactly the shape we issue, so a forged cursor is a 400, never a malformed DynamoDB call.
def _encode_cursor(last_key: dict[str, Any], status: str | None) -> str:
    plain = {k: v["S"] for k, v in last_key.items() if k in ("pk", "sk", "created_at")}
    payload = json.dumps({"k": plain, "s": status}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, status: str | None) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, filtered = payload["k"], payload["s"]
        if filtered != status or set(key) != {"pk", "sk", "created_at"}:
            raise InvalidCursor
        if not all(isinstance(v, str) and len(v) <= 200 for v in key.values()) or not key["pk"].startswith(
            "WF#"
        ):
            raise InvalidCursor
        parse_iso(key["created_at"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidCursor from exc
    start = {k: {"S": v} for k, v in key.items()}
    if status is None:
        start["list_pk"] = {"S": "WORKFLOW"}
    else:
        start["wf_status"] = {"S": status}
    return start


def task_counts(tasks: dict[str, TaskSummary]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for summary in tasks.values():
        counts[summary.status] = counts.get(summary.status, 0) + 1
    return counts
