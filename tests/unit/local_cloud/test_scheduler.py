"""EventBridge schedules: rate and cron expressions, and the permission a target needs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from local_cloud.stacks import PY_ECHO, StackBuilder, ref
from localcloud.permissions import Permissions
from localcloud.plan import Plan, PlanError
from localcloud.scheduler import Cron, Scheduler, parse_rate


class TestExpressions:
    @pytest.mark.parametrize(
        ("expression", "seconds"),
        [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
    )
    def test_rates(self, expression: str, seconds: float) -> None:
        assert parse_rate(expression) == seconds

    @pytest.mark.parametrize(
        "expression", ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(1 week)"]
    )
    def test_rates_aws_refuses(self, expression: str) -> None:
        with pytest.raises(ValueError, match="rate"):
            parse_rate(expression)

    @pytest.mark.parametrize(
        ("expression", "after", "expected"),
        [
            ("cron(0 12 * * ? *)", "2026-03-01T10:30", "2026-03-01T12:00"),
            ("cron(15 10 ? * MON-FRI *)", "2026-03-07T00:00", "2026-03-09T10:15"),  # Saturday -> Monday
            ("cron(0/30 * * * ? *)", "2026-03-01T10:31", "2026-03-01T11:00"),
            ("cron(0 0 1 JAN ? 2027)", "2026-06-01T00:00", "2027-01-01T00:00"),
        ],
    )
    def test_cron_next(self, expression: str, after: str, expected: str) -> None:
        moment = dt.datetime.fromisoformat(after).replace(tzinfo=dt.UTC)
        assert Cron(expression).next_after(moment) == dt.datetime.fromisoformat(expected).replace(
            tzinfo=dt.UTC
        )

    def test_cron_features_it_cannot_run_are_named(self) -> None:
        with pytest.raises(ValueError, match="L, W and # are not supported"):
            Cron("cron(0 10 L * ? *)")


def schedule(stack: StackBuilder, *, permission: bool, expression: str = "rate(1 minute)") -> Plan:
    stack.function("tick", {"app.py": PY_ECHO})
    stack.add("aws_cloudwatch_event_rule", "tick", name="tick", schedule_expression=expression)
    stack.add(
        "aws_cloudwatch_event_target",
        "tick",
        rule=ref("aws_cloudwatch_event_rule", "tick", "name"),
        arn=ref("aws_lambda_function", "tick", "arn"),
    )
    if permission:
        stack.add(
            "aws_lambda_permission",
            "tick",
            function_name=ref("aws_lambda_function", "tick", "function_name"),
            action="lambda:InvokeFunction",
            principal="events.amazonaws.com",
            source_arn=ref("aws_cloudwatch_event_rule", "tick", "arn"),
        )
    stack.write()
    return Plan.load(stack.root, stack.name)


class FakeLambda:
    """Records the asynchronous invocations the scheduler makes."""

    def __init__(self) -> None:
        self.invoked: list[tuple[str, bytes]] = []

    def get(self, name: str) -> FakeLambda.Function:
        return FakeLambda.Function(self, name)

    class Function:
        def __init__(self, service: FakeLambda, name: str) -> None:
            self.service, self.name = service, name

        def invoke_async(self, payload: bytes) -> str:
            self.service.invoked.append((self.name, payload))
            return "request-id"


class TestTargets:
    def test_a_target_without_permission_is_not_invoked(self, stack: StackBuilder) -> None:
        plan = schedule(stack, permission=False)
        service = FakeLambda()
        scheduler = Scheduler(plan, service, Permissions(plan))  # type: ignore[arg-type]
        scheduler.fire(scheduler.rules[0])
        assert service.invoked == [] and scheduler.fired == 0

    def test_a_permitted_target_gets_the_scheduled_event(self, stack: StackBuilder) -> None:
        plan = schedule(stack, permission=True)
        service = FakeLambda()
        scheduler = Scheduler(plan, service, Permissions(plan))  # type: ignore[arg-type]
        scheduler.fire(scheduler.rules[0])
        ((name, payload),) = service.invoked
        assert name == "test-tick"
        event = json.loads(payload)
        assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
        assert event["resources"] == ["arn:aws:events:eu-central-1:123456789012:rule/tick"]

    def test_an_expression_it_cannot_parse_stops_start_up(self, stack: StackBuilder) -> None:
        plan = schedule(stack, permission=True, expression="rate(1 fortnight)")
        with pytest.raises(PlanError, match=r"aws_cloudwatch_event_rule\.tick: schedule_expression"):
            Scheduler(plan, FakeLambda(), Permissions(plan))  # type: ignore[arg-type]
