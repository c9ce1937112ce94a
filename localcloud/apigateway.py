"""API Gateway REST APIs: the stack's resources, methods and Lambda proxy integrations, per stage.

Each REST API listens on its own 127.0.0.1 port; its stages are path prefixes, as on
`https://<id>.execute-api.<region>.amazonaws.com/<stage>`. A request is matched against the
resource tree (literal segments before `{param}` before `{greedy+}`), and its method against the
resource's methods (`ANY` matches all). A Lambda proxy integration (AWS_PROXY) receives the
version 1.0 proxy event exactly as API Gateway builds it (resource, path, httpMethod, headers and
multiValueHeaders, query strings, pathParameters, stageVariables, requestContext, body,
isBase64Encoded), and its answer is checked as API Gateway checks it.

What API Gateway itself answers, it answers with its own status, body and `x-amzn-ErrorType`:
403 MissingAuthenticationTokenException for an unknown route or stage, 429 when the stage's
throttling (method settings `*/*`, or per method) is exceeded, 413 above 10 MB, 502 for a function
error or a malformed proxy response, 504 past the integration timeout, 500 when the function's
resource policy does not let API Gateway invoke it. Gateway responses (aws_api_gateway_gateway_response)
customise those answers.

A method with a COGNITO_USER_POOLS authorizer is enforced as API Gateway enforces it, against the
stack's emulated user pool (localcloud/cognito.py): the token from the authorizer's identity source
(the `Authorization` header, with or without `Bearer `); with authorization scopes it must be a
valid access token holding one of them, without, a valid ID token. Otherwise 401 UNAUTHORIZED,
`{"message": "Unauthorized"}` (`"The incoming token has expired"` for an expired one), before the
integration runs; the function receives the token's claims in `requestContext.authorizer.claims`
(every value a string, lists comma-separated). Other authorizer types (Lambda TOKEN/REQUEST on a
REST API), a pool the stack does not declare, and integrations other than AWS_PROXY to a Lambda
function or MOCK stop start-up: they cannot be reproduced faithfully here.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from localcloud.cognito import TokenRefused, UserPool
from localcloud.lambda_ import FunctionNotFound, LambdaService, Throttled
from localcloud.permissions import Permissions
from localcloud.plan import Plan, PlanError, Resource
from localcloud.web import Listener, TokenBucket, listen

log = logging.getLogger("localcloud.apigateway")

TYPES = (
    "aws_api_gateway_rest_api",
    "aws_api_gateway_resource",
    "aws_api_gateway_method",
    "aws_api_gateway_integration",
    "aws_api_gateway_deployment",
    "aws_api_gateway_stage",
    "aws_api_gateway_method_settings",
    "aws_api_gateway_gateway_response",
    "aws_api_gateway_method_response",
    "aws_api_gateway_integration_response",
    "aws_api_gateway_authorizer",
)
PAYLOAD_LIMIT = 10 * 1024 * 1024
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000

# Gateway responses API Gateway sends by default: type -> (status, message, error type header).
DEFAULT_RESPONSES: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLargeException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "ACCESS_DENIED": (403, "Forbidden", "AccessDeniedException"),
}
DEFAULT_TYPE_FOR = {4: "DEFAULT_4XX", 5: "DEFAULT_5XX"}


def _block(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def request_time(now: float) -> str:
    """API Gateway's requestTime: 09/Apr/2015:12:34:56 +0000."""
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


@dataclass
class LambdaTarget:
    """A Lambda proxy integration: the function, and what must allow API Gateway to call it."""

    function: str
    timeout_ms: int


def lambda_target(plan: Plan, where: str, uri: str, timeout_ms: int | None) -> LambdaTarget:
    function = plan.function_for_arn(uri)
    if function is None:
        raise PlanError(f"{where}: integration uri {uri} is not the invoke ARN of a function in the stack")
    return LambdaTarget(
        str(plan.attribute(function.address, "function_name")),
        int(timeout_ms or DEFAULT_INTEGRATION_TIMEOUT_MS),
    )


