"""The engine's operations: what the handlers call. Handlers stay thin; the semantics live here.

Writers read, decide with the pure functions of `flow` (which go through the transition table), and
write one conditional UpdateItem (`store.apply`). Losing a condition is normal under concurrency and
at-least-once delivery: the writer decides again from the state DynamoDB returned with the failure
(`store.retry_conflicts`), or learns that someone else already did what it came to do.

Dispatch modes (`DISPATCH_MODE`): with "writer", whoever commits a change takes the decisions that
follow from it in the same write and dispatches what it made READY; with "stream", the writers only
record and the orchestrator decides and dispatches from the stream (one hop per level).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine import definitions, flow, model
from engine.config import Settings
from engine.definitions import InlineDefinition
from engine.errors import (
    InvalidCursor,
    ItemAlreadyExists,
    TransitionRejected,
    WorkflowIdConflict,
    WorkflowNotFound,
)
from engine.flow import Change, Dag, Dispatch
from engine.model import (
    AttemptResult,
    Entity,
    TaskStatus,
    WorkflowState,
    WorkflowStatus,
    WorkflowSummary,
)
from engine.store import (
    RUN_LIMIT_DAYS,
    Definition,
    Snapshot,
    StateConflict,
    Store,
    SweepPosition,
    result_sk,
    retry_conflicts,
)

ERROR_MESSAGE_LIMIT = 4096
WRITER, STREAM = "writer", "stream"


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
    snapshot: Snapshot
    created: bool
    dispatches: list[Dispatch] = field(default_factory=list)


@dataclass
class Attempt:
    """A claimed attempt: what the worker runs and what the task function receives."""

    workflow_id: str
    index: int
    task_id: str
    attempt: int
    function: str
    timeout_seconds: int
    started: float
    task_input: Any
    workflow_input: Any
    dependencies: dict[str, tuple[Any, str | None]]  # task id -> (output, output_ref)
    # The state as this worker last wrote it: the first guess of the result's conditional write (if
    # it is stale the write loses, and is computed again from the state DynamoDB returns).
    state: WorkflowState | None = None

    @property
    def idempotency_key(self) -> str:
        return model.idempotency_key(self.workflow_id, self.task_id, self.attempt)


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
    dispatches: list[Dispatch] = field(default_factory=list)
    claimed: list[Attempt] = field(default_factory=list)  # dependents the writer keeps and runs itself
    finished: str | None = None  # the workflow's end, when this result ended it


@dataclass
class Reconciled:
    applied: bool
    finished: str | None = None
    dispatches: list[Dispatch] = field(default_factory=list)


@dataclass
class Swept:
    examined: int = 0
    expired: int = 0
    retried: int = 0
    redispatched: int = 0
    reconciled: int = 0
    dispatches: list[Dispatch] = field(default_factory=list)


# Definitions are immutable: each process keeps the ones it read (the orchestrator reads one per
# workflow, not one per image).
_DEFINITIONS: dict[str, tuple[Definition, Dag]] = {}
_DEFINITIONS_KEPT = 2000


def forget_definitions() -> None:
    """A fresh process (tests)."""
    _DEFINITIONS.clear()


class Engine:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._dags = _DEFINITIONS

    @property
    def writer_dispatch(self) -> bool:
        return self.settings.dispatch_mode == WRITER

    def definition(self, state: WorkflowState) -> tuple[Definition, Dag] | None:
        """The (immutable) definition of this workflow, cached for the life of this process. Keyed by
        id and creation time: an id can be used again once its workflow has expired."""
        cached = self._dags.get(state.workflow_id)
        if cached is None or cached[0].created_at != state.created_at:
            found = self.store.get_definition(state.workflow_id)
            if found is None or found.created_at != state.created_at:
                return None
            cached = (found, Dag.from_definition(found.definition))
            self._keep(cached)
        return cached

    def _keep(self, found: tuple[Definition, Dag]) -> None:
        if len(self._dags) > _DEFINITIONS_KEPT:
            self._dags.clear()
        self._dags[found[0].workflow_id] = found

    # --- create, read, list ----------------------------------------------------------------------

    def create(
        self, workflow_id: str | None, definition: str | InlineDefinition | None, workflow_input: Any
    ) -> Created:
        resolved = definitions.resolve(definition, self.settings.catalog.timeouts, self.settings.definitions)
        name = resolved.name
        dag_json = {"tasks": [t.model_dump(mode="json") for t in resolved.tasks]}
        request_hash = _hash({"definition_name": name, "definition": dag_json, "input": workflow_input})
        wf_id = workflow_id or f"wf-{uuid.uuid4().hex}"
        now = self.clock()
        created_at = iso(now)
        assert created_at is not None
        stored = Definition(
            wf_id,
            name,
            dag_json,
            workflow_input,
            request_hash,
            created_at,
            definition_version=resolved.version,
        )
        dag = Dag.from_definition(dag_json)
        change = flow.create(wf_id, dag, created_at, now, start=self.writer_dispatch)
        change.before = _named(change.before, name)
        try:
            state = self.store.create(stored, change, now)
        except ItemAlreadyExists as exc:
            existing = self.store.read(wf_id)
            if existing.definition is None:
                raise
            if existing.definition.request_hash != request_hash:
                raise WorkflowIdConflict(wf_id) from exc
            if existing.state is None and existing.results:
                # Not a create that stopped between its writes: a workflow whose state expired first
                # (its definition and results expire days later). Running over them would reuse its
                # attempts' results.
                raise WorkflowIdConflict(
                    wf_id,
                    "was used by a workflow that has expired; its remaining items expire within "
                    f"{RUN_LIMIT_DAYS} days, until then the id cannot be used again",
                ) from exc
            if existing.state is None:  # the first create stopped between its two writes: finish it
                change = flow.create(
                    wf_id, dag, existing.definition.created_at, now, start=self.writer_dispatch
                )
                change.before = _named(change.before, name)
                try:
                    self.store.create_state(change, now)
                except ItemAlreadyExists:
                    return Created(self.store.read(wf_id), created=False)
                return Created(self.store.read(wf_id), created=True, dispatches=change.dispatches(dag))
            return Created(existing, created=False)
        return Created(Snapshot(state, stored), created=True, dispatches=change.dispatches(dag))

    def get(self, workflow_id: str) -> Snapshot:
        snapshot = self.store.read(workflow_id)
        if snapshot.state is None or snapshot.definition is None:
            raise WorkflowNotFound(workflow_id)
        return snapshot

    def list_workflows(
        self, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[WorkflowSummary], str | None]:
        after = _decode_cursor(cursor, status) if cursor else None
        workflows, last = self.store.list_page(status, limit, after)
        return workflows, _encode_cursor(last, status) if last else None

    # --- cancel and retry (API) ------------------------------------------------------------------

    def cancel(self, workflow_id: str) -> Snapshot:
        """Every RUNNING attempt ends as CANCELLED, written first and once: a worker finishing it
        meanwhile finds its result refused. One whose worker got there first keeps its result (a
        success makes the task SUCCEEDED); then the state, in one write."""
        snapshot = self.get(workflow_id)
        assert snapshot.state is not None and snapshot.definition is not None
        dag = Dag.from_definition(snapshot.definition.definition)
        now = self.clock()
        state = snapshot.state
        ended: dict[tuple[int, int], AttemptResult | None] = {}  # (task, attempt) -> another's result
        for _ in range(10):
            reason = model.check(Entity.WORKFLOW, "cancel", state.status)
            if reason:
                raise TransitionRejected(f"workflow {workflow_id}: {reason}")
            for i, task in enumerate(state.tasks):
                if task.status == TaskStatus.RUNNING and (i, task.attempt) not in ended:
                    mine = AttemptResult(
                        dag.ids[i], task.attempt, TaskStatus.CANCELLED, _started(task), iso(now) or ""
                    )
                    ended[(i, task.attempt)] = self.store.put_result(workflow_id, mine, now)
            succeeded = frozenset(
                i
                for i, task in enumerate(state.tasks)
                if task.status == TaskStatus.RUNNING
                and (other := ended.get((i, task.attempt))) is not None
                and other.status == TaskStatus.SUCCEEDED
            )
            try:
                self.store.apply(flow.cancel(state, now, succeeded), now)
            except StateConflict as conflict:
                if conflict.state is None:
                    raise WorkflowNotFound(workflow_id) from conflict
                state = conflict.state
                continue
            return self.get(workflow_id)
        raise TransitionRejected(f"workflow {workflow_id} kept changing while being cancelled; try again")

    def retry(self, workflow_id: str) -> tuple[Snapshot, list[Dispatch]]:
        snapshot = self.get(workflow_id)
        assert snapshot.state is not None and snapshot.definition is not None
        state = snapshot.state
        reason = model.check(Entity.WORKFLOW, "retry", state.status)
        if reason:
            raise TransitionRejected(f"workflow {workflow_id}: {reason}")
        dag = Dag.from_definition(snapshot.definition.definition)
        now = self.clock()
        # The definition and the results the rerun reads must outlive the rerun.
        reused = [
            result_sk(dag.ids[i], t.attempt)
            for i, t in enumerate(state.tasks)
            if t.status == TaskStatus.SUCCEEDED
        ]
        self.store.refresh_expiry(workflow_id, ["#DEF", *reused], now)
        change = flow.retry(state, dag, now, decisions=self.writer_dispatch)
        try:
            self.store.apply(change, now)
        except StateConflict as exc:
            raise TransitionRejected(
                f"workflow {workflow_id} changed while being retried; try again"
            ) from exc
        return self.get(workflow_id), change.dispatches(dag)

    # --- orchestrator ----------------------------------------------------------------------------

    def reconcile(self, state: WorkflowState, *, force: bool = False) -> Reconciled:
        """Carry out what this image calls for (normally nothing when writers dispatch); dispatch what
        that made READY, and READY tasks past their dispatch deadline (a lost dispatch). `force`:
        decide from the state even if it says every decision was taken (the sweep; a batch in which
        an older image left one)."""
        if state.status not in (WorkflowStatus.PENDING, WorkflowStatus.RUNNING):
            return Reconciled(applied=False)
        now = self.clock()
        settled = state.settled and not force
        if settled and not _has_overdue(state, now):
            return Reconciled(applied=False)  # the writer took every decision: nothing to read
        found = self.definition(state)
        if found is None:
            return Reconciled(applied=False)
        dag = found[1]
        lost, _ = flow.overdue(state, dag, now)
        if settled:
            return Reconciled(applied=False, dispatches=lost)
        change = flow.reconcile(state, dag, now)
        if change.empty:
            return Reconciled(applied=False, dispatches=lost)
        try:
            self.store.apply(change, now)
        except StateConflict:
            return Reconciled(applied=False, dispatches=lost)  # a newer image will come
        finished = change.status if change.status in model.WORKFLOW_FINISHED else None
        return Reconciled(applied=True, finished=finished, dispatches=change.dispatches(dag) + lost)

    # --- worker ----------------------------------------------------------------------------------

    def claim(self, workflow_id: str, task_id: str, attempt: int) -> Attempt | None:
        """READY -> RUNNING for exactly this attempt, by exactly one caller; None for everyone else."""
        # An eventually consistent read first (half the units): a stale one is caught by the claim's
        # condition; one that does not show this attempt READY yet (a dispatch right after its commit)
        # is read again consistently before the dispatch is called a duplicate.
        snapshot = self.store.read(workflow_id, consistent=False)
        if not _claimable(snapshot, task_id, attempt):
            snapshot = self.store.read(workflow_id)
        if snapshot.state is None or snapshot.definition is None:
            return None
        definition = snapshot.definition
        dag = Dag.from_definition(definition.definition)
        self._keep((definition, dag))
        i = dag.position(task_id)
        if i is None:
            return None
        now = self.clock()
        change, after = retry_conflicts(
            lambda state: flow.claim(state, dag, i, attempt, now),
            lambda c: self.store.apply(c, now),
            snapshot.state,
        )
        if change is None or after is None:
            return None
        # `after` is the item as the claim left it (ALL_NEW), not the read plus the change: a stale
        # read must not become the worker's guess of the state when it records the result.
        return self._attempt(after, dag, definition, i, snapshot.results, {})

    def _attempt(
        self,
        state: WorkflowState,
        dag: Dag,
        definition: Definition,
        i: int,
        results: dict[tuple[str, int], AttemptResult],
        known: dict[str, tuple[Any, str | None]],
    ) -> Attempt:
        task = state.tasks[i]
        deps: dict[str, tuple[Any, str | None]] = {}
        missing = []
        for d in dag.deps[i]:
            dep_id, dep_attempt = dag.ids[d], state.tasks[d].attempt
            if dep_id in known:
                deps[dep_id] = known[dep_id]
            elif (dep_id, dep_attempt) in results:
                r = results[(dep_id, dep_attempt)]
                deps[dep_id] = (r.output, r.output_ref)
            else:
                missing.append((dep_id, dep_attempt))
        if missing:
            for (dep_id, _), r in self.store.get_results(state.workflow_id, missing).items():
                deps[dep_id] = (r.output, r.output_ref)
        return Attempt(
            workflow_id=state.workflow_id,
            index=i,
            task_id=dag.ids[i],
            attempt=task.attempt,
            function=dag.functions[i],
            timeout_seconds=dag.timeouts[i],
            started=(task.started or int(self.clock() * 1000)) / 1000,
            task_input=dag.inputs[i],
            workflow_input=definition.input,
            dependencies=deps,
            state=state,
        )

    def record(
        self,
        attempt: Attempt,
        outcome: Outcome,
        *,
        can_keep: Callable[[int], bool] = lambda timeout: False,
        known: dict[str, tuple[Any, str | None]] | None = None,
        room: int = 1,
    ) -> Recorded:
        """Record a claimed attempt's result exactly once: the result item first (attribute_not_exists),
        then the state. A result refused because the attempt was ended meanwhile (cancelled, its lease
        taken over) is discarded. With writer dispatch the same write takes the decisions that follow,
        and keeps (claims) up to `room` of the tasks it made READY for this worker, each only when
        `can_keep(its timeout)` says so."""
        assert attempt.state is not None
        cached = self.definition(attempt.state)
        assert cached is not None
        definition, dag = cached
        now = self.clock()
        result = AttemptResult(
            task_id=attempt.task_id,
            attempt=attempt.attempt,
            status=TaskStatus.SUCCEEDED if outcome.ok else TaskStatus.FAILED,
            started_at=iso(attempt.started),
            finished_at=iso(now) or "",
            output=None if outcome.output_ref else outcome.output,
            output_ref=outcome.output_ref,
            error=None if outcome.ok else _clip_error(outcome.error),
        )
        other = self.store.put_result(attempt.workflow_id, result, now)
        if other is not None:
            # Already there: this worker's own (an earlier try of this recording: the same status and
            # error type), or the end someone else gave the attempt (a cancel, an expired lease).
            if other.status != result.status or (other.error or {}).get("type") != (result.error or {}).get(
                "type"
            ):
                return Recorded(status=None, attempt=attempt.attempt)
            result = other
        hint: WorkflowState | None = attempt.state
        # The state this worker last wrote is a good first guess unless other tasks were under way
        # (READY or RUNNING): then it is probably stale, and a failed write costs more than a read.
        if hint is None or any(
            t.status in (TaskStatus.READY, TaskStatus.RUNNING)
            for j, t in enumerate(hint.tasks)
            if j != attempt.index
        ):
            hint = None
        state = hint or self.store.get_state(attempt.workflow_id)
        if state is None:
            return Recorded(status=None, attempt=attempt.attempt)
        return self._apply_result(
            state, dag, definition, attempt.index, result, now, can_keep, known or {}, room
        )

    def _apply_result(
        self,
        state: WorkflowState,
        dag: Dag,
        definition: Definition,
        i: int,
        result: AttemptResult,
        now: float,
        can_keep: Callable[[int], bool],
        known: dict[str, tuple[Any, str | None]],
        room: int = 1,
    ) -> Recorded:
        moment = [now]  # each try decides at its own time: a claim after a lost race is not back-dated

        def compute(current: WorkflowState) -> Change | None:
            at = moment[0] = max(now, self.clock())
            change = flow.finish_attempt(
                current, dag, i, result.attempt, result.status, at, decisions=self.writer_dispatch
            )
            # Keep up to `room` of the tasks this result made READY (the next of a chain, a fan-out's
            # first ones): they need no dispatch and no claim write of their own, and the worker runs
            # them at once. The others are dispatched before the kept ones run, so a fan-out's tasks
            # still start together. A retry after its backoff is never kept (it waits in the queue).
            if change is not None and self.writer_dispatch:
                kept = 0
                for j in sorted(change.ready):
                    if kept >= room:
                        break
                    if (
                        change.task(j).status == TaskStatus.READY
                        and j != i
                        and j not in change.not_before
                        and can_keep(dag.timeouts[j])
                    ):
                        flow.claim_inline(change, dag, j, at)
                        kept += 1
            return change

        change, after = retry_conflicts(compute, lambda c: self.store.apply(c, moment[0]), state)
        if change is None or after is None:
            return Recorded(status=None, attempt=result.attempt)
        status = change.task(i).status
        finished = change.status if change.status in model.WORKFLOW_FINISHED else None
        if result.status == TaskStatus.SUCCEEDED:
            known = {**known, result.task_id: (result.output, result.output_ref)}
        claimed = [self._attempt(after, dag, definition, j, {}, known) for j in change.claimed]
        return Recorded(
            status=status,
            attempt=result.attempt,
            retried=status == TaskStatus.READY,
            dispatches=change.dispatches(dag),
            claimed=claimed,
            finished=finished,
        )

    # --- the sweep (reaper) ----------------------------------------------------------------------

    def sweep(self, horizon_seconds: float, deadline: float | None = None) -> Swept:
        """Every unfinished workflow that has not moved within the horizon is reconciled with the same
        decisions: expired leases become failed attempts (or the result the worker left), READY tasks
        past their dispatch deadline are dispatched again, and every decision its state calls for is
        taken (whatever `settled` says). It reads the status shards a page at a time; when it runs out
        of time (`deadline`, epoch s) it saves where it was and the next sweep goes on from there, so
        every unfinished workflow is examined however many there are."""
        now = self.clock()
        swept = Swept()
        cutoff = iso(now - horizon_seconds)
        assert cutoff is not None
        start = self.store.sweep_position()
        position = SweepPosition()  # a sweep that gets through everything starts again from the top
        unfinished = (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)
        for ids, after in self.store.unfinished(unfinished, cutoff, start):
            for state in self.store.get_states(ids):
                swept.examined += 1
                self._sweep_one(state, horizon_seconds, now, swept)
            if ids and deadline is not None and self.clock() >= deadline:
                position = after
                break
        if position != start:
            self.store.save_sweep_position(position)
        return swept

    def _sweep_one(self, state: WorkflowState, horizon_seconds: float, now: float, swept: Swept) -> None:
        if state.updated_at / 1000 > now - horizon_seconds and not _has_overdue(state, now):
            return  # it moves
        found = self.definition(state)
        if found is None:
            return
        definition, dag = found
        lost, expired = flow.overdue(state, dag, now)
        for i in expired:
            task = state.tasks[i]
            error = {
                "type": "LeaseExpired",
                "message": f"attempt {task.attempt} did not report within its lease",
            }
            mine = AttemptResult(
                dag.ids[i], task.attempt, TaskStatus.FAILED, _started(task), iso(now) or "", error=error
            )
            result = self.store.put_result(state.workflow_id, mine, now) or mine
            current = self.store.get_state(state.workflow_id)
            if current is None:
                return
            recorded = self._apply_result(current, dag, definition, i, result, now, lambda _: False, {})
            if recorded.status is not None:
                swept.expired += 1
                swept.retried += int(recorded.retried)
                swept.dispatches += recorded.dispatches
        swept.redispatched += len(lost)
        swept.dispatches += lost
        if expired:
            return  # those writes took (or, with stream dispatch, left to the orchestrator) the decisions
        # A decision nobody took (a stream batch given up on, a crash between commit and dispatch, or
        # anything that says settled while it is not): decided from the state itself.
        reconciled = self.reconcile(state, force=True)
        if reconciled.applied:
            swept.reconciled += 1
            swept.dispatches += [d for d in reconciled.dispatches if d not in lost]


def _claimable(snapshot: Snapshot, task_id: str, attempt: int) -> bool:
    """Whether a read shows this attempt READY to claim (the definition gives the task's place)."""
    if snapshot.state is None or snapshot.definition is None:
        return False
    ids = [t["id"] for t in snapshot.definition.definition["tasks"]]
    if task_id not in ids:
        return False
    task = snapshot.state.tasks[ids.index(task_id)]
    running = snapshot.state.status == WorkflowStatus.RUNNING
    return bool(running and task.status == TaskStatus.READY and task.attempt == attempt)


def _has_overdue(state: WorkflowState, now: float) -> bool:
    return any(
        t.due is not None and t.due <= now
        for t in state.tasks
        if t.status in (TaskStatus.READY, TaskStatus.RUNNING)
    )


def _started(task: model.TaskState) -> str | None:
    return iso(task.started / 1000) if task.started else None


def _named(state: WorkflowState, name: str) -> WorkflowState:
    from dataclasses import replace

    return replace(state, definition_name=name)


def _clip_error(error: dict[str, str] | None) -> dict[str, str]:
    error = error or {"type": "Error", "message": "unknown error"}
    return {
        "type": str(error.get("type", "Error"))[:200],
        "message": str(error.get("message", ""))[:ERROR_MESSAGE_LIMIT],
    }


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# The cursor is the position of the last row of a page: "<created_at>~<workflow id>". Any string of that
# form is a position (rows older than it follow), so nothing a client sends in that form is refused;
# the format is in the OpenAPI document (CURSOR_PATTERN).
CURSOR_PATTERN = r"^[0-9T:.Z-]{1,30}~[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"


def _encode_cursor(last: tuple[str, str], status: str | None) -> str:
    return f"{last[0]}~{last[1]}"


def _decode_cursor(cursor: str, status: str | None) -> tuple[str, str]:
    import re

    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidCursor
    created, _, workflow_id = cursor.partition("~")
    return created, workflow_id


def task_counts(statuses: tuple[str, ...] | list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts
