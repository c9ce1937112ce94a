"""API: the REST API (Lambda proxy) and the WebSocket API, their stages, throttling and access logs.

Every REST path goes to the api function (a `{proxy+}` resource plus the root), which owns routing,
404/405 and CORS, so errors have one shape. The WebSocket routes all go to the websocket function.
"""

from __future__ import annotations

import json
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
        methods, integrations = [], []
        for name, resource_id in (("root", rest.root_resource_id), ("proxy", proxy.id)):
            method = aws.api_gateway_method.ApiGatewayMethod(
                self,
                f"{name}_any",
                rest_api_id=rest.id,
                resource_id=resource_id,
                http_method="ANY",
                authorization="NONE",
            )
            methods.append(method)
            integrations.append(
                aws.api_gateway_integration.ApiGatewayIntegration(
                    self,
                    f"{name}_integration",
                    rest_api_id=rest.id,
                    resource_id=resource_id,
                    http_method=method.http_method,
                    integration_http_method="POST",
                    type="AWS_PROXY",
                    uri=inputs.api_function_invoke_arn,
                )
            )
        # Everything a deployment snapshots; deploy() hashes them into the deployment's trigger.
        self._deployed: list[TerraformResource] = [proxy, *methods, *integrations]
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
        routes = []
        for key in WEBSOCKET_ROUTES:
            replies = key in WEBSOCKET_REPLYING_ROUTES
            route = aws.apigatewayv2_route.Apigatewayv2Route(
                self,
                f"route_{key.strip('$')}",
                api_id=ws.id,
                route_key=key,
                authorization_type="NONE",
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

    def allow_origin(self, origin: str) -> None:
        """Let browsers on `origin` read the answers API Gateway itself gives (429, 5xx, ...)."""
        for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
            self._deployed.append(
                aws.api_gateway_gateway_response.ApiGatewayGatewayResponse(
                    self,
                    f"gateway_{response_type.lower()}",
                    rest_api_id=self.rest_api.id,
                    response_type=response_type,
                    response_parameters={
                        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
                        "gatewayresponse.header.Vary": "'Origin'",
                    },
                    response_templates={"application/json": GATEWAY_ERROR_TEMPLATE},
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