@dataclass
class Invocation:
    """What calling the integration gave: a response dict, or the gateway error type to answer with."""

    response: dict[str, Any] | None = None
    error: str | None = None
    request_id: str = ""
    failure: str = ""  # the function's errorMessage, when it failed


async def call_lambda(
    service: LambdaService,
    permissions: Permissions,
    target: LambdaTarget,
    source_arn: str,
    event: dict[str, Any],
) -> Invocation:
    """Invoke as API Gateway does: resource policy first, synchronous, bounded by the integration timeout."""
    if not permissions.allows(target.function, "apigateway.amazonaws.com", source_arn):
        log.warning(
            "%s: no permission lets apigateway.amazonaws.com invoke it from %s", target.function, source_arn
        )
        return Invocation(error="API_CONFIGURATION_ERROR")
    try:
        function = service.get(target.function)
        # Past the integration timeout API Gateway answers 504, while the function runs on.
        invocation = service.spawn(function.invoke(json.dumps(event).encode()), f"api {target.function}")
        done, _ = await asyncio.wait({invocation}, timeout=target.timeout_ms / 1000)
        if not done:
            return Invocation(error="INTEGRATION_TIMEOUT")
        result = invocation.result()
    except Throttled:
        return Invocation(error="API_CONFIGURATION_ERROR")
    except FunctionNotFound:
        return Invocation(error="API_CONFIGURATION_ERROR")
    if result.function_error:
        try:
            failure = str(json.loads(result.payload).get("errorMessage", ""))
        except (ValueError, AttributeError, RecursionError):
            failure = ""
        return Invocation(error="INTEGRATION_FAILURE", request_id=result.request_id, failure=failure)
    try:
        response = json.loads(result.payload)
    except (ValueError, RecursionError):
        return Invocation(error="INTEGRATION_FAILURE", request_id=result.request_id)
    return Invocation(response=response if isinstance(response, dict) else None, request_id=result.request_id)


@dataclass
class CognitoAuthorizer:
    pool: UserPool
    header: str  # the identity source's header name


@dataclass
class Method:
    http_method: str
    authorization: str
    authorizer: CognitoAuthorizer | None = None
    scopes: list[str] = field(default_factory=list)
    integration: LambdaTarget | None = None
    mock: dict[str, Any] | None = None  # status code, headers, body of a MOCK integration


@dataclass
class Node:
    part: str  # "", "workflows", "{id}", "{proxy+}"
    resource_id: str
    path: str
    children: list[Node] = field(default_factory=list)
    methods: dict[str, Method] = field(default_factory=dict)

    @property
    def greedy(self) -> bool:
        return self.part.startswith("{") and self.part.endswith("+}")

    @property
    def variable(self) -> bool:
        return self.part.startswith("{") and not self.greedy

    def match(self, segments: list[str], params: dict[str, str]) -> Node | None:
        if not segments:
            return self
        head, rest = segments[0], segments[1:]
        ordered = sorted(self.children, key=lambda c: (c.greedy, c.variable))
        for child in ordered:
            if child.greedy:
                params[child.part[1:-2]] = "/".join(segments)
                return child
            if child.variable:
                found = child.match(rest, params)
                if found is not None:
                    params[child.part[1:-1]] = head
                    return found
            elif child.part == head:
                found = child.match(rest, params)
                if found is not None:
                    return found
        return None


@dataclass
class Stage:
    name: str
    variables: dict[str, str] | None
    throttles: dict[str, TokenBucket]  # method path ("*/*", "workflows/GET") -> bucket


@dataclass
class GatewayResponse:
    status: int | None
    parameters: dict[str, str]
    templates: dict[str, str]


