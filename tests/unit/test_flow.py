"""The engine's decisions as pure functions of the state item (no DynamoDB)."""

from __future__ import annotations

from engine import flow
from engine.flow import Dag
from engine.model import TaskState, WorkflowState
from engine.store import Expr

DAG = Dag.from_definition(
    {
        "tasks": [
            {"id": "A", "function": "f", "timeout_seconds": 30},
            {"id": "B1", "function": "f", "depends_on": ["A"], "timeout_seconds": 30},
            {"id": "B2", "function": "f", "depends_on": ["A"], "timeout_seconds": 30},
            {"id": "C", "function": "f", "depends_on": ["B1", "B2"], "timeout_seconds": 30},
        ]
    }
)
NOW = 1_800_000_000.0


def state(status: str = "RUNNING", **tasks: str | tuple[str, int]) -> WorkflowState:
    entries = []
    for tid in DAG.ids:
        value = tasks.get(tid, "PENDING")
        st, attempt = (value, 1) if isinstance(value, str) else value
        entries.append(TaskState(st, attempt if st != "PENDING" else 0))
    return WorkflowState("wf", status, 5, "inline", "2026-01-01T00:00:00.000Z", tuple(entries))


def clauses_of(change: flow.Change) -> set[tuple[object, ...]]:
    """Every task/status clause of a write's condition, the alternatives of an "any" clause included."""
    flat = [a for r in change.requires for a in (r.values if r.kind == "any" else (r,))]
    return {(r.kind, r.index, r.field, r.op, r.values) for r in flat}


def holds(requirement: flow.Require, on: WorkflowState) -> bool:
    """Whether one clause of a condition holds on a state (what DynamoDB evaluates)."""
    if requirement.kind == "any":
        return any(holds(r, on) for r in requirement.values)
    if requirement.kind == "status":
        return on.status in requirement.values
    task = on.tasks[requirement.index]
    value = task.status if requirement.field == "s" else task.attempt
    if requirement.op == "<>":
        return value != requirement.values[0]
    return value in requirement.values


def statuses(change: flow.Change) -> dict[str, str]:
    after = change.after()
    return {DAG.ids[i]: t.status for i, t in enumerate(after.tasks)}


class TestCreate:
    def test_writer_dispatch_starts_the_workflow_with_its_roots_ready_in_the_first_write(self) -> None:
        change = flow.create("wf", DAG, "2026-01-01T00:00:00.000Z", NOW, start=True)
        assert change.after().status == "RUNNING"
        assert statuses(change) == {"A": "READY", "B1": "PENDING", "B2": "PENDING", "C": "PENDING"}
        assert [d.task_id for d in change.dispatches(DAG)] == ["A"]

    def test_stream_dispatch_leaves_the_start_to_the_orchestrator(self) -> None:
        change = flow.create("wf", DAG, "2026-01-01T00:00:00.000Z", NOW, start=False)
        assert (change.after().status, change.after().settled) == ("PENDING", False)
        started = flow.reconcile(change.after(), DAG, NOW)
        assert statuses(started)["A"] == "READY"
        assert started.after().status == "RUNNING"


