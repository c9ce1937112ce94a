"""The API module: REST proxy API and WebSocket API, stages, throttling, logs, permissions."""

from __future__ import annotations

import json

import pytest

from environments import ENVIRONMENT_NAMES
from modules.api import WEBSOCKET_ROUTES
from preflight.rules import REST_LOG_VARIABLES, WEBSOCKET_LOG_VARIABLES
from scripts.checkov_gate import load_skips
from tests.infra.conftest import Stack, named, only, policy, ref, resources


def variables(log_format: str) -> set[str]:
    return set(json.loads(log_format).values())


class TestRestApi:
    def test_every_path_goes_to_the_api_function(self, env_stack: Stack) -> None:
        rest, _ = named(env_stack, "aws_api_gateway_rest_api", "api/rest_api")
        parts = {r["path_part"]: r for r in resources(env_stack, "aws_api_gateway_resource").values()}
        assert set(parts) == {"{proxy+}", "openapi.json"}
        for resource in parts.values():
            assert resource["parent_id"] == ref("aws_api_gateway_rest_api", rest, "root_resource_id")
        api_function, _ = named(env_stack, "aws_lambda_function", "orchestration/api_function")
        integrations = list(resources(env_stack, "aws_api_gateway_integration").values())
        assert len(integrations) == 5  # root and proxy (ANY, OPTIONS), and GET /openapi.json
        for integration in integrations:
            assert integration["type"] == "AWS_PROXY"
            assert integration["integration_http_method"] == "POST"
            assert integration["uri"] == ref("aws_lambda_function", api_function, "invoke_arn")

    def test_every_method_needs_an_access_token_but_preflights_and_the_openapi_document(
        self, env_stack: Stack
    ) -> None:
        authorizer_name, authorizer = named(env_stack, "aws_api_gateway_authorizer", "api/rest_authorizer")
        pool, _ = named(env_stack, "aws_cognito_user_pool", "identity/user_pool")
        assert authorizer["type"] == "COGNITO_USER_POOLS"
        assert authorizer["provider_arns"] == [ref("aws_cognito_user_pool", pool, "arn")]
        assert authorizer["identity_source"] == "method.request.header.Authorization"
        methods = list(resources(env_stack, "aws_api_gateway_method").values())
        guarded = [m for m in methods if m["authorization"] == "COGNITO_USER_POOLS"]
        public = [m for m in methods if m["authorization"] == "NONE"]
        assert {m["http_method"] for m in guarded} == {"ANY"} and len(guarded) == 2
        assert sorted(m["http_method"] for m in public) == ["GET", "OPTIONS", "OPTIONS"]
        for method in guarded:
            assert method["authorizer_id"] == ref("aws_api_gateway_authorizer", authorizer_name, "id")
            # With scopes API Gateway validates access tokens (without, it would want ID tokens).
            assert set(method["authorization_scopes"]) == {
                "orchestra/read",
                "orchestra/operate",
                "aws.cognito.signin.user.admin",
            }

    @pytest.mark.parametrize("environment", ENVIRONMENT_NAMES)
    def test_no_checkov_skip_excuses_a_method_or_route_that_needs_sign_in(
        self, stacks: dict[str, Stack], environment: str
    ) -> None:
        # CKV_AWS_59 / CKV_AWS_309 ("open without authorization") may excuse the public document and
        # the routes API Gateway cannot authorize, nothing else (checkov does not flag preflights);
        # a skip over all methods would let an authorizer go missing unnoticed.
        skips = [s for s in load_skips() if s.check in ("CKV_AWS_59", "CKV_AWS_309")]
        stack = stacks[environment]
        addresses = {
            f"aws_api_gateway_method.{name}": body["authorization"] != "NONE"
            or body["http_method"] == "OPTIONS"
            for name, body in resources(stack, "aws_api_gateway_method").items()
        }
        addresses |= {
            f"aws_apigatewayv2_route.{name}": body["route_key"] == "$connect"
            for name, body in resources(stack, "aws_apigatewayv2_route").items()
        }
        excused = {a for a in addresses if any(s.covers(environment, s.check, a) for s in skips)}
        assert not {a for a, guarded in addresses.items() if guarded} & excused
        assert {a.split(".", 1)[1].rsplit("_", 1)[0] for a in excused} == {
            "api_openapi_json_get",
            "api_route_disconnect",
            "api_route_default",
            "api_route_subscribe",
        }

    def test_stage_prod_with_tracing_and_json_access_logs(self, env_stack: Stack) -> None:
        stage = only(env_stack, "aws_api_gateway_stage")
        assert stage["stage_name"] == "prod"
        assert stage["xray_tracing_enabled"] is True
        log_format = stage["access_log_settings"]["format"]
        assert {"requestId", "status", "httpMethod", "resourcePath", "error"} <= set(json.loads(log_format))
        # Only REST variables ("Variables for access logs for REST APIs in API Gateway").
        assert variables(log_format) <= REST_LOG_VARIABLES
        group, body = named(env_stack, "aws_cloudwatch_log_group", "api/rest_access_logs/log_group")
        assert stage["access_log_settings"]["destination_arn"] == ref(
            "aws_cloudwatch_log_group", group, "arn"
        )
        assert body["kms_key_id"].startswith("${aws_kms_key.")

    def test_throttling_follows_the_environment(self, stacks: dict[str, Stack]) -> None:
        for environment, rate, burst in (("dev", 20, 40), ("prod", 200, 400)):
            settings = only(stacks[environment], "aws_api_gateway_method_settings")
            assert settings["method_path"] == "*/*"
            assert settings["settings"]["throttling_rate_limit"] == rate
            assert settings["settings"]["throttling_burst_limit"] == burst
            ws = only(stacks[environment], "aws_apigatewayv2_stage")["default_route_settings"]
            assert (ws["throttling_rate_limit"], ws["throttling_burst_limit"]) == (rate, burst)

    def test_redeploys_before_destroying(self, env_stack: Stack) -> None:
        deployment = only(env_stack, "aws_api_gateway_deployment")
        assert deployment["lifecycle"] == {"create_before_destroy": True}

    def test_the_deployment_comes_after_and_hashes_everything_it_snapshots(self, env_stack: Stack) -> None:
        # A deployment snapshots the API when it is created: a gateway response created after it is
        # never live (errors reach the browser without CORS), and a constant trigger never redeploys.
        deployment = only(env_stack, "aws_api_gateway_deployment")
        deployed = sorted(
            f"{rtype}.{name}"
            for rtype in (
                "aws_api_gateway_resource",
                "aws_api_gateway_method",
                "aws_api_gateway_integration",
                "aws_api_gateway_gateway_response",
                "aws_api_gateway_authorizer",  # its user pool is part of the snapshot too
            )
            for name in resources(env_stack, rtype)
        )
        assert len(deployed) == 16  # 2 resources, 5 methods and integrations, 3 responses, the authorizer
        assert sorted(deployment["depends_on"]) == deployed
        trigger = deployment["triggers"]["redeployment"]
        assert trigger.startswith("${sha1(jsonencode([") and all(address in trigger for address in deployed)

    def test_gateway_errors_use_the_engine_error_shape_and_cors(self, env_stack: Stack) -> None:
        distribution, _ = named(env_stack, "aws_cloudfront_distribution", "site/distribution")
        responses = {
            r["response_type"]: r for r in resources(env_stack, "aws_api_gateway_gateway_response").values()
        }
        assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED"}
        assert responses["UNAUTHORIZED"]["status_code"] == "401"
        assert '"error":"unauthorized"' in responses["UNAUTHORIZED"]["response_templates"]["application/json"]
        for response in responses.values():
            assert response["response_parameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == (
                f"'https://${{aws_cloudfront_distribution.{distribution}.domain_name}}'"
            )
            # API Gateway substitutes messageString already quoted, and responseType bare.
            template = response["response_templates"]["application/json"]
            if response["response_type"] == "UNAUTHORIZED":
                continue
            body = json.loads(
                template.replace("$context.error.messageString", json.dumps('Say "hi"')).replace(
                    "$context.error.responseType", "THROTTLED"
                )
            )
            assert body == {"error": "THROTTLED", "message": 'Say "hi"', "details": []}


