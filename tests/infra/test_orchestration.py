"""The orchestration module: functions, roles, log groups, the stream mapping, queues, the schedule."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from engine.config import REQUIRED

from modules import naming
from modules.orchestration import ENGINE_FUNCTIONS, WORKER_TIMEOUT, WORKFLOW_ITEMS_ONLY, image_uri
from scripts.checkov_gate import load_skips
from tests.infra.conftest import SYNTH_DIR, Stack, named, only, policy, ref, resources
from workflows.tasks import load_tasks

ROOT = Path(__file__).resolve().parents[2]
TASKS = load_tasks()
TASK_IDS = [t.id for t in TASKS]
ZIP_TASKS = [t.id for t in TASKS if not t.is_image]
FUNCTION_IDS = [f.id for f in ENGINE_FUNCTIONS] + TASK_IDS

ENGINE_HANDLERS = ("api", "orchestrator", "worker", "reaper", "websocket", "authorizer")


def function(stack: Stack, function_id: str) -> tuple[str, dict[str, Any]]:
    return named(stack, "aws_lambda_function", f"orchestration/{function_id}_function")


def environment_name(stack: Stack) -> str:
    return str(stack["terraform"]["backend"]["s3"]["key"].split("/")[0])


def catalog(stack: Stack) -> dict[str, Any]:
    """The catalog the stack bundles into the engine's code package (workflows/catalog.py)."""
    _, worker = function(stack, "worker")
    package = SYNTH_DIR / "stacks" / environment_name(stack) / worker["filename"]
    with zipfile.ZipFile(package) as archive:
        document: dict[str, Any] = json.loads(
            archive.read(worker["environment"]["variables"]["CATALOG_FILE"])
        )
    return document


def role_policy(stack: Stack, function_id: str) -> list[dict[str, Any]]:
    _, body = named(stack, "aws_iam_role_policy", f"orchestration/{function_id}_policy")
    return policy(body)["Statement"]


