"""The monitoring module: an encrypted topic, alarms on every failure mode, a dashboard."""

from __future__ import annotations

import json

from tests.infra.conftest import Stack, named, only, policy, ref, resources


def alarms(stack: Stack) -> dict[str, dict]:
    return {
        a["alarm_name"].split("-", 2)[2]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()
    }


class TestTopic:
    def test_encrypted_with_an_email_subscription_from_settings(self, env_stack: Stack) -> None:
        topic_name, topic = named(env_stack, "aws_sns_topic", "monitoring/alarms_topic")
        assert topic["kms_master_key_id"].startswith("${aws_kms_key.")
        subscription = only(env_stack, "aws_sns_topic_subscription")
        assert (subscription["protocol"], subscription["endpoint"]) == (
            "email",
            "platform-alerts@example.com",
        )
        (statement,) = policy(only(env_stack, "aws_sns_topic_policy"))["Statement"]
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert statement["Resource"] == ref("aws_sns_topic", topic_name, "arn")


class TestAlarms:
    def test_errors_and_throttles_for_every_function(self, env_stack: Stack) -> None:
        found = alarms(env_stack)
        for function in resources(env_stack, "aws_lambda_function").values():
            short = function["function_name"].split("-", 2)[2]
            for kind, metric in (("errors", "Errors"), ("throttles", "Throttles")):
                alarm = found[f"{short}-{kind}"]
                assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/Lambda", metric)
                assert alarm["dimensions"] == {"FunctionName": function["function_name"]}

    def test_stream_lag_dead_letters_throttles_api_and_failed_workflows(self, env_stack: Stack) -> None:
        found = alarms(env_stack)
        assert found["orchestrator-iterator-age"]["metric_name"] == "IteratorAge"
        assert found["orchestrator-iterator-age"]["statistic"] == "Maximum"
        for queue in ("orchestrator-dlq-depth", "worker-dlq-depth"):
            assert found[queue]["metric_name"] == "ApproximateNumberOfMessagesVisible"
            assert (
                found[queue]["threshold"] == 0
                and found[queue]["comparison_operator"] == "GreaterThanThreshold"
            )
        for table in ("workflows", "connections"):
            assert found[f"{table}-write-throttles"]["metric_name"] == "WriteThrottleEvents"
            assert found[f"{table}-read-throttles"]["metric_name"] == "ReadThrottleEvents"
        assert found["rest-5xx"]["metric_name"] == "5XXError"
        assert found["rest-latency-p99"]["extended_statistic"] == "p99"
        assert "statistic" not in found["rest-latency-p99"]
        assert found["workflows-failed"]["metric_name"] == "WorkflowsFailed"

    def test_every_alarm_notifies_the_topic_and_its_recovery(self, env_stack: Stack) -> None:
        topic, _ = named(env_stack, "aws_sns_topic", "monitoring/alarms_topic")
        for alarm in resources(env_stack, "aws_cloudwatch_metric_alarm").values():
            assert alarm["alarm_actions"] == alarm["ok_actions"] == [ref("aws_sns_topic", topic, "arn")]
            assert alarm["treat_missing_data"] == "notBreaching"
            assert alarm["alarm_description"]

    def test_dlq_alarms_watch_the_queues_the_stack_creates(self, env_stack: Stack) -> None:
        queues = {q["name"] for q in resources(env_stack, "aws_sqs_queue").values()}
        watched = {
            a["dimensions"]["QueueName"]
            for a in resources(env_stack, "aws_cloudwatch_metric_alarm").values()
            if a["namespace"] == "AWS/SQS"
        }
        assert watched <= queues and len(watched) == 2


class TestDashboard:
    def test_widgets_cover_the_alarmed_metrics(self, env_stack: Stack) -> None:
        body = json.loads(only(env_stack, "aws_cloudwatch_dashboard")["dashboard_body"])
        metrics = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
        alarmed = {a["metric_name"] for a in resources(env_stack, "aws_cloudwatch_metric_alarm").values()}
        assert alarmed <= metrics
        assert {"WorkflowsStarted", "WorkflowsSucceeded", "TaskDuration", "TaskRetries"} <= metrics