class TestWebSocketApi:
    def test_routes_select_on_the_action_and_go_to_the_websocket_function(self, env_stack: Stack) -> None:
        _, api = named(env_stack, "aws_apigatewayv2_api", "api/websocket_api")
        assert api["protocol_type"] == "WEBSOCKET"
        assert api["route_selection_expression"] == "$request.body.action"
        integration_name, integration = named(
            env_stack, "aws_apigatewayv2_integration", "api/websocket_integration"
        )
        function, _ = named(env_stack, "aws_lambda_function", "orchestration/websocket_function")
        assert integration["integration_uri"] == ref("aws_lambda_function", function, "invoke_arn")
        routes = {r["route_key"]: r for r in resources(env_stack, "aws_apigatewayv2_route").values()}
        assert set(routes) == set(WEBSOCKET_ROUTES) == {"$connect", "$disconnect", "$default", "subscribe"}
        for route in routes.values():
            assert (
                route["target"]
                == f"integrations/{ref('aws_apigatewayv2_integration', integration_name, 'id')}"
            )

    def test_subscribe_and_default_answer_the_client_through_a_route_response(self, env_stack: Stack) -> None:
        names = {r["route_key"]: name for name, r in resources(env_stack, "aws_apigatewayv2_route").items()}
        responses = resources(env_stack, "aws_apigatewayv2_route_response").values()
        answered = {r["route_id"] for r in responses if r["route_response_key"] == "$default"}
        for key, name in names.items():
            route = resources(env_stack, "aws_apigatewayv2_route")[name]
            replies = key in ("subscribe", "$default")
            assert (ref("aws_apigatewayv2_route", name, "id") in answered) is replies, key
            assert route.get("route_response_selection_expression") == ("$default" if replies else None), key
        assert len(responses) == 2

    def test_connect_alone_is_authorized_by_the_token_query_parameter(self, env_stack: Stack) -> None:
        name, authorizer = named(env_stack, "aws_apigatewayv2_authorizer", "api/websocket_authorizer")
        function, _ = named(env_stack, "aws_lambda_function", "orchestration/authorizer_function")
        assert authorizer["authorizer_type"] == "REQUEST"
        assert authorizer["identity_sources"] == ["route.request.querystring.token"]
        assert authorizer["authorizer_uri"] == ref("aws_lambda_function", function, "invoke_arn")
        for route in resources(env_stack, "aws_apigatewayv2_route").values():
            if route["route_key"] == "$connect":
                assert route["authorization_type"] == "CUSTOM"
                assert route["authorizer_id"] == ref("aws_apigatewayv2_authorizer", name, "id")
            else:  # API Gateway authorizes the connection once, at $connect
                assert route["authorization_type"] == "NONE"
        ws, _ = named(env_stack, "aws_apigatewayv2_api", "api/websocket_api")
        permissions = {p["statement_id"]: p for p in resources(env_stack, "aws_lambda_permission").values()}
        assert permissions["AllowWebSocketAuthorizer"]["source_arn"] == (
            f"{ref('aws_apigatewayv2_api', ws, 'execution_arn')}/authorizers/"
            f"{ref('aws_apigatewayv2_authorizer', name, 'id')}"
        )

    def test_stage_logs_and_deploys_itself(self, env_stack: Stack) -> None:
        stage = only(env_stack, "aws_apigatewayv2_stage")
        assert stage["name"] == "prod" and stage["auto_deploy"] is True
        assert stage["access_log_settings"]["destination_arn"].startswith("${aws_cloudwatch_log_group.")

    def test_access_logs_use_only_websocket_variables(self, env_stack: Stack) -> None:
        # API Gateway refuses REST-only variables ($context.httpMethod, ...) in a WebSocket stage.
        log_format = only(env_stack, "aws_apigatewayv2_stage")["access_log_settings"]["format"]
        assert variables(log_format) <= WEBSOCKET_LOG_VARIABLES
        assert {"$context.requestId", "$context.routeKey", "$context.connectionId"} <= variables(log_format)


