"""The transition table: which status changes exist, and which do not."""

from __future__ import annotations

import pytest
from engine import model
from engine.model import Entity, TaskStatus, WorkflowStatus

W, T = WorkflowStatus, TaskStatus


class TestWorkflowTransitions:
    @pytest.mark.parametrize(
        ("name", "current"),
        [
            ("start", W.PENDING),
            ("succeed", W.RUNNING),
            ("fail", W.RUNNING),
            ("cancel", W.PENDING),
            ("cancel", W.RUNNING),
            ("retry", W.FAILED),
            ("retry", W.CANCELLED),
        ],
    )
    def test_allowed(self, name: str, current: str) -> None:
        assert model.check(Entity.WORKFLOW, name, current) is None

    @pytest.mark.parametrize(
        ("name", "current"),
        [
            ("start", W.RUNNING),
            ("succeed", W.PENDING),
            ("cancel", W.SUCCESS),
            ("cancel", W.FAILED),
            ("cancel", W.CANCELLED),
            ("retry", W.SUCCESS),
            ("retry", W.RUNNING),
            ("fail", W.SUCCESS),
        ],
    )
    def test_rejected_with_a_reason(self, name: str, current: str) -> None:
        reason = model.check(Entity.WORKFLOW, name, current)
        assert reason is not None
        assert f"cannot {name} a workflow that is {current}" in reason

    def test_success_is_final(self) -> None:
        assert not [
            t
            for t in model.TRANSITIONS.values()
            if t.entity == Entity.WORKFLOW and W.SUCCESS in t.from_states
        ]


class TestTaskTransitions:
    @pytest.mark.parametrize(
        ("name", "current", "to"),
        [
            ("ready", T.PENDING, T.READY),
            ("skip", T.PENDING, T.SKIPPED),
            ("claim", T.READY, T.RUNNING),
            ("succeed", T.RUNNING, T.SUCCEEDED),
            ("reschedule", T.RUNNING, T.READY),
            ("fail", T.RUNNING, T.FAILED),
            ("cancel", T.READY, T.CANCELLED),
            ("reset", T.SKIPPED, T.PENDING),
        ],
    )
    def test_allowed(self, name: str, current: str, to: str) -> None:
        assert model.check(Entity.TASK, name, current) is None
        assert model.transition(Entity.TASK, name).to_state == to

    @pytest.mark.parametrize(
        ("name", "current"),
        [
            ("claim", T.RUNNING),
            ("claim", T.PENDING),
            ("succeed", T.READY),
            ("ready", T.READY),
            ("cancel", T.SUCCEEDED),
            ("reset", T.SUCCEEDED),
            ("skip", T.RUNNING),
        ],
    )
    def test_rejected(self, name: str, current: str) -> None:
        assert model.check(Entity.TASK, name, current) is not None

    def test_a_succeeded_task_never_changes_again(self) -> None:
        assert not [
            t for t in model.TRANSITIONS.values() if t.entity == Entity.TASK and T.SUCCEEDED in t.from_states
        ]

    def test_every_status_is_reachable(self) -> None:
        reached = {t.to_state for t in model.TRANSITIONS.values() if t.entity == Entity.TASK} | {T.PENDING}
        assert reached == set(TaskStatus)


class TestBackoff:
    @pytest.mark.parametrize(("failed", "seconds"), [(1, 1.5), (2, 3.0), (3, 6.0), (30, 900.0)])
    def test_doubles_after_each_failure_up_to_fifteen_minutes(self, failed: int, seconds: float) -> None:
        assert model.backoff_seconds(1.5, failed) == seconds

    def test_idempotency_key_names_workflow_task_and_attempt(self) -> None:
        assert model.idempotency_key("wf-1", "B2", 3) == "wf-1:B2:3"