class TestResults:
    def test_a_result_makes_its_dependents_ready_in_the_same_write(self) -> None:
        change = flow.finish_attempt(state(A="RUNNING"), DAG, 0, 1, "SUCCEEDED", NOW, decisions=True)
        assert change is not None
        assert statuses(change) == {"A": "SUCCEEDED", "B1": "READY", "B2": "READY", "C": "PENDING"}
        assert sorted(d.task_id for d in change.dispatches(DAG)) == ["B1", "B2"]

    def test_without_writer_dispatch_a_result_decides_nothing(self) -> None:
        change = flow.finish_attempt(state(A="RUNNING"), DAG, 0, 1, "SUCCEEDED", NOW, decisions=False)
        assert change is not None
        assert statuses(change)["B1"] == "PENDING"
        assert not change.settled

    def test_the_write_names_the_task_fields_it_rests_on(self) -> None:
        change = flow.finish_attempt(
            state(A="SUCCEEDED", B1="RUNNING", B2="RUNNING"), DAG, 1, 1, "SUCCEEDED", NOW, decisions=True
        )
        assert change is not None
        clauses = clauses_of(change)
        # its own attempt, the workflow running, and the fan-in witness: B2 has not succeeded meanwhile
        assert ("task", 1, "s", "=", ("RUNNING",)) in clauses
        assert ("task", 1, "a", "=", (1,)) in clauses
        assert ("status", -1, "s", "=", ("RUNNING",)) in clauses
        assert ("task", 2, "s", "<>", ("SUCCEEDED",)) in clauses
        # and the end witness: C is still unfinished (if it were not, this result could end the workflow)
        assert ("task", 3, "s", "in", ("PENDING", "READY", "RUNNING")) in clauses
        # nothing about A: SUCCEEDED is final
        assert not [c for c in clauses if c[1] == 0]

    def test_two_siblings_finishing_at_once_the_later_write_loses_and_takes_the_fan_in(self) -> None:
        read = state(A="SUCCEEDED", B1="RUNNING", B2="RUNNING")
        first = flow.finish_attempt(read, DAG, 1, 1, "SUCCEEDED", NOW, decisions=True)
        second = flow.finish_attempt(read, DAG, 2, 1, "SUCCEEDED", NOW, decisions=True)
        assert first is not None and second is not None
        committed = first.after()
        # The second write's witness (B1 not SUCCEEDED) no longer holds on the committed state ...
        witness = next(r for r in second.requires if r.op == "<>")
        assert committed.tasks[witness.index].status == "SUCCEEDED"
        # ... so it is computed again from the state DynamoDB returned, and makes C READY.
        again = flow.finish_attempt(committed, DAG, 2, 1, "SUCCEEDED", NOW, decisions=True)
        assert again is not None
        assert statuses(again)["C"] == "READY"

    def test_of_three_siblings_the_first_two_to_finish_do_not_fail_each_other(self) -> None:
        dag = Dag.from_definition(
            {
                "tasks": [
                    {"id": "A", "function": "f", "timeout_seconds": 30},
                    *(
                        {"id": b, "function": "f", "depends_on": ["A"], "timeout_seconds": 30}
                        for b in ("B1", "B2", "B3")
                    ),
                    {"id": "C", "function": "f", "depends_on": ["B1", "B2", "B3"], "timeout_seconds": 30},
                ]
            }
        )
        running = TaskState("RUNNING", 1)
        read = WorkflowState(
            "wf",
            "RUNNING",
            5,
            "inline",
            "2026-01-01T00:00:00.000Z",
            (TaskState("SUCCEEDED", 1), running, running, running, TaskState("PENDING", 0)),
        )
        first = flow.finish_attempt(read, dag, 1, 1, "SUCCEEDED", NOW, decisions=True)
        second = flow.finish_attempt(read, dag, 2, 1, "SUCCEEDED", NOW, decisions=True)
        assert first is not None and second is not None
        # B1 commits first: C still waits for B3, so B2's write (read before B1's) still holds ...
        assert all(holds(r, first.after()) for r in second.requires)
        after_both = second.after().tasks
        assert [t.status for t in after_both][1:] == ["RUNNING", "SUCCEEDED", "RUNNING", "PENDING"]
        # ... while B3's, read before both, loses once B1 and B2 have succeeded: it takes the fan-in.
        both = WorkflowState(
            "wf",
            "RUNNING",
            7,
            "inline",
            "2026-01-01T00:00:00.000Z",
            (
                TaskState("SUCCEEDED", 1),
                TaskState("SUCCEEDED", 1),
                TaskState("SUCCEEDED", 1),
                running,
                TaskState("PENDING", 0),
            ),
        )
        third = flow.finish_attempt(read, dag, 3, 1, "SUCCEEDED", NOW, decisions=True)
        assert third is not None
        assert not all(holds(r, both) for r in third.requires)
        again = flow.finish_attempt(both, dag, 3, 1, "SUCCEEDED", NOW, decisions=True)
        assert again is not None and again.after().tasks[4].status == "READY"

    def test_the_densest_dag_keeps_its_condition_within_dynamodbs_expression_limits(self) -> None:
        """25 roots, 25 joins that each need every root: a root's result names a witness per join."""
        roots = [f"R{n}" for n in range(25)]
        tasks: list[dict[str, object]] = [{"id": r, "function": "f", "timeout_seconds": 30} for r in roots]
        tasks += [
            {"id": f"J{n}", "function": "f", "depends_on": roots, "timeout_seconds": 30} for n in range(25)
        ]
        dag = Dag.from_definition({"tasks": tasks})
        read = WorkflowState(
            "wf",
            "RUNNING",
            5,
            "inline",
            "2026-01-01T00:00:00.000Z",
            tuple([TaskState("RUNNING", 1)] * 25 + [TaskState("PENDING", 0)] * 25),
        )
        change = flow.finish_attempt(read, dag, 0, 1, "SUCCEEDED", NOW, decisions=True)
        assert change is not None
        expr = Expr()
        expression = " AND ".join(f"({expr.clause(r)})" for r in change.requires)
        comparisons = expression.count(" = ") + expression.count(" <> ") + expression.count(" IN (")
        logical = expression.count(" AND ") + expression.count(" OR ")
        # "Constraints in Amazon DynamoDB": at most 300 operators and 4 KB per expression.
        assert comparisons + logical < 300
        assert len(expression.encode()) < 4096
        assert comparisons >= 25 + 3  # every join still names a witness, the end one too

    def test_a_failure_with_attempts_left_is_ready_again_after_its_backoff(self) -> None:
        change = flow.finish_attempt(state(A="RUNNING"), DAG, 0, 1, "FAILED", NOW, decisions=True)
        assert change is not None
        task = change.task(0)
        assert (task.status, task.attempt) == ("READY", 2)
        (dispatch,) = change.dispatches(DAG)
        assert dispatch.not_before == NOW + 1.0

    def test_the_last_failure_skips_the_dependents_and_fails_the_workflow(self) -> None:
        change = flow.finish_attempt(state(A=("RUNNING", 3)), DAG, 0, 3, "FAILED", NOW, decisions=True)
        assert change is not None
        assert statuses(change) == {"A": "FAILED", "B1": "SKIPPED", "B2": "SKIPPED", "C": "SKIPPED"}
        assert change.after().status == "FAILED"

    def test_the_last_success_finishes_the_workflow(self) -> None:
        read = state(A="SUCCEEDED", B1="SUCCEEDED", B2="SUCCEEDED", C="RUNNING")
        change = flow.finish_attempt(read, DAG, 3, 1, "SUCCEEDED", NOW, decisions=True)
        assert change is not None and change.after().status == "SUCCESS"

    def test_a_late_or_duplicate_result_changes_nothing(self) -> None:
        assert flow.finish_attempt(state(A="SUCCEEDED"), DAG, 0, 1, "SUCCEEDED", NOW, decisions=True) is None
        assert flow.finish_attempt(state(A=("RUNNING", 2)), DAG, 0, 1, "FAILED", NOW, decisions=True) is None
        assert (
            flow.finish_attempt(state("CANCELLED", A="RUNNING"), DAG, 0, 1, "SUCCEEDED", NOW, decisions=True)
            is None
        )