class TestInvokePermissions:
    def test_each_api_may_invoke_only_its_function_from_its_own_execution_arn(self, env_stack: Stack) -> None:
        rest, _ = named(env_stack, "aws_api_gateway_rest_api", "api/rest_api")
        ws, _ = named(env_stack, "aws_apigatewayv2_api", "api/websocket_api")
        permissions = {p["statement_id"]: p for p in resources(env_stack, "aws_lambda_permission").values()}
        assert permissions["AllowRestApi"]["principal"] == "apigateway.amazonaws.com"
        assert (
            permissions["AllowRestApi"]["source_arn"]
            == f"{ref('aws_api_gateway_rest_api', rest, 'execution_arn')}/*/*"
        )
        assert "orchestration_api_function_" in permissions["AllowRestApi"]["function_name"]
        assert (
            permissions["AllowWebSocketApi"]["source_arn"]
            == f"{ref('aws_apigatewayv2_api', ws, 'execution_arn')}/*"
        )
        assert "websocket_function" in permissions["AllowWebSocketApi"]["function_name"]


class TestApiGatewayAccountLogging:
    def test_bootstrap_sets_the_account_logging_role_once(self, stacks: dict[str, Stack]) -> None:
        account = only(stacks["bootstrap"], "aws_api_gateway_account")
        assert account["cloudwatch_role_arn"].startswith("${aws_iam_role.")
        for environment in ("dev", "staging", "prod"):
            assert resources(stacks[environment], "aws_api_gateway_account") == {}

    def test_the_account_setting_waits_for_the_roles_policy(self, stacks: dict[str, Stack]) -> None:
        # UpdateAccount writes to CloudWatch Logs with the role: its policy must exist first.
        account = only(stacks["bootstrap"], "aws_api_gateway_account")
        (policy_name,) = resources(stacks["bootstrap"], "aws_iam_role_policy")
        assert account["depends_on"] == [f"aws_iam_role_policy.{policy_name}"]

    def test_the_logging_role_trusts_api_gateway_as_aws_documents_it(self, stacks: dict[str, Stack]) -> None:
        # API Gateway sends no aws:SourceAccount when it assumes the account-level role.
        role = next(
            r
            for r in resources(stacks["bootstrap"], "aws_iam_role").values()
            if r["name"].endswith("cloudwatch")
        )
        assert policy(role, "assume_role_policy")["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
