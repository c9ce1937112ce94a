"""Monitoring: alarms on everything that can go wrong, an encrypted SNS topic they notify, a dashboard."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.components import policy_document

PERIOD = 60


@dataclass(frozen=True)
class QueueRef:
    name: str
    description: str


@dataclass(frozen=True)
class MonitoringInputs:
    name_prefix: str
    environment: str
    account_id: str
    region: str
    kms_key_arn: str
    alarm_email: str
    function_names: Mapping[str, str]  # function id → name
    orchestrator_name: str
    dead_letter_queues: Sequence[QueueRef]
    table_names: Sequence[str]
    rest_api_name: str
    rest_stage: str
    metrics_namespace: str


@dataclass(frozen=True)
class Alarm:
    """One alarm: which metric, which statistic, when it fires and what it means."""

    id: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, str]
    threshold: float
    statistic: str = "Sum"
    comparison: str = "GreaterThanOrEqualToThreshold"
    evaluation_periods: int = 1
    period: int = PERIOD * 5

    @property
    def percentile(self) -> bool:
        return self.statistic.startswith("p")


class Monitoring(Construct):
    """Alarms notify the topic (and say when they recover); the dashboard shows the same metrics."""

    def __init__(self, scope: Construct, id: str, inputs: MonitoringInputs) -> None:
        super().__init__(scope, id)
        self.topic = aws.sns_topic.SnsTopic(
            self, "alarms_topic", name=f"{inputs.name_prefix}-alarms", kms_master_key_id=inputs.kms_key_arn
        )
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "alarms_topic_policy",
            arn=self.topic.arn,
            policy=policy_document(
                [
                    {
                        "Sid": "CloudWatchAlarmsOfThisAccountPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": inputs.account_id}},
                    }
                ]
            ),
        )
        aws.sns_topic_subscription.SnsTopicSubscription(
            self, "alarms_email", topic_arn=self.topic.arn, protocol="email", endpoint=inputs.alarm_email
        )

        self.alarms = alarms(inputs)
        for alarm in self.alarms:
            aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
                self,
                alarm.id.replace("-", "_"),
                alarm_name=f"{inputs.name_prefix}-{alarm.id}",
                alarm_description=alarm.description,
                namespace=alarm.namespace,
                metric_name=alarm.metric,
                dimensions=dict(alarm.dimensions),
                threshold=alarm.threshold,
                comparison_operator=alarm.comparison,
                evaluation_periods=alarm.evaluation_periods,
                period=alarm.period,
                treat_missing_data="notBreaching",
                statistic=None if alarm.percentile else alarm.statistic,
                extended_statistic=alarm.statistic if alarm.percentile else None,
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
            )
        aws.cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=inputs.name_prefix,
            dashboard_body=json.dumps(dashboard(inputs), sort_keys=True),
        )
        self.dashboard_name = inputs.name_prefix


def alarms(inputs: MonitoringInputs) -> list[Alarm]:
    """Every alarm of an environment, as data (the infra tests read this list too)."""
    found = []
    for function_id, name in sorted(inputs.function_names.items()):
        found += [
            Alarm(
                f"{function_id}-errors",
                f"{name} raised errors",
                "AWS/Lambda",
                "Errors",
                {"FunctionName": name},
                threshold=1,
            ),
            Alarm(
                f"{function_id}-throttles",
                f"{name} was throttled",
                "AWS/Lambda",
                "Throttles",
                {"FunctionName": name},
                threshold=1,
            ),
        ]
    found.append(
        Alarm(
            "orchestrator-iterator-age",
            "The orchestrator falls behind the workflows stream (over a minute)",
            "AWS/Lambda",
            "IteratorAge",
            {"FunctionName": inputs.orchestrator_name},
            threshold=60_000,
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            evaluation_periods=3,
            period=PERIOD,
        )
    )
    for queue in inputs.dead_letter_queues:
        found.append(
            Alarm(
                f"{queue.name.removeprefix(inputs.name_prefix + '-')}-depth",
                f"{queue.description}: messages waiting",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": queue.name},
                threshold=0,
                statistic="Maximum",
                comparison="GreaterThanThreshold",
                period=PERIOD,
            )
        )
    for table in inputs.table_names:
        short = table.removeprefix(inputs.name_prefix + "-")
        for kind in ("Read", "Write"):
            found.append(
                Alarm(
                    f"{short}-{kind.lower()}-throttles",
                    f"DynamoDB throttled {kind.lower()}s on {table}",
                    "AWS/DynamoDB",
                    f"{kind}ThrottleEvents",
                    {"TableName": table},
                    threshold=1,
                )
            )
    api = {"ApiName": inputs.rest_api_name, "Stage": inputs.rest_stage}
    found += [
        Alarm("rest-5xx", "The REST API answered 5xx", "AWS/ApiGateway", "5XXError", api, threshold=1),
        Alarm(
            "rest-latency-p99",
            "REST API p99 latency above 3 s for 15 minutes",
            "AWS/ApiGateway",
            "Latency",
            api,
            threshold=3000,
            statistic="p99",
            comparison="GreaterThanThreshold",
            evaluation_periods=3,
        ),
        Alarm(
            "workflows-failed",
            "Workflows failed (the engine's WorkflowsFailed metric)",
            inputs.metrics_namespace,
            "WorkflowsFailed",
            {"service": "orchestra"},
            threshold=1,
        ),
    ]
    return found


def dashboard(inputs: MonitoringInputs) -> dict[str, Any]:
    """The CloudWatch dashboard: one row per concern, the alarms' metrics included."""
    region = inputs.region
    functions = sorted(inputs.function_names.values())
    api = ["ApiName", inputs.rest_api_name, "Stage", inputs.rest_stage]
    namespace = inputs.metrics_namespace

    def graph(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": PERIOD,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    return {
        "widgets": [
            graph(
                "Workflows",
                [
                    [namespace, name, "service", "orchestra"]
                    for name in ("WorkflowsStarted", "WorkflowsSucceeded", "WorkflowsFailed")
                ],
                0,
                0,
            ),
            graph(
                "Task duration (ms) and retries",
                [
                    [namespace, "TaskDuration", "service", "orchestra", {"stat": "p95"}],
                    [namespace, "TaskRetries", "service", "orchestra", {"yAxis": "right"}],
                ],
                12,
                0,
            ),
            graph(
                "Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", name] for name in functions], 0, 6
            ),
            graph(
                "Lambda throttles",
                [["AWS/Lambda", "Throttles", "FunctionName", name] for name in functions],
                12,
                6,
            ),
            graph(
                "Orchestrator iterator age (ms)",
                [["AWS/Lambda", "IteratorAge", "FunctionName", inputs.orchestrator_name]],
                0,
                12,
                stat="Maximum",
            ),
            graph(
                "Dead-letter queues",
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name]
                    for q in inputs.dead_letter_queues
                ],
                12,
                12,
                stat="Maximum",
            ),
            graph(
                "DynamoDB throttles",
                [
                    ["AWS/DynamoDB", f"{kind}ThrottleEvents", "TableName", table]
                    for table in inputs.table_names
                    for kind in ("Read", "Write")
                ],
                0,
                18,
            ),
            graph(
                "REST API errors",
                [["AWS/ApiGateway", "5XXError", *api], ["AWS/ApiGateway", "4XXError", *api]],
                12,
                18,
            ),
            graph(
                "REST API latency (ms)",
                [
                    ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                    ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
                ],
                0,
                24,
                stat="p99",
            ),
        ]
    }
