"""The plan: a stack's references checked up front, resources ordered, attributes in AWS's formats,
AWS endpoints mapped to local ones, outputs in cdktf's format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_cloud.stacks import ACCOUNT, REGION, StackBuilder, ref
from localcloud.plan import Plan, PlanError


def load(stack: StackBuilder) -> Plan:
    stack.write()
    return Plan.load(stack.root, stack.name)


def queue_stack(stack: StackBuilder) -> StackBuilder:
    stack.add("aws_sqs_queue", "dlq", name="test-dlq", kms_master_key_id=ref("aws_kms_key", "key", "arn"))
    stack.add(
        "aws_sqs_queue",
        "retry",
        name="test-retry",
        redrive_policy='{"deadLetterTargetArn":"'
        + ref("aws_sqs_queue", "dlq", "arn")
        + '","maxReceiveCount":3}',
    )
    stack.add("aws_kms_key", "key", description="k")
    return stack


class TestChecks:
    def test_a_missing_stack_says_how_to_make_it(self, tmp_path: Path) -> None:
        with pytest.raises(PlanError, match="synthesize the stack first"):
            Plan.load(tmp_path, "nope")

    def test_reference_to_an_undeclared_resource_names_resource_and_attribute(
        self, stack: StackBuilder
    ) -> None:
        stack.add("aws_sqs_queue", "q", name="q", redrive_policy=ref("aws_sqs_queue", "missing", "arn"))
        with pytest.raises(PlanError, match=r"aws_sqs_queue\.q: redrive_policy: .*aws_sqs_queue\.missing"):
            load(stack)

    def test_unparseable_expression_in_an_inert_resource_still_stops(self, stack: StackBuilder) -> None:
        stack.add("aws_cloudwatch_metric_alarm", "a", alarm_name="${[for x in y : x]}")
        with pytest.raises(PlanError, match=r"aws_cloudwatch_metric_alarm\.a: alarm_name: for expressions"):
            load(stack)

    def test_count_is_refused(self, stack: StackBuilder) -> None:
        stack.add("aws_sqs_queue", "q", name="q", count=2)
        with pytest.raises(PlanError, match="`count` is not supported"):
            load(stack)

    def test_unknown_computed_attribute_is_named_when_needed(self, stack: StackBuilder) -> None:
        stack.add("aws_sqs_queue", "q", name="q")
        stack.output("x", ref("aws_sqs_queue", "q", "no_such_attribute"))
        plan = load(stack)
        with pytest.raises(
            PlanError, match=r"aws_sqs_queue\.q\.no_such_attribute: the local cloud has no local value"
        ):
            plan.outputs()


class TestValues:
    def test_dependency_order_puts_the_dead_letter_queue_first(self, stack: StackBuilder) -> None:
        plan = load(queue_stack(stack))
        order = [r.address for r in plan.of_type("aws_sqs_queue")]
        assert order == ["aws_sqs_queue.dlq", "aws_sqs_queue.retry"]

    def test_attributes_use_the_stack_account_and_region(self, stack: StackBuilder) -> None:
        plan = load(queue_stack(stack))
        assert plan.attribute("aws_sqs_queue.dlq", "arn") == f"arn:aws:sqs:{REGION}:{ACCOUNT}:test-dlq"
        assert (
            plan.attribute("aws_sqs_queue.dlq", "url")
            == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/test-dlq"
        )
        policy = json.loads(plan.resolved("aws_sqs_queue.retry")["redrive_policy"])
        assert policy["deadLetterTargetArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:test-dlq"

    def test_ids_are_the_same_on_every_start(self, stack: StackBuilder) -> None:
        stack.add("aws_api_gateway_rest_api", "api", name="api")
        first = load(stack).attribute("aws_api_gateway_rest_api.api", "id")
        assert first == load(stack).attribute("aws_api_gateway_rest_api.api", "id")
        assert len(first) == 10 and first.isalnum()

    def test_function_and_api_attributes(self, stack: StackBuilder) -> None:
        stack.function("api", {"app.py": "def handler(e, c): return e"})
        stack.add("aws_api_gateway_rest_api", "rest", name="rest")
        stack.add(
            "aws_api_gateway_stage",
            "prod",
            rest_api_id=ref("aws_api_gateway_rest_api", "rest", "id"),
            stage_name="prod",
            deployment_id="d",
        )
        plan = load(stack)
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-api"
        assert plan.attribute("aws_lambda_function.api", "arn") == arn
        assert plan.attribute("aws_lambda_function.api", "invoke_arn") == (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        )
        api_id = plan.attribute("aws_api_gateway_rest_api.rest", "id")
        assert plan.attribute("aws_api_gateway_stage.prod", "invoke_url") == (
            f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod"
        )
        assert (
            plan.function_for_arn(plan.attribute("aws_lambda_function.api", "invoke_arn")).address
            == "aws_lambda_function.api"
        )


class TestLocalize:
    def test_emulated_endpoints_become_local_wherever_they_appear(self, stack: StackBuilder) -> None:
        stack.add(
            "aws_apigatewayv2_api",
            "ws",
            name="ws",
            protocol_type="WEBSOCKET",
            route_selection_expression="$request.body.action",
        )
        stack.add("aws_apigatewayv2_stage", "ws", api_id=ref("aws_apigatewayv2_api", "ws", "id"), name="prod")
        stack.add("aws_cloudfront_distribution", "site", enabled=True)
        stack.add(
            "aws_s3_object",
            "config",
            bucket="b",
            key="config.js",
            content="window.WEBSOCKET_URL = '" + ref("aws_apigatewayv2_stage", "ws", "invoke_url") + "';",
        )
        stack.output("dashboard_url", "https://" + ref("aws_cloudfront_distribution", "site", "domain_name"))
        stack.output(
            "management",
            "https://"
            + ref("aws_apigatewayv2_api", "ws", "id")
            + f".execute-api.{REGION}.amazonaws.com/prod",
        )
        plan = load(stack)
        api_host = f"{plan.attribute('aws_apigatewayv2_api.ws', 'id')}.execute-api.{REGION}.amazonaws.com"
        plan.map_endpoint(f"wss://{api_host}", "ws://127.0.0.1:4002")
        plan.map_endpoint(f"https://{api_host}", "http://127.0.0.1:4002")
        plan.map_endpoint(
            f"https://{plan.attribute('aws_cloudfront_distribution.site', 'domain_name')}",
            "http://127.0.0.1:4000",
        )
        content = plan.localize(plan.resolved("aws_s3_object.config")["content"])
        assert content == "window.WEBSOCKET_URL = 'ws://127.0.0.1:4002/prod';"
        assert plan.outputs() == {
            "dashboard_url": "http://127.0.0.1:4000",
            "management": "http://127.0.0.1:4002/prod",
        }

    def test_a_longer_host_is_not_rewritten(self, stack: StackBuilder) -> None:
        plan = load(stack)
        plan.map_endpoint("https://d1.cloudfront.net", "http://127.0.0.1:4000")
        assert (
            plan.localize("https://d1.cloudfront.net.evil.example/x")
            == "https://d1.cloudfront.net.evil.example/x"
        )
        assert plan.localize(["https://d1.cloudfront.net/a"]) == ["http://127.0.0.1:4000/a"]