class TestClaims:
    def test_a_claim_names_the_attempt_and_takes_a_lease_covering_its_deadline(self) -> None:
        change = flow.claim(state(A="READY"), DAG, 0, 1, NOW)
        assert change is not None
        task = change.task(0)
        assert (task.status, task.due) == ("RUNNING", NOW + 30 + flow.LEASE_MARGIN_SECONDS)
        assert flow.claim(state(A="READY"), DAG, 0, 2, NOW) is None
        assert flow.claim(state(A="RUNNING"), DAG, 0, 1, NOW) is None

    def test_a_writer_keeps_a_dependent_it_made_ready_claimed_in_the_same_write(self) -> None:
        change = flow.finish_attempt(state(A="RUNNING"), DAG, 0, 1, "SUCCEEDED", NOW, decisions=True)
        assert change is not None
        flow.claim_inline(change, DAG, 1, NOW)
        assert statuses(change)["B1"] == "RUNNING"
        assert [d.task_id for d in change.dispatches(DAG)] == ["B2"]


class TestSweep:
    def test_overdue_ready_and_expired_running_tasks_are_found(self) -> None:
        tasks = (TaskState("READY", 1, due=int(NOW) - 1), TaskState("RUNNING", 1, due=int(NOW) + 60))
        read = WorkflowState("wf", "RUNNING", 3, "inline", "x", tasks + (TaskState("PENDING"),) * 2)
        lost, expired = flow.overdue(read, DAG, NOW)
        assert [d.task_id for d in lost] == ["A"] and expired == []
        assert flow.overdue(read, DAG, NOW + 61)[1] == [1]


class TestCancelAndRetry:
    def test_cancel_stops_every_unfinished_task(self) -> None:
        change = flow.cancel(state(A="SUCCEEDED", B1="RUNNING", B2="READY"), NOW)
        assert statuses(change) == {"A": "SUCCEEDED", "B1": "CANCELLED", "B2": "CANCELLED", "C": "CANCELLED"}

    def test_retry_resets_what_did_not_succeed_and_decides_what_is_ready(self) -> None:
        read = state("FAILED", A="SUCCEEDED", B1=("FAILED", 3), B2="SUCCEEDED", C="SKIPPED")
        change = flow.retry(read, DAG, NOW, decisions=True)
        assert statuses(change) == {"A": "SUCCEEDED", "B1": "READY", "B2": "SUCCEEDED", "C": "PENDING"}
        assert change.task(1).attempt == 4 and change.task(1).max_attempts == 6