class RestApi:
    def __init__(
        self,
        plan: Plan,
        api: Resource,
        service: LambdaService,
        permissions: Permissions,
        pools: list[UserPool] | None = None,
    ) -> None:
        self.plan = plan
        self.pools = {pool.arn: pool for pool in pools or []}
        self.address = api.address
        self.service = service
        self.permissions = permissions
        config = plan.resolved(api.address)
        if config.get("body"):
            raise PlanError(
                f"{api.address}: APIs defined by an OpenAPI body are not supported by the local cloud"
            )
        self.id = str(plan.attribute(api.address, "id"))
        self.binary_media_types = [str(t) for t in config.get("binary_media_types") or []]
        self.host = f"{self.id}.execute-api.{plan.region}.amazonaws.com"
        root_id = str(plan.attribute(api.address, "root_resource_id"))
        self.root = Node("", root_id, "/")
        nodes = {root_id: self.root}
        resources = [r for r in plan.of_type("aws_api_gateway_resource") if self._mine(r, "rest_api_id")]
        pending = list(resources)
        while pending:  # parents before children, whatever the order of declaration
            progressed = False
            for resource in list(pending):
                parent = nodes.get(str(plan.attribute(resource.address, "parent_id")))
                if parent is None:
                    continue
                part = str(plan.attribute(resource.address, "path_part"))
                node = Node(
                    part,
                    str(plan.attribute(resource.address, "id")),
                    str(plan.attribute(resource.address, "path")),
                )
                parent.children.append(node)
                nodes[node.resource_id] = node
                pending.remove(resource)
                progressed = True
            if not progressed:
                raise PlanError(f"{pending[0].address}: its parent resource is not part of {api.address}")
        self.nodes = nodes
        self._methods(plan, nodes)
        self.stages = self._stages(plan)
        self.responses = self._gateway_responses(plan)
        self.listener: Listener | None = None

    def _mine(self, resource: Resource, key: str) -> bool:
        return bool(self.plan.attribute(resource.address, key) == self.id)

    def _methods(self, plan: Plan, nodes: Mapping[str, Node]) -> None:
        for resource in plan.of_type("aws_api_gateway_method"):
            if not self._mine(resource, "rest_api_id"):
                continue
            config = plan.resolved(resource.address)
            node = nodes[str(config["resource_id"])]
            authorization = str(config.get("authorization", "NONE")).upper()
            if authorization not in ("NONE", "AWS_IAM", "COGNITO_USER_POOLS"):
                raise PlanError(
                    f"{resource.address}: authorization {authorization} cannot be reproduced locally"
                )
            authorizer = None
            if authorization == "COGNITO_USER_POOLS":
                authorizer = self._authorizer(resource.address, str(config.get("authorizer_id") or ""))
            node.methods[str(config["http_method"]).upper()] = Method(
                str(config["http_method"]).upper(),
                authorization,
                authorizer,
                [str(s) for s in config.get("authorization_scopes") or []],
            )
        for resource in plan.of_type("aws_api_gateway_integration"):
            if not self._mine(resource, "rest_api_id"):
                continue
            config = plan.resolved(resource.address)
            node = nodes[str(config["resource_id"])]
            method = node.methods.get(str(config["http_method"]).upper())
            if method is None:
                raise PlanError(f"{resource.address}: no method {config['http_method']} on {node.path}")
            kind = str(config.get("type", "")).upper()
            if kind == "AWS_PROXY":
                method.integration = lambda_target(
                    plan, resource.address, str(config.get("uri", "")), config.get("timeout_milliseconds")
                )
            elif kind == "MOCK":
                method.mock = self._mock(plan, node, method.http_method)
            else:
                raise PlanError(
                    f"{resource.address}: integration type {kind} is not supported (AWS_PROXY and MOCK are)"
                )

    def _authorizer(self, where: str, authorizer_id: str) -> CognitoAuthorizer:
        for resource in self.plan.of_type("aws_api_gateway_authorizer"):
            if self.plan.attribute(resource.address, "id") != authorizer_id:
                continue
            config = self.plan.resolved(resource.address)
            if str(config.get("type", "TOKEN")).upper() != "COGNITO_USER_POOLS":
                raise PlanError(f"{resource.address}: only COGNITO_USER_POOLS authorizers run locally")
            arns = [str(a) for a in config.get("provider_arns") or []]
            known = [self.pools[arn] for arn in arns if arn in self.pools]
            if len(known) != 1 or len(arns) != 1:
                raise PlanError(
                    f"{resource.address}: provider_arns {arns} must name the one user pool the stack "
                    "declares (a pool the stack does not create cannot be emulated)"
                )
            source = str(config.get("identity_source", "method.request.header.Authorization"))
            if not source.startswith("method.request.header."):
                raise PlanError(f"{resource.address}: identity_source {source} must be a request header")
            return CognitoAuthorizer(known[0], source.removeprefix("method.request.header."))
        raise PlanError(
            f"{where}: authorizer_id {authorizer_id or '(none)'} is not an authorizer of the stack"
        )

    def _mock(self, plan: Plan, node: Node, http_method: str) -> dict[str, Any]:
        """A MOCK integration's default integration response (CORS preflights are the usual case)."""
        for resource in plan.of_type("aws_api_gateway_integration_response"):
            config = plan.resolved(resource.address)
            if (
                config.get("rest_api_id") == self.id
                and config.get("resource_id") == node.resource_id
                and str(config.get("http_method")).upper() == http_method
                and not config.get("selection_pattern")
            ):
                headers = {}
                for key, value in (config.get("response_parameters") or {}).items():
                    name = key.removeprefix("method.response.header.")
                    headers[name] = str(value).strip("'")
                templates = config.get("response_templates") or {}
                return {
                    "status": int(config.get("status_code", 200)),
                    "headers": headers,
                    "body": templates.get("application/json", ""),
                }
        return {"status": 200, "headers": {}, "body": ""}

    def _stages(self, plan: Plan) -> dict[str, Stage]:
        stages = {}
        for resource in plan.of_type("aws_api_gateway_stage"):
            if not self._mine(resource, "rest_api_id"):
                continue
            config = plan.resolved(resource.address)
            name = str(config["stage_name"])
            stages[name] = Stage(name, config.get("variables") or None, {})
        for resource in plan.of_type("aws_api_gateway_method_settings"):
            if not self._mine(resource, "rest_api_id"):
                continue
            config = plan.resolved(resource.address)
            stage = stages.get(str(config["stage_name"]))
            if stage is None:
                raise PlanError(f"{resource.address}: stage {config['stage_name']} is not declared")
            settings = _block(config.get("settings"))
            rate, burst = settings.get("throttling_rate_limit"), settings.get("throttling_burst_limit")
            if rate is not None and float(rate) >= 0 and burst is not None and int(burst) >= 0:
                stage.throttles[str(config["method_path"])] = TokenBucket(float(rate), int(burst))
        return stages

    def _gateway_responses(self, plan: Plan) -> dict[str, GatewayResponse]:
        responses = {}
        for resource in plan.of_type("aws_api_gateway_gateway_response"):
            if not self._mine(resource, "rest_api_id"):
                continue
            config = plan.resolved(resource.address)
            responses[str(config["response_type"])] = GatewayResponse(
                int(config["status_code"]) if config.get("status_code") else None,
                # Header values may name the stack's endpoints (a CORS origin): the local ones here.
                dict(plan.localize(config.get("response_parameters") or {})),
                dict(config.get("response_templates") or {}),
            )
        return responses

    # -- serving ------------------------------------------------------------------------------

    async def start(self, port: int | socket.socket = 0) -> Listener:
        app = web.Application(client_max_size=PAYLOAD_LIMIT + 1)
        # Any path, newlines included (an encoded %0A must reach the function as on AWS, not a router 404).
        app.router.add_route("*", r"/{path:[\s\S]*}", self.handle)
        self.listener = await listen(app, port)
        return self.listener

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.close()

    def gateway_error(
        self, kind: str, request: web.Request, request_id: str, message: str | None = None
    ) -> web.Response:
        status, default_message, error_type = DEFAULT_RESPONSES[kind]
        message = message or default_message
        custom = self.responses.get(kind) or self.responses.get(DEFAULT_TYPE_FOR.get(status // 100, ""))
        headers = {
            "x-amzn-ErrorType": error_type,
            "x-amzn-RequestId": request_id,
            "Content-Type": "application/json",
        }
        body = json.dumps({"message": message})
        if custom is not None:
            status = custom.status or status
            for key, value in custom.parameters.items():
                name = key.removeprefix("gatewayresponse.header.")
                if value.startswith("'") and value.endswith("'"):
                    headers[name] = value[1:-1]
                elif value.startswith("method.request.header."):
                    incoming = request.headers.get(value.removeprefix("method.request.header."))
                    if incoming is not None:
                        headers[name] = incoming
            template = custom.templates.get("application/json")
            if template is not None:
                body = (
                    template.replace("$context.error.messageString", json.dumps(message))
                    .replace("$context.error.message", message)
                    .replace("$context.error.responseType", kind)
                    .replace("$context.requestId", request_id)
                )
        return web.Response(status=status, text=body, headers=headers)

    def _authorize(self, method: Method, request: web.Request) -> tuple[str | None, dict[str, str] | None]:
        """(why the request is refused, None) or (None, the claims API Gateway passes on)."""
        assert method.authorizer is not None
        token = request.headers.get(method.authorizer.header, "").strip()
        token = token[7:].strip() if token[:7].lower() == "bearer " else token
        if not token:
            return "Unauthorized", None
        try:
            claims = method.authorizer.pool.verify(
                token, "access" if method.scopes else "id", method.scopes or None
            )
        except TokenRefused as refused:
            log.info("REST authorizer refused a token: %s", refused)
            return ("The incoming token has expired" if refused.expired else "Unauthorized"), None
        return None, {
            key: ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
            for key, value in claims.items()
        }

    def _throttled(self, stage: Stage, node: Node, method: str) -> bool:
        specific = f"{node.path.lstrip('/')}/{method}"
        bucket = stage.throttles.get(specific) or stage.throttles.get("*/*")
        return bucket is not None and not bucket.take()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        now = time.time()
        raw_path = request.path
        stage_name, _, rest = raw_path.lstrip("/").partition("/")
        stage = self.stages.get(stage_name)
        if stage is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request, request_id)
        path = "/" + rest
        params: dict[str, str] = {}
        segments = [s for s in rest.split("/") if s] if rest else []
        node = self.root.match(segments, params)
        method = request.method.upper()
        chosen = None if node is None else node.methods.get(method) or node.methods.get("ANY")
        if node is None or chosen is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request, request_id)
        if chosen.authorization == "AWS_IAM" and "Authorization" not in request.headers:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request, request_id)
        claims: dict[str, str] | None = None
        if chosen.authorizer is not None:
            refused, claims = self._authorize(chosen, request)
            if refused is not None:
                return self.gateway_error("UNAUTHORIZED", request, request_id, refused)
        if self._throttled(stage, node, method):
            return self.gateway_error("THROTTLED", request, request_id)
        body = await request.read()
        if len(body) > PAYLOAD_LIMIT:
            return self.gateway_error("REQUEST_TOO_LARGE", request, request_id)
        if chosen.mock is not None:
            return web.Response(
                status=chosen.mock["status"],
                text=chosen.mock["body"],
                headers={**chosen.mock["headers"], "x-amzn-RequestId": request_id},
            )
        assert chosen.integration is not None
        event = self.event(request, stage, node, path, params, body, request_id, now)
        if claims is not None:
            event["requestContext"]["authorizer"] = {"claims": claims}
        source_arn = self.plan.execute_api_arn(self.id, f"{stage.name}/{method}{node.path}")
        outcome = await call_lambda(self.service, self.permissions, chosen.integration, source_arn, event)
        if outcome.error is not None:
            return self.gateway_error(outcome.error, request, request_id)
        response = _proxy_response(outcome.response)
        if response is None:
            log.warning(
                "%s: malformed Lambda proxy response: %.200s", chosen.integration.function, outcome.response
            )
            return self.gateway_error("INTEGRATION_FAILURE", request, request_id)
        status, headers, payload = response
        headers.setdefault("Content-Type", "application/json")
        headers["x-amzn-RequestId"] = request_id
        headers["x-amz-apigw-id"] = base64.b64encode(uuid.uuid4().bytes[:12]).decode()[:16]
        headers["X-Amzn-Trace-Id"] = f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}"
        out = web.Response(status=status, body=payload)
        for name, value in headers.items():
            if isinstance(value, list):
                for item in value:
                    out.headers.add(name, item)
            else:
                out.headers[name] = value
        return out

    def event(
        self,
        request: web.Request,
        stage: Stage,
        node: Node,
        path: str,
        params: dict[str, str],
        body: bytes,
        request_id: str,
        now: float,
    ) -> dict[str, Any]:
        """The Lambda proxy integration's event (payload format 1.0)."""
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        peer = request.remote or "127.0.0.1"
        trace = f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}"
        for name, value in (
            ("X-Forwarded-For", peer),
            ("X-Forwarded-Port", str(request.url.port or "")),
            ("X-Forwarded-Proto", request.scheme),
            ("X-Amzn-Trace-Id", trace),
        ):
            multi_headers.setdefault(name, [value])
        headers = {name: values[-1] for name, values in multi_headers.items()}
        query: dict[str, list[str]] = {}
        for name, value in request.query.items():
            query.setdefault(name, []).append(value)
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        binary = bool(body) and any(
            content_type == t or (t.endswith("/*") and content_type.startswith(t[:-1])) or t == "*/*"
            for t in self.binary_media_types
        )
        text: str | None
        if not body:
            text = None
        elif binary:
            text = base64.b64encode(body).decode()
        else:
            text = body.decode("utf-8", errors="replace")
        resource_path = node.path
        return {
            "resource": resource_path,
            "path": path,
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": params or None,
            "stageVariables": stage.variables,
            "requestContext": {
                "resourceId": node.resource_id,
                "resourcePath": resource_path,
                "httpMethod": request.method.upper(),
                "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode()[:16],
                "requestTime": request_time(now),
                "path": f"/{stage.name}{path}",
                "accountId": self.plan.account_id,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "stage": stage.name,
                "domainPrefix": self.id,
                "requestTimeEpoch": int(now * 1000),
                "requestId": request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": peer,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": request.headers.get("User-Agent"),
                    "user": None,
                },
                "domainName": self.host,
                "deploymentId": self.id[:6],
                "apiId": self.id,
            },
            "body": text,
            "isBase64Encoded": binary,
        }


def _proxy_response(response: dict[str, Any] | None) -> tuple[int, dict[str, Any], bytes] | None:
    """Check a proxy response as API Gateway does; None when it is malformed (API Gateway: 502)."""
    if response is None:
        return None
    allowed = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    if set(response) - allowed:
        return None
    status = response.get("statusCode")
    if isinstance(status, str) and re.fullmatch(r"\d{3}", status):
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    headers: dict[str, Any] = {}
    for name, value in (response.get("multiValueHeaders") or {}).items():
        if not isinstance(value, list):
            return None
        headers[name] = [str(v) for v in value]
    for name, value in (response.get("headers") or {}).items():
        if isinstance(value, (dict, list)):
            return None
        headers.setdefault(
            name, "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        )
    body = response.get("body")
    if body is None:
        payload = b""
    elif isinstance(body, str):
        if response.get("isBase64Encoded"):
            try:
                payload = base64.b64decode(body, validate=True)
            except ValueError:
                return None
        else:
            payload = body.encode()
    else:
        return None
    return status, headers, payload
