"""Pure decisions of the engine (no I/O): every transition as a function of the state item.

Each function takes the state a writer read and returns a `Change`: the new task states, maybe a
workflow transition, and the conditions (`Require`) the write must carry so that it only commits
while the decision still holds. Every writer (API, worker, orchestrator, sweep) uses the same
functions, so a decision is the same whoever takes it; a duplicated, replayed or reordered event
leads to the same change, and the conditions make a stale one lose.

`decide` applies the consequences of a change in the same write: dependents that became READY or
SKIPPED, and the workflow's end. A decision that something does *not* happen yet rests on a witness
(a dependency not yet SUCCEEDED, a task not yet finished) named in the conditions: when two siblings
finish at once, the second write to commit finds its witness changed, loses, reads again and takes
the fan-in decision itself. No counting, no transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine import model
from engine.model import (
    TASK_BLOCKING,
    TASK_TERMINAL,
    TASK_UNFINISHED,
    Entity,
    TaskState,
    TaskStatus,
    WorkflowState,
    WorkflowStatus,
)

# A READY task not claimed this long after it may run is dispatched again (orchestrator, sweep).
DISPATCH_GRACE_SECONDS = 30
# The worker waits for a task's deadline plus Lambda's init phase (10 s) and a little more.
INIT_ALLOWANCE_SECONDS = 12
# A RUNNING task's lease: the attempt's timeout, the init allowance, and time to record the result.
LEASE_MARGIN_SECONDS = INIT_ALLOWANCE_SECONDS + 18


@dataclass(frozen=True)
class Dag:
    """The definition as decisions read it: task ids in definition order, dependencies by position."""

    ids: tuple[str, ...]
    functions: tuple[str, ...]
    deps: tuple[tuple[int, ...], ...]
    max_attempts: tuple[int, ...]
    backoff: tuple[float, ...]
    timeouts: tuple[int, ...]
    inputs: tuple[Any, ...]

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> Dag:
        tasks = definition["tasks"]
        index = {t["id"]: i for i, t in enumerate(tasks)}
        return cls(
            ids=tuple(t["id"] for t in tasks),
            functions=tuple(t["function"] for t in tasks),
            deps=tuple(tuple(index[d] for d in t.get("depends_on", [])) for t in tasks),
            max_attempts=tuple(int(t.get("retry", {}).get("max_attempts", 3)) for t in tasks),
            backoff=tuple(float(t.get("retry", {}).get("backoff", 1.0)) for t in tasks),
            timeouts=tuple(int(t["timeout_seconds"]) for t in tasks),
            inputs=tuple(t.get("input") or {} for t in tasks),
        )

    def dependents(self, i: int) -> list[int]:
        return [j for j, deps in enumerate(self.deps) if i in deps]

    def position(self, task_id: str) -> int | None:
        try:
            return self.ids.index(task_id)
        except ValueError:
            return None

    def budget(self, i: int, task: TaskState) -> int:
        return task.max_attempts if task.max_attempts is not None else self.max_attempts[i]


# --- conditions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Require:
    """One clause of a write's condition, with the race it rules out.

    kind: "task" (tasks[index].<field> <op> values), "status" (the workflow's status in values),
    "version" (the whole state unchanged: values[0]), "exists", "any" (values: task clauses of
    which one must hold)."""

    why: str
    kind: str
    index: int = -1
    field: str = "s"
    op: str = "="  # =, in, <>
    values: tuple[Any, ...] = ()


def task_is(i: int, task: TaskState, why: str) -> list[Require]:
    return [
        Require(why, "task", i, "s", "=", (task.status,)),
        Require(why, "task", i, "a", "=", (task.attempt,)),
    ]


@dataclass(frozen=True)
class Dispatch:
    workflow_id: str
    task_id: str
    attempt: int
    not_before: float | None = None


@dataclass
class Change:
    """What one write does to the state item, and under which conditions."""

    workflow_id: str
    before: WorkflowState
    tasks: dict[int, TaskState] = field(default_factory=dict)
    transitions: list[tuple[Entity, str, int]] = field(default_factory=list)  # (entity, name, task or -1)
    status: str | None = None
    sets: dict[str, Any] = field(default_factory=dict)  # other attributes; None removes one
    requires: list[Require] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)  # made READY by this change: its writer dispatches them
    not_before: dict[int, float] = field(default_factory=dict)  # a retry's exact end of backoff
    claimed: list[int] = field(default_factory=list)  # claimed in this change (READY -> RUNNING)
    settled: bool = True

    def task(self, i: int) -> TaskState:
        return self.tasks.get(i, self.before.tasks[i])

    @property
    def current_status(self) -> str:
        return self.status or self.before.status

    def move_task(self, i: int, name: str, new: TaskState) -> None:
        rule = model.transition(Entity.TASK, name)
        current = self.task(i).status
        if current not in rule.from_states or new.status != rule.to_state:
            raise ValueError(f"task {name} from {current} to {new.status} is not in the transition table")
        self.tasks[i] = new
        self.transitions.append((Entity.TASK, name, i))

    def move_workflow(self, name: str) -> None:
        rule = model.transition(Entity.WORKFLOW, name)
        if self.current_status not in rule.from_states:
            raise ValueError(f"workflow {name} from {self.current_status} is not in the transition table")
        self.status = rule.to_state
        self.transitions.append((Entity.WORKFLOW, name, -1))

    def require(self, clauses: Sequence[Require]) -> None:
        for clause in clauses:
            if clause not in self.requires:
                self.requires.append(clause)

    @property
    def empty(self) -> bool:
        return not self.tasks and self.status is None and not self.sets

    def after(self) -> WorkflowState:
        tasks = tuple(self.tasks.get(i, t) for i, t in enumerate(self.before.tasks))
        return replace(
            self.before,
            status=self.current_status,
            tasks=tasks,
            version=self.before.version + 1,
            settled=self.settled,
        )

    def dispatches(self, dag: Dag) -> list[Dispatch]:
        result = []
        for i in self.ready:
            task = self.task(i)
            if task.status == TaskStatus.READY:
                result.append(Dispatch(self.workflow_id, dag.ids[i], task.attempt, self.not_before.get(i)))
        return result


def not_before(task: TaskState) -> float | None:
    """When a READY task may run (its backoff): its dispatch deadline less the grace."""
    return None if task.due is None else float(task.due - DISPATCH_GRACE_SECONDS)


def _ready(task: TaskState, now: float, delay: float = 0.0) -> TaskState:
    return TaskState(
        TaskStatus.READY,
        task.attempt + 1,
        due=math.ceil(now + delay) + DISPATCH_GRACE_SECONDS,
        max_attempts=task.max_attempts,
    )


def lease_seconds(timeout: int) -> int:
    return timeout + LEASE_MARGIN_SECONDS


# --- decisions ----------------------------------------------------------------------------------


_CHANGES_LATER: dict[str, int] = {TaskStatus.PENDING: 0, TaskStatus.READY: 1, TaskStatus.RUNNING: 2}


def _witnesses(candidates: Sequence[int], tasks: Sequence[TaskState]) -> list[int]:
    """The tasks least likely to change soon first (PENDING, then READY, then RUNNING; the latest defined)."""
    return sorted(candidates, key=lambda i: (_CHANGES_LATER.get(tasks[i].status, 3), -i))


# Witness alternatives in one write's condition, shared by its witness clauses (at least one each):
# enough that a fan-in's siblings finishing together do not fail each other's writes, few enough that
# the densest 50-task DAG's condition stays under DynamoDB's 300 operators and 4 KB per expression
# ("Constraints in Amazon DynamoDB", Expression parameters): 16 alternatives, or one per clause.
WITNESS_BUDGET = 16


@dataclass(frozen=True)
class _Witnessed:
    """A decision that rests on one of `candidates` still having `s <op> values`."""

    why: str
    candidates: tuple[int, ...]
    op: str
    values: tuple[Any, ...]


def _require_witnesses(change: Change, needed: Sequence[_Witnessed], tasks: Sequence[TaskState]) -> None:
    """Each decision holds while one of its candidates still satisfies it: an OR of them, so it loses
    only when none is left, not whenever the one task it named finishes first. Within the budget, the
    likeliest witnesses are named first."""
    if not needed:
        return
    per = max(1, WITNESS_BUDGET // len(needed))
    for w in needed:
        chosen = _witnesses(w.candidates, tasks)[:per]
        clauses = tuple(Require(w.why, "task", i, "s", w.op, w.values) for i in chosen)
        change.require([clauses[0] if len(clauses) == 1 else Require(w.why, "any", values=clauses)])


def decide(change: Change, dag: Dag, now: float, changed: set[int] | None = None) -> None:
    """Apply, in `change`, every decision that follows from the state after it: dependents READY or
    SKIPPED (cascading), and the workflow's end. `changed`: the tasks whose change the decisions follow
    from (witness conditions are needed only for them); None means all (a reconcile)."""
    if change.current_status != WorkflowStatus.RUNNING:
        return
    tasks = [change.task(i) for i in range(len(dag.ids))]
    moved = set(range(len(tasks))) if changed is None else set(changed)
    waits: dict[int, _Witnessed] = {}  # a PENDING dependent that still waits, as last seen
    progress = True
    while progress:
        progress = False
        for i, task in enumerate(tasks):
            if task.status != TaskStatus.PENDING:
                continue
            deps = dag.deps[i]
            statuses = [tasks[d].status for d in deps]
            # A task this change already moved (reset by a retry) is guarded by that move's own condition.
            stored = i not in change.tasks
            if any(s in TASK_BLOCKING for s in statuses):
                new = TaskState(TaskStatus.SKIPPED, task.attempt, max_attempts=task.max_attempts)
                change.move_task(i, "skip", new)
                if stored:
                    change.require(
                        [Require("a task is skipped once", "task", i, "s", "=", (TaskStatus.PENDING,))]
                    )
                tasks[i] = new
                moved.add(i)
                progress = True
            elif all(s == TaskStatus.SUCCEEDED for s in statuses):
                new = _ready(task, now)
                change.move_task(i, "ready", new)
                if stored:
                    change.require(
                        [Require("a task is made READY once", "task", i, "s", "=", (TaskStatus.PENDING,))]
                    )
                change.ready.append(i)
                tasks[i] = new
                moved.add(i)
                progress = True
            elif any(d in moved for d in deps):
                # It waits: for a dependency that has not succeeded. If that one succeeds meanwhile, its
                # writer did not see this change: one of the two writes must lose and decide again.
                waiting = [d for d in deps if tasks[d].status != TaskStatus.SUCCEEDED]
                if any(w in change.tasks for w in waiting):
                    continue  # one was moved by this change: its own condition guards it
                names = ", ".join(dag.ids[w] for w in waiting)
                why = f"one of {names} has not succeeded meanwhile (the fan-in into {dag.ids[i]})"
                waits[i] = _Witnessed(why, tuple(waiting), "<>", (TaskStatus.SUCCEEDED,))
    needed = [w for i, w in waits.items() if tasks[i].status == TaskStatus.PENDING]  # still waits
    unfinished = [i for i, t in enumerate(tasks) if t.status not in TASK_TERMINAL]
    if not unfinished:
        name = "succeed" if all(t.status == TaskStatus.SUCCEEDED for t in tasks) else "fail"
        change.move_workflow(name)
        change.require([Require("the workflow is still running", "status", values=(WorkflowStatus.RUNNING,))])
        change.sets.update(finished_at_now=True)
    elif any(tasks[i].status in TASK_TERMINAL for i in moved) and not any(
        w in change.tasks for w in unfinished
    ):
        # Not finished: a task that is still unfinished says so. If it finishes meanwhile, it may be
        # the last but one: the later write loses and finishes the workflow. (One that this change
        # moved is guarded by its own condition: nothing more to name.)
        why = "a task is still unfinished (the workflow's end)"
        needed.append(_Witnessed(why, tuple(unfinished), "in", tuple(sorted(TASK_UNFINISHED))))
    _require_witnesses(change, needed, tasks)


def create(workflow_id: str, dag: Dag, created_at: str, now: float, *, start: bool) -> Change:
    """A new workflow: PENDING with every task PENDING; with `start` (writer dispatch) also started,
    its roots READY, in the same first write."""
    tasks = tuple(TaskState(TaskStatus.PENDING) for _ in dag.ids)
    state = WorkflowState(workflow_id, WorkflowStatus.PENDING, 0, "", created_at, tasks)
    # Without writer dispatch nothing is decided at creation: the orchestrator starts the workflow.
    change = Change(workflow_id, state, settled=start)
    if start:
        begin(change, dag, now)
    return change


def begin(change: Change, dag: Dag, now: float) -> None:
    change.move_workflow("start")
    change.sets["started_at_now"] = True
    decide(change, dag, now, changed=set())


def reconcile(state: WorkflowState, dag: Dag, now: float) -> Change:
    """What the orchestrator does with an image: every decision it calls for (normally none when the
    writer dispatches: its writer took them)."""
    change = Change(state.workflow_id, state)
    if state.status == WorkflowStatus.PENDING:
        change.require(
            [Require("the workflow has not started meanwhile", "status", values=(WorkflowStatus.PENDING,))]
        )
        begin(change, dag, now)
        return change
    change.require([Require("the workflow is still running", "status", values=(WorkflowStatus.RUNNING,))])
    decide(change, dag, now, changed=None)
    return change


def claim(state: WorkflowState, dag: Dag, i: int, attempt: int, now: float) -> Change | None:
    """READY -> RUNNING for exactly this attempt; None when it is not claimable (a duplicate or late
    dispatch, a cancelled workflow)."""
    task = state.tasks[i]
    if state.status != WorkflowStatus.RUNNING or task.status != TaskStatus.READY or task.attempt != attempt:
        return None
    # A claim takes no decision: a decision still left to the orchestrator stays left to it.
    change = Change(state.workflow_id, state, settled=state.settled)
    change.require(task_is(i, task, "exactly one worker claims an attempt"))
    change.require([Require("the workflow is still running", "status", values=(WorkflowStatus.RUNNING,))])
    _take(change, dag, i, now)
    return change


def _take(change: Change, dag: Dag, i: int, now: float) -> None:
    """READY -> RUNNING in `change`, with a lease covering the attempt's deadline."""
    task = change.task(i)
    running = TaskState(
        TaskStatus.RUNNING,
        task.attempt,
        due=math.ceil(now) + lease_seconds(dag.timeouts[i]),
        started=int(now * 1000),
        max_attempts=task.max_attempts,
    )
    change.move_task(i, "claim", running)
    change.claimed.append(i)


def claim_inline(change: Change, dag: Dag, i: int, now: float) -> None:
    """The writer keeps one of the tasks its change made READY and runs it itself: claimed in the
    same write (the task is never seen READY, and needs no dispatch)."""
    if i not in change.ready or change.task(i).status != TaskStatus.READY:
        raise ValueError(f"task {dag.ids[i]} was not made READY by this change")
    change.ready.remove(i)
    _take(change, dag, i, now)  # guarded by the condition that made it READY (it was PENDING)


def finish_attempt(
    state: WorkflowState, dag: Dag, i: int, attempt: int, result_status: str, now: float, *, decisions: bool
) -> Change | None:
    """Apply an attempt's result (its result item exists): SUCCEEDED, or a failure (READY again after
    the backoff while attempts remain, else FAILED), or CANCELLED (a cancel was under way: finish it).
    None when the attempt is no longer running (recorded already, or the workflow moved on)."""
    task = state.tasks[i]
    if task.status != TaskStatus.RUNNING or task.attempt != attempt:
        return None
    if result_status == TaskStatus.CANCELLED:
        return (
            cancel(state, now) if state.status in (WorkflowStatus.PENDING, WorkflowStatus.RUNNING) else None
        )
    if state.status != WorkflowStatus.RUNNING:
        return None
    change = Change(state.workflow_id, state, settled=decisions)
    change.require(task_is(i, task, "the result of this attempt is recorded once, while it runs"))
    change.require([Require("the workflow is still running", "status", values=(WorkflowStatus.RUNNING,))])
    if result_status == TaskStatus.SUCCEEDED:
        change.move_task(
            i, "succeed", TaskState(TaskStatus.SUCCEEDED, attempt, max_attempts=task.max_attempts)
        )
    elif attempt < dag.budget(i, task):
        delay = model.backoff_seconds(dag.backoff[i], attempt)
        change.move_task(i, "reschedule", _ready(task, now, delay))
        change.ready.append(i)
        if delay > 0:
            change.not_before[i] = now + delay
    else:
        change.move_task(i, "fail", TaskState(TaskStatus.FAILED, attempt, max_attempts=task.max_attempts))
    if decisions:
        decide(change, dag, now, changed={i})
    return change


def cancel(state: WorkflowState, now: float, succeeded: frozenset[int] = frozenset()) -> Change:
    """The workflow and every unfinished task CANCELLED (a RUNNING attempt's result item says CANCELLED
    first: see Engine.cancel), except the RUNNING tasks in `succeeded`, whose workers recorded a
    success first: those are SUCCEEDED (an output recorded is never thrown away). Each task is named
    in the condition as it was read: a claim that lands meanwhile makes the cancel decide again (and
    end that attempt too)."""
    change = Change(state.workflow_id, state)
    change.move_workflow("cancel")
    change.require(
        [
            Require(
                "the workflow is still unfinished",
                "status",
                values=(WorkflowStatus.PENDING, WorkflowStatus.RUNNING),
            )
        ]
    )
    for i, task in enumerate(state.tasks):
        if task.status not in TASK_UNFINISHED:
            continue
        if i in succeeded and task.status == TaskStatus.RUNNING:
            change.move_task(
                i, "succeed", TaskState(TaskStatus.SUCCEEDED, task.attempt, max_attempts=task.max_attempts)
            )
        else:
            change.move_task(
                i, "cancel", TaskState(TaskStatus.CANCELLED, task.attempt, max_attempts=task.max_attempts)
            )
        change.require(task_is(i, task, "a task cancelled is as the cancel read it"))
    change.sets["finished_at_now"] = True
    return change


def retry(state: WorkflowState, dag: Dag, now: float, *, decisions: bool) -> Change:
    """FAILED or CANCELLED -> RUNNING: failed, cancelled and skipped tasks PENDING again with a full
    budget of attempts (numbers keep counting, so idempotency keys stay unique)."""
    change = Change(state.workflow_id, state, settled=decisions)
    change.move_workflow("retry")
    # A finished workflow changes only through the API: two retries racing, one wins.
    change.require(
        [Require("nothing changed since the workflow was read", "version", values=(state.version,))]
    )
    for i, task in enumerate(state.tasks):
        if task.status in model.TASK_RETRYABLE:
            budget = task.attempt + dag.max_attempts[i]
            change.move_task(i, "reset", TaskState(TaskStatus.PENDING, task.attempt, max_attempts=budget))
    change.sets.update(finished_at=None, expires_at=None)
    if decisions:
        decide(change, dag, now, changed=None)
    return change


def overdue(state: WorkflowState, dag: Dag, now: float) -> tuple[list[Dispatch], list[int]]:
    """READY tasks past their dispatch deadline (to dispatch again) and RUNNING tasks past their lease
    (their attempt ended without a result: the sweep records one)."""
    if state.status != WorkflowStatus.RUNNING:
        return [], []
    lost = [
        Dispatch(state.workflow_id, dag.ids[i], t.attempt, not_before(t))
        for i, t in enumerate(state.tasks)
        if t.status == TaskStatus.READY and t.due is not None and t.due <= now
    ]
    expired = [
        i
        for i, t in enumerate(state.tasks)
        if t.status == TaskStatus.RUNNING and t.due is not None and t.due <= now
    ]
    return lost, expired
