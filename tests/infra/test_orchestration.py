"""The orchestration module: functions, roles, log groups, the stream mapping, queues, the schedule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine.config import REQUIRED

from modules.orchestration import FUNCTIONS, WORKFLOW_ITEMS_ONLY
from tests.infra.conftest import Stack, named, only, policy, ref, resources

ENGINE_HANDLERS = ("api", "orchestrator", "worker", "reaper", "websocket", "authorizer")


def function(stack: Stack, function_id: str) -> tuple[str, dict[str, Any]]:
    return named(stack, "aws_lambda_function", f"orchestration/{function_id}_function")


def role_policy(stack: Stack, function_id: str) -> list[dict[str, Any]]:
    _, body = named(stack, "aws_iam_role_policy", f"orchestration/{function_id}_policy")
    return policy(body)["Statement"]


class TestFunctions:
    def test_one_function_per_handler_and_task(self, env_stack: Stack) -> None:
        names = sorted(f["function_name"] for f in resources(env_stack, "aws_lambda_function").values())
        prefix = names[0].rsplit("-", 1)[0]
        expected = [
            "api",
            "authorizer",
            "orchestrator",
            "reaper",
            "task-a",
            "task-b1",
            "task-b2",
            "task-b3",
            "task-c",
            "websocket",
            "worker",
        ]
        assert names == sorted(f"{prefix}-{x}" for x in expected)

    @pytest.mark.parametrize(
        ("function_id", "runtime", "handler"),
        [
            ("api", "python3.12", "engine.handlers.api.handler"),
            ("orchestrator", "python3.12", "engine.handlers.orchestrator.handler"),
            ("worker", "python3.12", "engine.handlers.worker.handler"),
            ("reaper", "python3.12", "engine.handlers.reaper.handler"),
            ("websocket", "python3.12", "engine.handlers.websocket.handler"),
            ("task-a", "nodejs20.x", "index.handler"),
            ("task-b1", "nodejs20.x", "index.handler"),
            ("task-c", "nodejs20.x", "index.handler"),
            ("task-b2", "python3.12", "handler.handler"),
        ],
    )
    def test_zip_functions_run_their_handler(
        self, stacks: dict[str, Stack], function_id: str, runtime: str, handler: str
    ) -> None:
        _, body = function(stacks["dev"], function_id)
        assert (body["package_type"], body["runtime"], body["handler"]) == ("Zip", runtime, handler)
        assert body["filename"].startswith("assets/") and body["filename"].endswith(".zip")
        assert len(body["source_code_hash"]) == 44  # base64 of a SHA-256

    def test_b3_runs_from_an_image_in_its_repository(self, stacks: dict[str, Stack]) -> None:
        _, body = function(stacks["dev"], "task-b3")
        assert body["package_type"] == "Image"
        assert "runtime" not in body and "handler" not in body
        repository, _ = named(stacks["dev"], "aws_ecr_repository", "orchestration/images")
        assert body["image_uri"].startswith(f"${{aws_ecr_repository.{repository}.repository_url}}:src-")

    def test_image_repository_is_immutable_scanned_encrypted_and_pruned(self, env_stack: Stack) -> None:
        repository = only(env_stack, "aws_ecr_repository")
        assert repository["image_tag_mutability"] == "IMMUTABLE"
        assert repository["image_scanning_configuration"] == {"scan_on_push": True}
        assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
        rules = json.loads(only(env_stack, "aws_ecr_lifecycle_policy")["policy"])["rules"]
        assert rules[0]["selection"]["countType"] == "imageCountMoreThan"

    def test_every_function_traces_encrypts_and_runs_in_the_private_subnets(self, env_stack: Stack) -> None:
        private = env_stack["output"]["private_subnet_ids"]["value"]
        for name, body in resources(env_stack, "aws_lambda_function").items():
            assert body["tracing_config"] == {"mode": "Active"}
            assert body["kms_key_arn"].startswith("${aws_kms_key.")
            if "authorizer_function" in name:
                # It reads the user pool's public keys from Cognito and touches nothing in the VPC.
                assert "vpc_config" not in body
                continue
            assert body["vpc_config"]["subnet_ids"] == private
            assert (
                body["vpc_config"]["security_group_ids"]
                == env_stack["output"]["lambda_security_group_ids"]["value"]
            )

    def test_reserved_concurrency_protects_worker_orchestrator_and_reaper(
        self, stacks: dict[str, Stack]
    ) -> None:
        reserved = {
            body["function_name"].removeprefix("orchestra-prod-"): body.get("reserved_concurrent_executions")
            for body in resources(stacks["prod"], "aws_lambda_function").values()
        }
        assert reserved["worker"] == 200 and reserved["orchestrator"] == 20 and reserved["reaper"] == 1
        assert reserved["api"] is None

    def test_worker_outlasts_the_longest_task(self, env_stack: Stack) -> None:
        from engine.definitions import MAX_TIMEOUT_SECONDS

        _, worker = function(env_stack, "worker")
        assert worker["timeout"] == 900 > MAX_TIMEOUT_SECONDS


class TestEnvironment:
    @pytest.mark.parametrize("function_id", ENGINE_HANDLERS)
    def test_each_handler_gets_exactly_what_the_engine_requires(
        self, env_stack: Stack, function_id: str
    ) -> None:
        _, body = function(env_stack, function_id)
        variables = set(body["environment"]["variables"])
        powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
        # Read when present, and always set where identities are checked (absent means "cognito").
        optional = {"AUTH_MODE"} if function_id in ("api", "websocket", "authorizer") else set()
        assert variables - powertools - optional == set(REQUIRED[function_id])

    def test_task_functions_map_names_and_types(self, env_stack: Stack) -> None:
        _, body = function(env_stack, "worker")
        mapping = json.loads(body["environment"]["variables"]["TASK_FUNCTIONS"])
        names = {b["function_name"] for b in resources(env_stack, "aws_lambda_function").values()}
        assert {k: v["type"] for k, v in mapping.items()} == {
            "task-a": "node",
            "task-b1": "node",
            "task-b2": "python",
            "task-b3": "container",
            "task-c": "node",
        }
        assert {v["function_name"] for v in mapping.values()} <= names

    def test_orchestrator_posts_to_this_websocket_api(self, env_stack: Stack) -> None:
        _, body = function(env_stack, "orchestrator")
        ws, _ = named(env_stack, "aws_apigatewayv2_api", "api/websocket_api")
        assert body["environment"]["variables"]["WEBSOCKET_API_ENDPOINT"] == (
            f"https://${{aws_apigatewayv2_api.{ws}.id}}.execute-api.eu-central-1.amazonaws.com/prod"
        )

    def test_api_allows_the_dashboard_origin_and_the_configured_extras(
        self, stacks: dict[str, Stack]
    ) -> None:
        _, body = function(stacks["dev"], "api")
        distribution, _ = named(stacks["dev"], "aws_cloudfront_distribution", "site/distribution")
        assert body["environment"]["variables"]["CORS_ALLOW_ORIGINS"] == (
            f"https://${{aws_cloudfront_distribution.{distribution}.domain_name}},http://localhost:5173"
        )
        _, prod = function(stacks["prod"], "api")
        assert "," not in prod["environment"]["variables"]["CORS_ALLOW_ORIGINS"]

    def test_metrics_namespace_matches_the_failed_workflows_alarm(self, env_stack: Stack) -> None:
        _, body = function(env_stack, "orchestrator")
        namespace = body["environment"]["variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        alarm = named(
            env_stack, "aws_cloudwatch_metric_alarm", "monitoring/workflows-failed".replace("-", "_")
        )[1]
        assert alarm["namespace"] == namespace
        assert alarm["dimensions"] == {"service": body["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]}


class TestLogGroups:
    def test_every_function_writes_to_its_own_encrypted_log_group(self, env_stack: Stack) -> None:
        groups = {g["name"]: name for name, g in resources(env_stack, "aws_cloudwatch_log_group").items()}
        for body in resources(env_stack, "aws_lambda_function").values():
            group_name = f"/aws/lambda/{body['function_name']}"
            assert group_name in groups
            logical = groups[group_name]
            assert body["logging_config"]["log_group"] == ref("aws_cloudwatch_log_group", logical, "name")
            assert f"aws_cloudwatch_log_group.{logical}" in body["depends_on"]

    def test_retention_follows_the_environment(self, stacks: dict[str, Stack]) -> None:
        for environment, days in (("dev", 14), ("staging", 30), ("prod", 365)):
            assert {
                g["retention_in_days"]
                for g in resources(stacks[environment], "aws_cloudwatch_log_group").values()
            } == {days}
            assert all(
                g["kms_key_id"].startswith("${aws_kms_key.")
                for g in resources(stacks[environment], "aws_cloudwatch_log_group").values()
            )


class TestStreamMapping:
    def test_orchestrator_consumes_the_stream_safely(self, env_stack: Stack) -> None:
        _, mapping = named(env_stack, "aws_lambda_event_source_mapping", "orchestration/orchestrator_stream")
        orchestrator, _ = function(env_stack, "orchestrator")
        assert mapping["function_name"] == ref("aws_lambda_function", orchestrator, "arn")
        assert mapping["event_source_arn"].endswith(".stream_arn}")
        assert mapping["starting_position"] == "TRIM_HORIZON"
        assert mapping["bisect_batch_on_function_error"] is True
        assert 0 < mapping["maximum_retry_attempts"] <= 10
        assert 0 < mapping["maximum_record_age_in_seconds"] <= 24 * 3600
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        dlq, _ = named(env_stack, "aws_sqs_queue", "orchestration/orchestrator_dlq")
        assert mapping["destination_config"]["on_failure"]["destination_arn"] == ref(
            "aws_sqs_queue", dlq, "arn"
        )

    def test_filter_passes_only_workflow_items(self, env_stack: Stack) -> None:
        _, mapping = named(env_stack, "aws_lambda_event_source_mapping", "orchestration/orchestrator_stream")
        (pattern,) = mapping["filter_criteria"]["filter"]
        assert (
            json.loads(pattern["pattern"])
            == WORKFLOW_ITEMS_ONLY
            == {"dynamodb": {"Keys": {"sk": {"S": ["#WF"]}}}}
        )

    def test_triggers_wait_for_their_roles_permissions(self, env_stack: Stack) -> None:
        for mapping_name, function_id in (
            ("orchestrator_stream", "orchestrator"),
            ("worker_retries", "worker"),
        ):
            _, mapping = named(env_stack, "aws_lambda_event_source_mapping", f"orchestration/{mapping_name}")
            policy_name, _ = named(env_stack, "aws_iam_role_policy", f"orchestration/{function_id}_policy")
            assert mapping["depends_on"] == [f"aws_iam_role_policy.{policy_name}"]


class TestQueuesAndAsync:
    def test_every_queue_is_encrypted_with_the_project_key(self, env_stack: Stack) -> None:
        for queue in resources(env_stack, "aws_sqs_queue").values():
            assert queue["kms_master_key_id"].startswith("${aws_kms_key.")

    def test_retry_queue_outlasts_the_worker_and_dead_letters(self, env_stack: Stack) -> None:
        _, queue = named(env_stack, "aws_sqs_queue", "orchestration/retry_queue")
        assert queue["visibility_timeout_seconds"] > 900
        dlq, _ = named(env_stack, "aws_sqs_queue", "orchestration/worker_dlq")
        redrive = json.loads(queue["redrive_policy"])
        assert (
            redrive["deadLetterTargetArn"] == ref("aws_sqs_queue", dlq, "arn")
            and redrive["maxReceiveCount"] >= 1
        )
        _, mapping = named(env_stack, "aws_lambda_event_source_mapping", "orchestration/worker_retries")
        assert mapping["batch_size"] == 1 and mapping["function_response_types"] == [
            "ReportBatchItemFailures"
        ]

    def test_worker_async_invocations_retry_a_bounded_number_of_times(self, env_stack: Stack) -> None:
        config = only(env_stack, "aws_lambda_function_event_invoke_config")
        dlq, _ = named(env_stack, "aws_sqs_queue", "orchestration/worker_dlq")
        assert config["maximum_retry_attempts"] == 2
        assert config["maximum_event_age_in_seconds"] <= 6 * 3600
        assert config["destination_config"]["on_failure"]["destination"] == ref("aws_sqs_queue", dlq, "arn")


class TestReaperSchedule:
    def test_runs_every_minute_and_only_the_rule_may_invoke_it(self, env_stack: Stack) -> None:
        rule_name, rule = named(env_stack, "aws_cloudwatch_event_rule", "orchestration/reaper_schedule")
        assert rule["schedule_expression"] == "rate(1 minute)"
        reaper, _ = function(env_stack, "reaper")
        target = only(env_stack, "aws_cloudwatch_event_target")
        assert target["arn"] == ref("aws_lambda_function", reaper, "arn")
        permission = named(env_stack, "aws_lambda_permission", "orchestration/reaper_invoked_by_schedule")[1]
        assert permission["principal"] == "events.amazonaws.com"
        assert permission["source_arn"] == ref("aws_cloudwatch_event_rule", rule_name, "arn")


class TestRoles:
    def test_every_function_has_a_role_of_its_own(self, env_stack: Stack) -> None:
        roles = [body["role"] for body in resources(env_stack, "aws_lambda_function").values()]
        assert len(set(roles)) == len(roles) == len(FUNCTIONS)
        for role in resources(env_stack, "aws_iam_role").values():
            if role["name"].endswith("-role"):
                trust = policy(role, "assume_role_policy")["Statement"][0]
                assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
                assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}

    def test_only_the_orchestrator_manages_connections_and_only_on_this_api(self, env_stack: Stack) -> None:
        ws, _ = named(env_stack, "aws_apigatewayv2_api", "api/websocket_api")
        for function_id in (f.id for f in FUNCTIONS):
            granted = [
                s
                for s in role_policy(env_stack, function_id)
                if any(a.startswith("execute-api:") for a in s["Action"])
            ]
            if function_id != "orchestrator":
                assert granted == []
                continue
            (statement,) = granted
            assert statement["Action"] == ["execute-api:ManageConnections"]
            assert all(
                r.startswith(f"${{aws_apigatewayv2_api.{ws}.execution_arn}}/prod/")
                for r in statement["Resource"]
            )

    def test_only_the_worker_invokes_tasks_and_only_orchestrator_and_reaper_invoke_the_worker(
        self, env_stack: Stack
    ) -> None:
        invoked = {}
        for f in FUNCTIONS:
            targets = [
                r
                for s in role_policy(env_stack, f.id)
                if "lambda:InvokeFunction" in s["Action"]
                for r in s["Resource"]
            ]
            invoked[f.id] = sorted(t.rsplit(":", 1)[1] for t in targets)
        assert invoked["worker"] == sorted(
            f"orchestra-{self._env(env_stack)}-{t}"
            for t in ("task-a", "task-b1", "task-b2", "task-b3", "task-c")
        )
        assert invoked["orchestrator"] == invoked["reaper"] == [f"orchestra-{self._env(env_stack)}-worker"]
        assert all(
            not invoked[f] for f in ("api", "websocket", "task-a", "task-b1", "task-b2", "task-b3", "task-c")
        )

    @staticmethod
    def _env(stack: Stack) -> str:
        return str(stack["terraform"]["backend"]["s3"]["key"].split("/")[0])

    def test_tasks_get_logs_traces_key_and_network_only(self, env_stack: Stack) -> None:
        for task in ("task-a", "task-b1", "task-b2", "task-c"):
            sids = {s["Sid"] for s in role_policy(env_stack, task)}
            assert sids == {
                "WriteOwnLogs",
                "SendTraces",
                "UseProjectKey",
                "DescribeNetworkInterfaces",
                "ManageOwnNetworkInterfaces",
            }
        assert "PullOwnImage" in {s["Sid"] for s in role_policy(env_stack, "task-b3")}

    def test_functions_write_only_their_own_log_group(self, env_stack: Stack) -> None:
        for f in FUNCTIONS:
            (logs,) = [s for s in role_policy(env_stack, f.id) if s["Sid"] == "WriteOwnLogs"]
            group, _ = named(env_stack, "aws_cloudwatch_log_group", f"orchestration/{f.id}_logs/log_group")
            assert logs["Resource"] == [f"{ref('aws_cloudwatch_log_group', group, 'arn')}:*"]
