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

import json
from collections.abc import Sequence
from dataclasses import dataclass

from modules.cdk import Construct, Fn, TerraformResource, aws
from modules.components import EncryptedLogGroup, LogGroupInputs

STAGE = "prod"
WEBSOCKET_ROUTES = ("$connect", "$disconnect", "$default", "subscribe")
# Routes whose function answer goes back to the client ({"type": "subscribed"} or {"type": "error"}).
WEBSOCKET_REPLYING_ROUTES = ("$default", "subscribe")
# Access log lines as JSON, one per request, with what an operator needs to find a failing call. Each
# API type has its own $context variables ("Variables for access logs for REST APIs in API Gateway",
# "Configure logging for WebSocket APIs in API Gateway"); API Gateway refuses a variable the type does
# not have (preflight rules APIGW-REST-LOG-VARIABLES, APIGW-WEBSOCKET-LOG-VARIABLES).
REST_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)
WEBSOCKET_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "eventType": "$context.eventType",
        "connectionId": "$context.connectionId",
        "status": "$context.status",
        "integrationLatency": "$context.integrationLatency",
        "error": "$context.error.message",
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
        snapshot: list[TerraformResource] = [proxy]
        for path in PUBLIC_PATHS:
            resource = aws.api_gateway_resource.ApiGatewayResource(
                self,
                f"public_{path.strip('/').replace('.', '_')}",
                rest_api_id=rest.id,
                parent_id=rest.root_resource_id,
                path_part=path.strip("/"),
            )
            resources[path] = resource.id
            snapshot.append(resource)
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
            snapshot.append(authorizer)
        # (path, method) -> whether it needs a token.
        routes = [("/", "ANY", True), ("/{proxy+}", "ANY", True)]
        routes += [(path, "GET", False) for path in PUBLIC_PATHS]
        routes += [("/", "OPTIONS", False), ("/{proxy+}", "OPTIONS", False)]
        methods, integrations = [], []
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
            methods.append(method)
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
        # Everything a deployment snapshots; deploy() hashes them into the deployment's trigger.
        self._deployed: list[TerraformResource] = [*snapshot, *methods, *integrations]
        self.rest_access_logs = EncryptedLogGroup(
            self,
            "rest_access_logs",
            LogGroupInputs(
                name=f"/aws/apigateway/{inputs.name_prefix}-api",
                retention_days=inputs.log_retention_days,
                kms_key_arn=inputs.kms_key_arn,
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
        # The stage's invoke URL, known before the stage exists (deploy() creates it last).
        self.api_url = f"https://{rest.id}.execute-api.{inputs.region}.amazonaws.com/{STAGE}"

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
                destination_arn=logs.arn, format=WEBSOCKET_ACCESS_LOG_FORMAT
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
        templates = {"DEFAULT_4XX": GATEWAY_ERROR_TEMPLATE, "DEFAULT_5XX": GATEWAY_ERROR_TEMPLATE}
        if self.inputs.auth is not None:
            # Missing, malformed or expired token (and a token without one of the method's scopes).
            templates["UNAUTHORIZED"] = UNAUTHORIZED_TEMPLATE
        for response_type, template in templates.items():
            unauthorized = response_type == "UNAUTHORIZED"
            extra = {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"} if unauthorized else {}
            self._deployed.append(
                aws.api_gateway_gateway_response.ApiGatewayGatewayResponse(
                    self,
                    f"gateway_{response_type.lower()}",
                    rest_api_id=self.rest_api.id,
                    response_type=response_type,
                    status_code="401" if unauthorized else None,
                    response_parameters={**headers, **extra},
                    response_templates={"application/json": template},
                )
            )

    def add_deployed(self, resource: TerraformResource) -> None:
        """A REST API resource (method, integration, authorizer, ...) the deployment must snapshot."""
        self._deployed.append(resource)

    def deploy(self) -> None:
        """The REST API's deployment and stage, created last: a deployment is a snapshot of the API
        when it is created, so it depends on everything deployed, and its trigger hashes all of it,
        so any change makes Terraform replace it ("Deploy REST APIs in API Gateway")."""
        inputs = self.inputs
        deployment = aws.api_gateway_deployment.ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            triggers={
                "redeployment": Fn.sha1(
                    Fn.jsonencode([Fn.jsonencode(resource.fqn) for resource in self._deployed])
                )
            },
            lifecycle={"create_before_destroy": True},
            depends_on=list(self._deployed),
        )
        self.rest_stage = aws.api_gateway_stage.ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            access_log_settings=aws.api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=self.rest_access_logs.arn, format=REST_ACCESS_LOG_FORMAT
            ),
        )
        aws.api_gateway_method_settings.ApiGatewayMethodSettings(
            self,
            "throttling",
            rest_api_id=self.rest_api.id,
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
