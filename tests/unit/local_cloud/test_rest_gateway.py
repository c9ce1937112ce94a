"""API Gateway REST: routing, the Lambda proxy event as API Gateway builds it, its answers, and
what API Gateway itself answers (unknown routes, throttling, bad proxy responses, permissions)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_cloud.harness import Loop, Running
from local_cloud.stacks import PY_API, StackBuilder, ref
from localcloud.apigateway import RestApi
from localcloud.cloud import LocalCloud, Options
from localcloud.web import TokenBucket


def call(running: Running, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, running.outputs["api_url"] + path, timeout=30, **kwargs)


class TestProxyEvent:
    def test_a_proxy_path_with_a_repeated_query_parameter(self, running: Running) -> None:
        response = call(running, "GET", "/workflows/wf-1?limit=5&tag=a&tag=b", headers={"X-Custom": "v"})
        assert response.status_code == 200
        event = response.json()
        assert event["resource"] == "/{proxy+}"
        assert event["path"] == "/workflows/wf-1"
        assert event["httpMethod"] == "GET"
        assert event["pathParameters"] == {"proxy": "workflows/wf-1"}
        assert event["queryStringParameters"] == {"limit": "5", "tag": "b"}
        assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"]}
        assert event["headers"]["X-Custom"] == "v"
        assert event["multiValueHeaders"]["X-Custom"] == ["v"]
        assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
        assert event["stageVariables"] is None
        assert event["body"] is None and event["isBase64Encoded"] is False
        context = event["requestContext"]
        assert context["stage"] == "prod"
        assert context["path"] == "/prod/workflows/wf-1"
        assert context["resourcePath"] == "/{proxy+}"
        assert context["httpMethod"] == "GET"
        assert context["accountId"] == "123456789012"
        assert context["identity"]["sourceIp"] == "127.0.0.1"
        assert context["domainName"] == f"{context['apiId']}.execute-api.eu-central-1.amazonaws.com"
        assert context["requestId"] == response.headers["x-amzn-RequestId"]
        assert isinstance(context["requestTimeEpoch"], int)

    def test_the_root_resource(self, running: Running) -> None:
        event = call(running, "GET", "/").json()
        assert event["resource"] == "/" and event["path"] == "/"
        assert event["pathParameters"] is None and event["queryStringParameters"] is None

    def test_a_json_body_is_passed_as_text(self, running: Running) -> None:
        response = call(running, "POST", "/workflows", json={"workflowId": "wf-1"})
        assert response.status_code == 201
        event = response.json()
        assert json.loads(event["body"]) == {"workflowId": "wf-1"}
        assert event["isBase64Encoded"] is False


class TestProxyResponse:
    def test_headers_and_multi_value_headers_reach_the_client(self, running: Running) -> None:
        response = call(running, "GET", "/anything")
        assert response.headers["X-Single"] == "one"
        assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
        assert response.headers["x-amz-apigw-id"]

    def test_a_base64_body_is_decoded(self, running: Running) -> None:
        response = call(running, "GET", "/binary")
        assert response.content == b"\x00\x01\x02"

    @pytest.mark.parametrize("path", ["/malformed", "/error"])
    def test_a_malformed_response_or_a_function_error_is_a_502(self, running: Running, path: str) -> None:
        response = call(running, "GET", path)
        assert response.status_code == 502
        assert response.json() == {"message": "Internal server error"}


class TestGatewayAnswers:
    @pytest.mark.parametrize("path", ["", "/", "/dev/workflows"])
    def test_outside_a_stage_is_missing_authentication_token(self, running: Running, path: str) -> None:
        base = running.outputs["api_url"].removesuffix("/prod")
        response = requests.get(base + path, timeout=10)
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"

    def test_the_stage_throttle_answers_429(self, running: Running, aio: Loop) -> None:
        api = running.cloud.rest_apis[0]
        stage = api.stages["prod"]
        saved = dict(stage.throttles)
        aio.call(lambda: stage.throttles.update({"*/*": TokenBucket(0.001, 2)}))
        try:
            statuses = [call(running, "GET", "/x").status_code for _ in range(3)]
        finally:
            aio.call(lambda: stage.throttles.update(saved))
        assert statuses == [200, 200, 429]


def bare_api(stack: StackBuilder, *, permission: bool) -> None:
    stack.function("api", {"app.py": PY_API})
    api_id = ref("aws_api_gateway_rest_api", "rest", "id")
    root = ref("aws_api_gateway_rest_api", "rest", "root_resource_id")
    stack.add("aws_api_gateway_rest_api", "rest", name="rest")
    stack.add(
        "aws_api_gateway_method",
        "root",
        rest_api_id=api_id,
        resource_id=root,
        http_method="GET",
        authorization="NONE",
    )
    stack.add(
        "aws_api_gateway_integration",
        "root",
        rest_api_id=api_id,
        resource_id=root,
        http_method="GET",
        type="AWS_PROXY",
        uri=ref("aws_lambda_function", "api", "invoke_arn"),
    )
    stack.add("aws_api_gateway_stage", "prod", rest_api_id=api_id, stage_name="prod", deployment_id="d")
    if permission:
        stack.add(
            "aws_lambda_permission",
            "rest",
            function_name=ref("aws_lambda_function", "api", "function_name"),
            principal="apigateway.amazonaws.com",
            action="lambda:InvokeFunction",
            source_arn=ref("aws_api_gateway_rest_api", "rest", "execution_arn") + "/*/POST/*",  # not GET
        )
    stack.output("api_url", ref("aws_api_gateway_stage", "prod", "invoke_url"))
    stack.write()


@pytest.fixture
def unpermitted(aio: Loop, tmp_path: Path) -> Iterator[LocalCloud]:
    bare_api(StackBuilder(tmp_path), permission=True)
    cloud = LocalCloud(Options(root=tmp_path, stack="test", warm=False), progress=lambda m: None)
    aio.run(cloud.start(), timeout=120)
    yield cloud
    aio.run(cloud.stop())


class TestPermissions:
    def test_a_permission_scoped_to_other_methods_does_not_let_api_gateway_in(
        self, unpermitted: LocalCloud
    ) -> None:
        response = requests.get(unpermitted.outputs["api_url"] + "/", timeout=10)
        assert response.status_code == 500
        assert response.json() == {"message": "Internal server error"}
        assert unpermitted.lambdas is not None
        assert unpermitted.lambdas.functions["test-api"].stats["invocations"] == 0

    def test_a_method_without_a_route_is_missing_authentication_token(self, unpermitted: LocalCloud) -> None:
        response = requests.post(unpermitted.outputs["api_url"] + "/", timeout=10)
        assert response.status_code == 403


def test_routes_prefer_literal_then_variable_then_greedy() -> None:
    from localcloud.apigateway import Node

    root = Node("", "r", "/")
    greedy = Node("{proxy+}", "g", "/{proxy+}")
    items = Node("items", "i", "/items")
    item = Node("{id}", "v", "/items/{id}")
    special = Node("special", "s", "/items/special")
    items.children = [item, special]
    root.children = [greedy, items]
    params: dict[str, str] = {}
    assert root.match(["items", "special"], params) is special
    params = {}
    assert root.match(["items", "42"], params) is item and params == {"id": "42"}
    params = {}
    assert root.match(["items", "42", "x"], params) is greedy and params == {"proxy": "items/42/x"}
    assert RestApi  # the class under test builds these trees from the stack