class TestFunctions:
    def test_one_function_per_handler_and_task(self, env_stack: Stack) -> None:
        names = sorted(f["function_name"] for f in resources(env_stack, "aws_lambda_function").values())
        prefix = f"orchestra-{environment_name(env_stack)}"
        assert names == sorted(f"{prefix}-{x}" for x in FUNCTION_IDS)
        assert {"task-a", "task-b3", "report-split", "report-summarize", "report-aggregate"} <= set(TASK_IDS)

    @pytest.mark.parametrize(
        ("function_id", "runtime", "handler"),
        [
            ("api", "python3.12", "engine.handlers.api.handler"),
            ("orchestrator", "python3.12", "engine.handlers.orchestrator.handler"),
            ("worker", "python3.12", "engine.handlers.worker.handler"),
            ("reaper", "python3.12", "engine.handlers.reaper.handler"),
            ("websocket", "python3.12", "engine.handlers.websocket.handler"),
            ("task-a", "nodejs24.x", "index.handler"),
            ("task-b1", "nodejs24.x", "index.handler"),
            ("task-c", "nodejs24.x", "index.handler"),
            ("task-b2", "python3.12", "handler.handler"),
            ("report-split", "python3.12", "handler.handler"),
            ("report-summarize", "python3.12", "handler.handler"),
            ("report-aggregate", "nodejs24.x", "index.handler"),
        ],
    )
    def test_zip_functions_run_their_handler(
        self, stacks: dict[str, Stack], function_id: str, runtime: str, handler: str
    ) -> None:
        _, body = function(stacks["dev"], function_id)
        assert (body["package_type"], body["runtime"], body["handler"]) == ("Zip", runtime, handler)
        assert body["filename"].startswith("assets/") and body["filename"].endswith(".zip")
        assert len(body["source_code_hash"]) == 44  # base64 of a SHA-256

    def test_b3_runs_from_an_image_of_the_bootstrap_registry_by_its_content_tag(
        self, stacks: dict[str, Stack]
    ) -> None:
        _, body = function(stacks["dev"], "task-b3")
        assert body["package_type"] == "Image"
        assert "runtime" not in body and "handler" not in body
        tag = json.loads((ROOT / "build" / "images.json").read_text())["task-b3"]["tag"]
        # A literal URI: the repository is not in this stack (an image must exist before the apply).
        assert body["image_uri"] == f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/orchestra-tasks:{tag}"
        assert "aws_ecr_repository" not in stacks["dev"]["resource"]

    def test_a_digest_in_the_settings_pins_the_image(self) -> None:
        registry = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/orchestra-tasks"
        digest = "sha256:" + "ab" * 32
        assert image_uri(registry, "src-1", digest) == f"{registry}@{digest}"
        assert image_uri(registry, "src-1", None) == f"{registry}:src-1"

    def test_the_registry_is_immutable_scanned_encrypted_pruned_and_lambda_may_pull(
        self, stacks: dict[str, Stack]
    ) -> None:
        bootstrap = stacks["bootstrap"]
        repository = only(bootstrap, "aws_ecr_repository")
        assert repository["name"] == "orchestra-tasks"
        assert repository["image_tag_mutability"] == "IMMUTABLE"
        assert repository["image_scanning_configuration"] == {"scan_on_push": True}
        assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
        rules = json.loads(only(bootstrap, "aws_ecr_lifecycle_policy")["policy"])["rules"]
        # Tagged images are what environments pin (by tag or digest): only untagged ones expire.
        assert [rule["selection"]["tagStatus"] for rule in rules] == ["untagged"]
        assert rules[0]["selection"]["countType"] == "sinceImagePushed"
        (pull,) = json.loads(only(bootstrap, "aws_ecr_repository_policy")["policy"])["Statement"]
        assert pull["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert pull["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

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

    def test_reservations_are_the_settings_and_dev_reserves_none(self, stacks: dict[str, Stack]) -> None:
        def reserved(stack: str) -> dict[str, Any]:
            return {
                body["function_name"].removeprefix(f"orchestra-{stack}-"): body.get(
                    "reserved_concurrent_executions"
                )
                for body in resources(stacks[stack], "aws_lambda_function").values()
            }

        prod = reserved("prod")
        assert (prod["worker"], prod["orchestrator"], prod["reaper"], prod["api"]) == (200, 20, 1, None)
        # A fresh account's quota may be 10: dev deploys anywhere.
        assert set(reserved("dev").values()) == {None}

    def test_task_functions_and_only_they_carry_the_tag_their_concurrency_skip_needs(
        self, stacks: dict[str, Stack]
    ) -> None:
        (task_skip,) = [s for s in load_skips() if s.check == "CKV_AWS_115" and s.tags]
        declared = {t.id for t in load_tasks()}
        for name in ("dev", "staging", "prod"):
            functions = resources(stacks[name], "aws_lambda_function")
            excused = {
                body["function_name"].removeprefix(f"orchestra-{name}-")
                for address, body in functions.items()
                if task_skip.covers(name, "CKV_AWS_115", f"aws_lambda_function.{address}", body.get("tags"))
            }
            assert excused == declared, "every declared task function, and no engine function"

    def test_worker_outlasts_its_tasks_which_stay_under_the_nat_idle_timeout(self, env_stack: Stack) -> None:
        from preflight.facts import IDLE_TIMEOUT_SECONDS, MAX_SYNC_TASK_TIMEOUT

        bodies = {
            b["function_name"].rsplit("-", 1)[-1]: b
            for b in resources(env_stack, "aws_lambda_function").values()
        }
        prefix = f"orchestra-{environment_name(env_stack)}-"
        tasks = [
            b
            for b in resources(env_stack, "aws_lambda_function").values()
            if b["function_name"].removeprefix(prefix) in TASK_IDS
        ]
        assert len(tasks) == len(TASK_IDS)
        assert max(b["timeout"] for b in tasks) <= MAX_SYNC_TASK_TIMEOUT < IDLE_TIMEOUT_SECONDS
        assert bodies["worker"]["timeout"] == MAX_SYNC_TASK_TIMEOUT + 60

    def test_the_worker_outlasts_the_longest_task_attempt(self, env_stack: Stack) -> None:
        from engine.flow import LEASE_MARGIN_SECONDS

        _, worker = function(env_stack, "worker")
        mapping = catalog(env_stack)["functions"]
        assert worker["timeout"] > max(v["timeout_seconds"] for v in mapping.values()) + LEASE_MARGIN_SECONDS


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
        # The api function refuses every token without it (no app client of the stack's).
        optional |= {"AUTH_CLIENT_IDS"} if function_id == "api" else set()
        assert variables - powertools - optional == set(REQUIRED[function_id])

    def test_the_worker_names_the_project_key_for_large_outputs(self, env_stack: Stack) -> None:
        _, body = function(env_stack, "worker")
        key, _ = named(env_stack, "aws_kms_key", "data/key")
        assert body["environment"]["variables"]["ARTIFACTS_KMS_KEY_ARN"] == ref("aws_kms_key", key, "arn")

    def test_the_worker_runs_as_many_kept_tasks_at_once_as_the_settings_say(self, env_stack: Stack) -> None:
        _, body = function(env_stack, "worker")
        # orchestration.worker_parallel_tasks
        assert body["environment"]["variables"]["WORKER_PARALLEL_TASKS"] == "8"

    def test_the_catalog_maps_every_declared_task_to_its_function_and_type(self, env_stack: Stack) -> None:
        mapping = catalog(env_stack)["functions"]
        names = {b["function_name"] for b in resources(env_stack, "aws_lambda_function").values()}
        # Every declared task (a team's own included), the samples and the example with their types.
        assert {k: v["type"] for k, v in mapping.items()} == {t.id: t.type for t in load_tasks()}
        assert {k: v["type"] for k, v in mapping.items()}.items() >= {
            "task-a": "node",
            "task-b1": "node",
            "task-b2": "python",
            "task-b3": "container",
            "task-c": "node",
            "report-split": "python",
            "report-summarize": "python",
            "report-aggregate": "node",
        }.items()
        assert {v["function_name"] for v in mapping.values()} <= names
        # each with its own function's configured timeout: no attempt may ask for longer
        timeouts = {
            b["function_name"]: b["timeout"] for b in resources(env_stack, "aws_lambda_function").values()
        }
        assert {v["function_name"]: v["timeout_seconds"] for v in mapping.values()} == {
            v["function_name"]: timeouts[v["function_name"]] for v in mapping.values()
        }

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


class TestCreationOrder:
    def test_every_function_is_created_after_its_roles_policy(self, env_stack: Stack) -> None:
        # Lambda checks a VPC function's role for the network interface actions when it creates it.
        for function_id in FUNCTION_IDS:
            _, body = function(env_stack, function_id)
            policy_name, _ = named(env_stack, "aws_iam_role_policy", f"orchestration/{function_id}_policy")
            group, _ = named(
                env_stack, "aws_cloudwatch_log_group", f"orchestration/{function_id}_logs/log_group"
            )
            assert body["depends_on"] == [
                f"aws_cloudwatch_log_group.{group}",
                f"aws_iam_role_policy.{policy_name}",
            ]

    def test_the_naming_module_knows_every_engine_function(self) -> None:
        assert [f.id for f in ENGINE_FUNCTIONS] == list(naming.ENGINE_FUNCTION_IDS)


class TestQueuesAndAsync:
    def test_every_queue_is_encrypted_with_the_project_key(self, env_stack: Stack) -> None:
        for queue in resources(env_stack, "aws_sqs_queue").values():
            assert queue["kms_master_key_id"].startswith("${aws_kms_key.")

    def test_retry_queue_outlasts_the_worker_and_dead_letters(self, env_stack: Stack) -> None:
        _, queue = named(env_stack, "aws_sqs_queue", "orchestration/retry_queue")
        assert queue["visibility_timeout_seconds"] > WORKER_TIMEOUT
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
        assert len(set(roles)) == len(roles) == len(FUNCTION_IDS)
        for role in resources(env_stack, "aws_iam_role").values():
            if role["name"].endswith("-role"):
                trust = policy(role, "assume_role_policy")["Statement"][0]
                assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
                assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}

    def test_only_the_orchestrator_manages_connections_and_only_on_this_api(self, env_stack: Stack) -> None:
        ws, _ = named(env_stack, "aws_apigatewayv2_api", "api/websocket_api")
        for function_id in FUNCTION_IDS:
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

    def test_only_the_worker_invokes_tasks_and_only_the_dispatchers_invoke_the_worker(
        self, env_stack: Stack
    ) -> None:
        invoked = {}
        for function_id in FUNCTION_IDS:
            targets = [
                r
                for s in role_policy(env_stack, function_id)
                if "lambda:InvokeFunction" in s["Action"]
                for r in s["Resource"]
            ]
            invoked[function_id] = sorted(t.rsplit(":", 1)[1] for t in targets)
        env = environment_name(env_stack)
        worker = f"orchestra-{env}-worker"
        # the worker runs exactly the declared tasks, and dispatches what its results made READY
        assert invoked["worker"] == sorted([worker, *(f"orchestra-{env}-{t}" for t in TASK_IDS)])
        # the API dispatches a new workflow's roots; the orchestrator and the sweep repair lost dispatches
        assert invoked["api"] == invoked["orchestrator"] == invoked["reaper"] == [worker]
        assert all(not invoked[f] for f in ("websocket", *TASK_IDS))

    def test_tasks_get_logs_traces_key_and_network_only(self, env_stack: Stack) -> None:
        for task in ZIP_TASKS:
            sids = {s["Sid"] for s in role_policy(env_stack, task)}
            assert sids == {
                "WriteOwnLogs",
                "SendTraces",
                "UseProjectKey",
                "DescribeNetworkInterfaces",
                "ManageOwnNetworkInterfaces",
            }
        # B3's image is pulled by Lambda under the registry's repository policy, not by its role.
        assert {s["Sid"] for s in role_policy(env_stack, "task-b3")} == sids

    def test_functions_write_only_their_own_log_group(self, env_stack: Stack) -> None:
        for function_id in FUNCTION_IDS:
            (logs,) = [s for s in role_policy(env_stack, function_id) if s["Sid"] == "WriteOwnLogs"]
            group, _ = named(
                env_stack, "aws_cloudwatch_log_group", f"orchestration/{function_id}_logs/log_group"
            )
            assert logs["Resource"] == [f"{ref('aws_cloudwatch_log_group', group, 'arn')}:*"]


