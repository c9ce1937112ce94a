"""API: the REST API (Lambda proxy) and the WebSocket API, their stages, throttling and access logs.

Every REST path goes to the api function (a `{proxy+}` resource plus the root), which owns routing,
404/405 and CORS, so errors have one shape. The WebSocket routes all go to the websocket function.

Sign-in (modules/identity.py): every REST method but CORS preflights (OPTIONS) and
`GET /openapi.json` has the Cognito user pool authorizer, with authorization scopes so that API
Gateway validates access tokens (without scopes it would take ID tokens); what a token may do is
decided by the api function. The WebSocket `$connect` route has a Lambda REQUEST authorizer that
reads the access token from the `token` query parameter (browsers cannot set headers on a
WebSocket).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from modules.cdk import Construct, Fn, aws
from modules.components import EncryptedLogGroup, LogGroupInputs

STAGE = "prod"
WEBSOCKET_ROUTES = ("$connect", "$disconnect", "$default", "subscribe")
# Routes whose function answer goes back to the client ({"type": "subscribed"} or {"type": "error"}).
WEBSOCKET_REPLYING_ROUTES = ("$default", "subscribe")
# Access log lines as JSON, one per request, with what an operator needs to find a failing call.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "connectionId": "$context.connectionId",
        "eventType": "$context.eventType",
    },
    separators=(",", ":"),
)
# Answers API Gateway gives itself (throttled, no route, integration down) in the engine's error shape.
# $context.error.messageString is already a quoted JSON string (AWS's own examples leave it bare).
GATEWAY_ERROR_TEMPLATE = (
    '{"error":"$context.error.responseType","message":$context.error.messageString,"details":[]}'
)


# Public without a token: the CORS preflight (browsers send it without credentials) and the API's
# own description.
PUBLIC_PATHS = ("/openapi.json",)
WEBSOCKET_TOKEN_SOURCE = "route.request.querystring.token"  # noqa: S105 - where, not what

UNAUTHORIZED_TEMPLATE = '{"error":"unauthorized","message":$context.error.messageString,"details":[]}'


@dataclass(frozen=True)
class ApiAuth:
    """What the APIs need from the identity module."""

    user_pool_arn: str
    scopes: Sequence[str]  # a token needs one of them (API Gateway checks the access token's `scope`)
    authorizer_function_name: str  # the WebSocket $connect authorizer
    authorizer_function_invoke_arn: str


@dataclass(frozen=True)
class ApiInputs:
    name_prefix: str
    region: str
    api_function_name: str
    api_function_invoke_arn: str
    websocket_function_name: str
    websocket_function_invoke_arn: str
    throttle_rate_limit: float
    throttle_burst_limit: int
    log_retention_days: int
    kms_key_arn: str
    auth: ApiAuth | None = None  # None: no sign-in (auth.mode = "none")


class Api(Construct):
    """The two public entry points of Orchestra."""

    def __init__(self, scope: Construct, id: str, inputs: ApiInputs) -> None:
        super().__init__(scope, id)
        self.inputs = inputs
        self._rest(inputs)
        self._websocket(inputs)

    def _rest(self, inputs: ApiInputs) -> None:
        rest = aws.api_gateway_rest_api.ApiGatewayRestApi(
            self,
            "rest_api",
            name=f"{inputs.name_prefix}-api",
            description="Orchestra REST API",
            endpoint_configuration=aws.api_gateway_rest_api.ApiGatewayRestApiEndpointConfiguration(
                types=["REGIONAL"]
            ),
            lifecycle={"create_before_destroy": True},
        )
        self.rest_api = rest
        proxy = aws.api_gateway_resource.ApiGatewayResource(
            self, "proxy", rest_api_id=rest.id, parent_id=rest.root_resource_id, path_part="{proxy+}"
        )
        resources = {"/": rest.root_resource_id, "/{proxy+}": proxy.id}
        for path in PUBLIC_PATHS:
            resource = aws.api_gateway_resource.ApiGatewayResource(
                self,
                f"public_{path.strip('/').replace('.', '_')}",
                rest_api_id=rest.id,
                parent_id=rest.root_resource_id,
                path_part=path.strip("/"),
            )
            resources[path] = resource.id
        auth = inputs.auth
        authorizer = None
        if auth is not None:
            authorizer = aws.api_gateway_authorizer.ApiGatewayAuthorizer(
                self,
                "rest_authorizer",
                name=f"{inputs.name_prefix}-users",
                rest_api_id=rest.id,
                type="COGNITO_USER_POOLS",
                provider_arns=[auth.user_pool_arn],
                identity_source="method.request.header.Authorization",
            )
        # (path, method) -> whether it needs a token.
        routes = [("/", "ANY", True), ("/{proxy+}", "ANY", True)]
        routes += [(path, "GET", False) for path in PUBLIC_PATHS]
        routes += [("/", "OPTIONS", False), ("/{proxy+}", "OPTIONS", False)]
        integrations = []
        described = []
        for path, http_method, protected in routes:
            name = {"/": "root", "/{proxy+}": "proxy"}.get(path) or path.strip("/").replace(".", "_")
            key = f"{name}_{http_method.lower()}"
            guarded = protected and authorizer is not None
            method = aws.api_gateway_method.ApiGatewayMethod(
                self,
                key if http_method != "ANY" else f"{name}_any",
                rest_api_id=rest.id,
                resource_id=resources[path],
                http_method=http_method,
                authorization="COGNITO_USER_POOLS" if guarded else "NONE",
                authorizer_id=authorizer.id if guarded and authorizer is not None else None,
                authorization_scopes=list(auth.scopes) if guarded and auth is not None else None,
            )
            integrations.append(
                aws.api_gateway_integration.ApiGatewayIntegration(
                    self,
                    f"{name}_integration" if http_method == "ANY" else f"{key}_integration",
                    rest_api_id=rest.id,
                    resource_id=resources[path],
                    http_method=method.http_method,
                    integration_http_method="POST",
                    type="AWS_PROXY",
                    uri=inputs.api_function_invoke_arn,
                )
            )
            described.append(
                {
                    "path": path,
                    "method": http_method,
                    "authorization": "COGNITO_USER_POOLS" if guarded else "NONE",
                    "scopes": sorted(auth.scopes) if guarded and auth is not None else [],
                }
            )
        # A deployment is a snapshot: make a new one whenever a route, its integration, its
        # authorization or the authorizer (its user pool) changes.
        routes_digest = hashlib.sha256(
            json.dumps({"routes": described, "type": "AWS_PROXY"}, sort_keys=True).encode()
        ).hexdigest()
        triggers = {"redeployment": routes_digest}
        if authorizer is not None:
            triggers["authorizer"] = Fn.sha256(
                Fn.jsonencode({"providers": authorizer.provider_arns, "source": authorizer.identity_source})
            )
        deployment = aws.api_gateway_deployment.ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=rest.id,
            triggers=triggers,
            lifecycle={"create_before_destroy": True},
            depends_on=integrations,
        )
        logs = EncryptedLogGroup(
            self,
            "rest_access_logs",
            LogGroupInputs(
                name=f"/aws/apigateway/{inputs.name_prefix}-api",
                retention_days=inputs.log_retention_days,
                kms_key_arn=inputs.kms_key_arn,
            ),
        )
        self.rest_stage = aws.api_gateway_stage.ApiGatewayStage(
            self,
            "stage",
            rest_api_id=rest.id,
            deployment_id=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            access_log_settings=aws.api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=logs.arn, format=ACCESS_LOG_FORMAT
            ),
        )
        aws.api_gateway_method_settings.ApiGatewayMethodSettings(
            self,
            "throttling",
            rest_api_id=rest.id,
            stage_name=self.rest_stage.stage_name,
            method_path="*/*",
            settings=aws.api_gateway_method_settings.ApiGatewayMethodSettingsSettings(
                throttling_rate_limit=inputs.throttle_rate_limit,
                throttling_burst_limit=inputs.throttle_burst_limit,
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
            ),
        )
        aws.lambda_permission.LambdaPermission(
            self,
            "rest_invokes_api_function",
            statement_id="AllowRestApi",
            action="lambda:InvokeFunction",
            function_name=inputs.api_function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{rest.execution_arn}/*/*",
        )
        self.api_url: str = self.rest_stage.invoke_url

    def _websocket(self, inputs: ApiInputs) -> None:
        ws = aws.apigatewayv2_api.Apigatewayv2Api(
            self,
            "websocket_api",
            name=f"{inputs.name_prefix}-ws",
            protocol_type="WEBSOCKET",
            description="Orchestra live workflow updates",
            route_selection_expression="$request.body.action",
        )
        self.websocket_api = ws
        integration = aws.apigatewayv2_integration.Apigatewayv2Integration(
            self,
            "websocket_integration",
            api_id=ws.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=inputs.websocket_function_invoke_arn,
        )
        authorizer = self._websocket_authorizer(ws, inputs.auth) if inputs.auth is not None else None
        routes = []
        for key in WEBSOCKET_ROUTES:
            replies = key in WEBSOCKET_REPLYING_ROUTES
            # Only $connect can have an authorizer; what it allowed holds for the whole connection.
            guarded = key == "$connect" and authorizer is not None
            route = aws.apigatewayv2_route.Apigatewayv2Route(
                self,
                f"route_{key.strip('$')}",
                api_id=ws.id,
                route_key=key,
                authorization_type="CUSTOM" if guarded else "NONE",
                authorizer_id=authorizer.id if guarded and authorizer is not None else None,
                target=f"integrations/{integration.id}",
                route_response_selection_expression="$default" if replies else None,
            )
            routes.append(route)
            if replies:
                # Without a route response API Gateway drops the function's answer: the client would
                # never see its subscription acknowledged, or why a message was refused.
                aws.apigatewayv2_route_response.Apigatewayv2RouteResponse(
                    self,
                    f"route_{key.strip('$')}_response",
                    api_id=ws.id,
                    route_id=route.id,
                    route_response_key="$default",
                )
        logs = EncryptedLogGroup(
            self,
            "websocket_access_logs",
            LogGroupInputs(
                name=f"/aws/apigateway/{inputs.name_prefix}-ws",
                retention_days=inputs.log_retention_days,
                kms_key_arn=inputs.kms_key_arn,
            ),
        )
        self.websocket_stage = aws.apigatewayv2_stage.Apigatewayv2Stage(
            self,
            "websocket_stage",
            api_id=ws.id,
            name=STAGE,
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2_stage.Apigatewayv2StageDefaultRouteSettings(
                throttling_rate_limit=inputs.throttle_rate_limit,
                throttling_burst_limit=inputs.throttle_burst_limit,
                logging_level="ERROR",
                data_trace_enabled=False,
            ),
            access_log_settings=aws.apigatewayv2_stage.Apigatewayv2StageAccessLogSettings(
                destination_arn=logs.arn, format=ACCESS_LOG_FORMAT
            ),
            depends_on=routes,
        )
        aws.lambda_permission.LambdaPermission(
            self,
            "websocket_invokes_function",
            statement_id="AllowWebSocketApi",
            action="lambda:InvokeFunction",
            function_name=inputs.websocket_function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{ws.execution_arn}/*",
        )
        self.websocket_url: str = self.websocket_stage.invoke_url
        # Where the orchestrator posts to connections (the @connections management API).
        self.websocket_management_endpoint = (
            f"https://{ws.id}.execute-api.{inputs.region}.amazonaws.com/{STAGE}"
        )
        self.websocket_execution_arn: str = ws.execution_arn

    def _websocket_authorizer(
        self, ws: aws.apigatewayv2_api.Apigatewayv2Api, auth: ApiAuth
    ) -> aws.apigatewayv2_authorizer.Apigatewayv2Authorizer:
        # A WebSocket REQUEST authorizer answers with an IAM policy; API Gateway refuses the
        # handshake (401) without calling it when an identity source is missing. Its results are not
        # cached (authorizer_result_ttl_in_seconds is for HTTP APIs only).
        authorizer = aws.apigatewayv2_authorizer.Apigatewayv2Authorizer(
            self,
            "websocket_authorizer",
            api_id=ws.id,
            name=f"{self.inputs.name_prefix}-ws-token",
            authorizer_type="REQUEST",
            authorizer_uri=auth.authorizer_function_invoke_arn,
            identity_sources=[WEBSOCKET_TOKEN_SOURCE],
        )
        aws.lambda_permission.LambdaPermission(
            self,
            "websocket_invokes_authorizer",
            statement_id="AllowWebSocketAuthorizer",
            action="lambda:InvokeFunction",
            function_name=auth.authorizer_function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{ws.execution_arn}/authorizers/{authorizer.id}",
        )
        return authorizer

    def allow_origin(self, origin: str) -> None:
        """Let browsers on `origin` read the answers API Gateway itself gives (401, 429, 5xx, ...)."""
        headers = {
            "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
            "gatewayresponse.header.Vary": "'Origin'",
        }
        templates = {
            "DEFAULT_4XX": GATEWAY_ERROR_TEMPLATE,
            "DEFAULT_5XX": GATEWAY_ERROR_TEMPLATE,
        }
        if self.inputs.auth is not None:
            # Missing, malformed or expired token (and a token without one of the method's scopes).
            templates["UNAUTHORIZED"] = UNAUTHORIZED_TEMPLATE
        for response_type, template in templates.items():
            extra = (
                {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"}
                if response_type == "UNAUTHORIZED"
                else {}
            )
            aws.api_gateway_gateway_response.ApiGatewayGatewayResponse(
                self,
                f"gateway_{response_type.lower()}",
                rest_api_id=self.rest_api.id,
                response_type=response_type,
                status_code="401" if response_type == "UNAUTHORIZED" else None,
                response_parameters={**headers, **extra},
                response_templates={"application/json": template},
            )
