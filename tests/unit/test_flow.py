"""Decisions derived from one workflow image (pure: no DynamoDB)."""

from __future__ import annotations

from engine import flow
from engine.model import TaskSummary, Workflow


def image(status: str, version: int = 5, **tasks: str | tuple[str, int]) -> Workflow:
    deps = {"A": [], "B1": ["A"], "B2": ["A"], "C": ["B1", "B2"]}
    summaries = {}
    for tid, value in tasks.items():
        st, attempt = (value, 1) if isinstance(value, str) else value
        summaries[tid] = TaskSummary(st, attempt, 3)
    return Workflow(
        workflow_id="wf",
        status=status,
        definition_name="inline",
        definition={"tasks": [{"id": t, "function": "f", "depends_on": d} for t, d in deps.items()]},
        input={},
        request_hash="h",
        tasks=summaries,
        version=version,
        created_at="2026-01-01T00:00:00.000Z",
    )


class TestPlan:
    def test_a_pending_workflow_starts_with_its_roots_ready(self) -> None:
        p = flow.plan(image("PENDING", A="PENDING", B1="PENDING", B2="PENDING", C="PENDING"))
        assert (p.workflow_transition, p.ready, p.skip) == ("start", ["A"], [])

    def test_fan_in_waits_for_every_dependency(self) -> None:
        p = flow.plan(image("RUNNING", A="SUCCEEDED", B1="SUCCEEDED", B2="RUNNING", C="PENDING"))
        assert p.empty

    def test_fan_in_when_the_last_dependency_succeeded_relies_on_their_versions(self) -> None:
        p = flow.plan(image("RUNNING", A="SUCCEEDED", B1="SUCCEEDED", B2="SUCCEEDED", C="PENDING"))
        assert (p.ready, p.relied_on) == (["C"], {"B1": 3, "B2": 3})

    def test_a_failed_dependency_skips_dependents_and_finishes_the_workflow(self) -> None:
        p = flow.plan(image("RUNNING", A="FAILED", B1="PENDING", B2="PENDING", C="PENDING"))
        assert sorted(p.skip) == ["B1", "B2", "C"]
        assert p.workflow_transition == "fail"

    def test_all_succeeded_succeeds(self) -> None:
        p = flow.plan(image("RUNNING", A="SUCCEEDED", B1="SUCCEEDED", B2="SUCCEEDED", C="SUCCEEDED"))
        assert (p.workflow_transition, p.ready, p.skip) == ("succeed", [], [])

    def test_finished_workflows_call_for_nothing(self) -> None:
        for status in ("SUCCESS", "FAILED", "CANCELLED"):
            assert flow.plan(image(status, A="FAILED", B1="PENDING", B2="PENDING", C="PENDING")).empty


class TestDispatches:
    def test_a_task_that_became_ready_is_dispatched_once_per_attempt(self) -> None:
        old = image("RUNNING", A="RUNNING", B1="PENDING", B2="PENDING", C="PENDING")
        new = image("RUNNING", A=("READY", 2), B1="PENDING", B2="PENDING", C="PENDING")
        assert flow.dispatches(old, new) == [flow.Dispatch("wf", "A", 2)]
        assert flow.dispatches(new, new) == []

    def test_nothing_is_dispatched_for_a_cancelled_workflow(self) -> None:
        assert (
            flow.dispatches(None, image("CANCELLED", A="READY", B1="PENDING", B2="PENDING", C="PENDING"))
            == []
        )