class TestExistingTaskFunctions:
    """[external_tasks]: existing Lambda functions by ARN join the catalog; the stack creates nothing
    for them but the worker's permission to invoke exactly those ARNs (and alarms where it can)."""

    SAME_ACCOUNT = "arn:aws:lambda:eu-central-1:123456789012:function:geocode:live"
    OTHER_ACCOUNT = "arn:aws:lambda:eu-central-1:210987654321:function:billing"

    def test_the_worker_may_invoke_exactly_them_and_same_account_ones_are_alarmed(
        self, dev_settings: Any, synth_settings: Any
    ) -> None:
        from environments import ExternalTask

        external = {
            "geocode": ExternalTask(arn=self.SAME_ACCOUNT, timeout_seconds=20),
            "billing": ExternalTask(arn=self.OTHER_ACCOUNT, timeout_seconds=40),
        }
        stack = synth_settings(dev_settings.model_copy(update={"external_tasks": external}))
        (run_tasks,) = [s for s in role_policy(stack, "worker") if s["Sid"] == "RunTasks"]
        created = [f"arn:aws:lambda:eu-central-1:123456789012:function:orchestra-dev-{t}" for t in TASK_IDS]
        # Qualified as declared: an unqualified ARN would not allow invoking the alias.
        assert run_tasks["Resource"] == sorted([*created, self.SAME_ACCOUNT, self.OTHER_ACCOUNT])
        names = {b["function_name"] for b in resources(stack, "aws_lambda_function").values()}
        assert not {"geocode", "billing", "orchestra-dev-geocode", "orchestra-dev-billing"} & names
        alarms = {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
        assert alarms["orchestra-dev-geocode-errors"]["dimensions"] == {"FunctionName": "geocode"}
        # Another account's function reports its metrics there: its owner alarms on them.
        assert not [n for n in alarms if "billing" in n]
