"""API Gateway WebSocket APIs: routes from the stack, the proxy events, and the @connections API.

Each WebSocket API listens on its own 127.0.0.1 port: clients connect to `ws://127.0.0.1:<port>/<stage>`
(`wss://<id>.execute-api.<region>.amazonaws.com/<stage>` on AWS), and the management API answers on
the same port at `/<stage>/@connections/{connectionId}` (POST sends, GET describes, DELETE closes;
410 GoneException for a connection that is closed or not yet open, 403 without a signature).

As API Gateway does: `$connect` runs before the handshake completes (a failed or non-2xx answer
refuses the connection); each message is routed by the API's route selection expression
(`$request.body.<field>`), falling back to `$default`, or answered
`{"message": "Forbidden", ...}` when there is none; a route's integration answer reaches the
client only when the route has a route response; `$disconnect` runs after the connection is
closed, whoever closed it. Connections close after 10 minutes idle or 2 hours in all. Messages
above 128 KB close the connection (1009). A `$connect` route with a Lambda REQUEST authorizer
(authorization_type CUSTOM) runs it first, as a real function invocation behind its resource
policy: a missing identity source refuses the handshake with 401 without calling it, the function
failing with "Unauthorized" gives 401, a Deny policy 403, any other failure 500; an Allow passes
its `principalId` and `context` to the route's event as `requestContext.authorizer`. Stage
throttling (default and per-route route settings) answers `{"message": "Too Many Requests", ...}`.
`drop_connections` (the control API's `websocket/disconnect`, local only) closes every connection
at once, as those limits do.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from localcloud.apigateway import LambdaTarget, call_lambda, lambda_target, request_time
from localcloud.lambda_ import LambdaService
from localcloud.permissions import Permissions
from localcloud.plan import Plan, PlanError, Resource
from localcloud.web import Listener, TokenBucket, aws_error, listen

log = logging.getLogger("localcloud.websocket")

TYPES = (
    "aws_apigatewayv2_api",
    "aws_apigatewayv2_integration",
    "aws_apigatewayv2_route",
    "aws_apigatewayv2_stage",
    "aws_apigatewayv2_deployment",
    "aws_apigatewayv2_route_response",
    "aws_apigatewayv2_integration_response",
    "aws_apigatewayv2_authorizer",
)
MESSAGE_LIMIT = 128 * 1024
IDLE_TIMEOUT_SECONDS = 600.0
MAX_CONNECTION_SECONDS = 7200.0


def _block(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def _iso(epoch_ms: int) -> str:
    return (
        dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass
class RequestAuthorizer:
    id: str
    target: LambdaTarget
    query: list[str]  # identity sources: route.request.querystring.<name>
    headers: list[str]  # route.request.header.<name>


@dataclass
class Route:
    key: str
    target: LambdaTarget
    returns_response: bool
    authorizer: RequestAuthorizer | None = None


@dataclass
class Stage:
    name: str
    default_throttle: TokenBucket | None
    route_throttles: dict[str, TokenBucket]
    variables: dict[str, str] | None


@dataclass
class Connection:
    id: str
    stage: Stage
    ws: web.WebSocketResponse
    connected_at: int  # epoch ms
    source_ip: str
    user_agent: str | None
    headers: dict[str, str]
    last_active: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    close_reason: str = ""
    vanished: bool = False  # fault injection: gone without the gateway running $disconnect


def _connection_id() -> str:
    # API Gateway's ids are 16 characters of URL-safe base64 ending in "=" (L0SM9cOFvHcCIhw=).
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()  # 11 bytes: 15 characters and "="


class WebSocketApi:
    def __init__(self, plan: Plan, api: Resource, service: LambdaService, permissions: Permissions) -> None:
        self.plan = plan
        self.address = api.address
        self.service = service
        self.permissions = permissions
        config = plan.resolved(api.address)
        self.id = str(plan.attribute(api.address, "id"))
        self.host = f"{self.id}.execute-api.{plan.region}.amazonaws.com"
        expression = str(config.get("route_selection_expression", ""))
        if not expression.startswith("$request.body."):
            raise PlanError(
                f"{api.address}: route_selection_expression {expression!r} is not supported "
                "($request.body.<field> is)"
            )
        self.selection_path = expression.removeprefix("$request.body.").split(".")
        integrations: dict[str, LambdaTarget] = {}
        for resource in plan.of_type("aws_apigatewayv2_integration"):
            if plan.attribute(resource.address, "api_id") != self.id:
                continue
            icfg = plan.resolved(resource.address)
            if str(icfg.get("integration_type", "")).upper() != "AWS_PROXY":
                raise PlanError(f"{resource.address}: only AWS_PROXY integrations run locally")
            integrations[str(plan.attribute(resource.address, "id"))] = lambda_target(
                plan, resource.address, str(icfg.get("integration_uri", "")), icfg.get("timeout_milliseconds")
            )
        responding = {
            str(plan.attribute(r.address, "route_id"))
            for r in plan.of_type("aws_apigatewayv2_route_response")
            if plan.attribute(r.address, "api_id") == self.id
        }
        self.routes: dict[str, Route] = {}
        for resource in plan.of_type("aws_apigatewayv2_route"):
            if plan.attribute(resource.address, "api_id") != self.id:
                continue
            rcfg = plan.resolved(resource.address)
            key = str(rcfg["route_key"])
            target = str(rcfg.get("target", ""))
            integration = integrations.get(target.removeprefix("integrations/"))
            if integration is None:
                raise PlanError(
                    f"{resource.address}: route {key} targets {target or 'nothing'}, "
                    "not a declared integration"
                )
            kind = str(rcfg.get("authorization_type", "NONE")).upper()
            authorizer = None
            if kind == "CUSTOM":
                if key != "$connect":
                    raise PlanError(f"{resource.address}: API Gateway authorizes only the $connect route")
                authorizer = self._authorizer(resource.address, str(rcfg.get("authorizer_id") or ""))
            elif kind not in ("NONE", "AWS_IAM"):
                raise PlanError(f"{resource.address}: authorization_type {kind} cannot run locally")
            returns = bool(rcfg.get("route_response_selection_expression")) and (
                str(plan.attribute(resource.address, "id")) in responding
            )
            self.routes[key] = Route(key, integration, returns, authorizer)
        self.stages: dict[str, Stage] = {}
        for resource in plan.of_type("aws_apigatewayv2_stage"):
            if plan.attribute(resource.address, "api_id") != self.id:
                continue
            scfg = plan.resolved(resource.address)
            default = _block(scfg.get("default_route_settings"))
            per_route = {}
            for item in scfg.get("route_settings") or []:
                bucket = _bucket(item)
                if bucket is not None:
                    per_route[str(item["route_key"])] = bucket
            self.stages[str(scfg["name"])] = Stage(
                str(scfg["name"]), _bucket(default), per_route, scfg.get("stage_variables")
            )
        self.connections: dict[str, Connection] = {}
        self.listener: Listener | None = None
        self.stopping = False
        self.held_until = 0.0  # time.monotonic(): until then, new handshakes wait (drop_connections)
        self._hold_changed = asyncio.Event()

    def _authorizer(self, where: str, authorizer_id: str) -> RequestAuthorizer:
        for resource in self.plan.of_type("aws_apigatewayv2_authorizer"):
            if str(self.plan.attribute(resource.address, "id")) != authorizer_id:
                continue
            config = self.plan.resolved(resource.address)
            if str(config.get("authorizer_type", "")).upper() != "REQUEST":
                raise PlanError(f"{resource.address}: WebSocket APIs take REQUEST authorizers only")
            target = lambda_target(self.plan, resource.address, str(config.get("authorizer_uri", "")), None)
            sources = [str(x) for x in config.get("identity_sources") or []]
            query = [x.removeprefix("route.request.querystring.") for x in sources if ".querystring." in x]
            headers = [x.removeprefix("route.request.header.") for x in sources if ".header." in x]
            if len(query) + len(headers) != len(sources):
                raise PlanError(
                    f"{resource.address}: identity sources {sources} are not all query strings or headers"
                )
            return RequestAuthorizer(authorizer_id, target, query, headers)
        raise PlanError(
            f"{where}: authorizer_id {authorizer_id or '(none)'} is not an authorizer of this API"
        )

    async def _authorize(
        self, route: Route, stage: Stage, request: web.Request, context: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """Run the route's REQUEST authorizer: (0, what goes in requestContext.authorizer) or
        (the status API Gateway refuses the handshake with, None)."""
        authorizer = route.authorizer
        assert authorizer is not None
        if any(not request.query.get(q) for q in authorizer.query) or any(
            not request.headers.get(h) for h in authorizer.headers
        ):
            return 401, None
        method_arn = self.plan.execute_api_arn(self.id, f"{stage.name}/$connect")
        event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            "headers": dict(request.headers),
            "multiValueHeaders": {k: request.headers.getall(k) for k in request.headers},
            "queryStringParameters": dict(request.query),
            "multiValueQueryStringParameters": {k: request.query.getall(k) for k in request.query},
            "stageVariables": stage.variables or {},
            "requestContext": context,
        }
        source_arn = self.plan.execute_api_arn(self.id, f"authorizers/{authorizer.id}")
        outcome = await call_lambda(self.service, self.permissions, authorizer.target, source_arn, event)
        if outcome.error == "INTEGRATION_FAILURE":
            return (401 if outcome.failure == "Unauthorized" else 500), None
        if outcome.error is not None or not isinstance(outcome.response, dict):
            return 500, None
        policy = outcome.response.get("policyDocument") or {}
        statements = policy.get("Statement") or []
        allowed = any(
            str(st.get("Effect")) == "Allow" and _covers(st.get("Resource"), method_arn) for st in statements
        ) and not any(
            str(st.get("Effect")) == "Deny" and _covers(st.get("Resource"), method_arn) for st in statements
        )
        if not allowed:
            return 403, None
        passed = {str(k): v for k, v in (outcome.response.get("context") or {}).items()}
        passed["principalId"] = str(outcome.response.get("principalId", ""))
        return 0, passed

    # -- serving ------------------------------------------------------------------------------

    async def start(self, port: int | socket.socket = 0) -> Listener:
        app = web.Application(client_max_size=MESSAGE_LIMIT + 1024)
        app.router.add_route("*", "/{stage}/@connections/{connection_id}", self.manage)
        app.router.add_get("/{stage}", self.connect)
        app.router.add_route("*", "/{tail:.*}", self.forbidden)
        self.listener = await listen(app, port, shutdown_timeout=0.2)
        return self.listener

    async def vanish(self, count: int) -> int:
        """Fault injection (local only): `count` clients disappear without a trace: their sockets end
        and `$disconnect` never runs, so the connection records stay until a post to them answers
        410 Gone (as when the gateway learns of a dead client only later)."""
        gone = list(self.connections.values())[:count]
        for connection in gone:
            connection.vanished = True
            if connection.ws._req is not None and connection.ws._req.transport is not None:
                connection.ws._req.transport.abort()
        for connection in gone:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.closed.wait(), 5)
        return len(gone)

    async def drop_connections(self, hold_seconds: float = 0.0) -> int:
        """Close every open connection as API Gateway does at its 2-hour limit or idle timeout
        (1001 Going away; `$disconnect` runs for each); return how many. For `hold_seconds` from
        now, new connections wait before their handshake, as through a gateway outage; a new call
        replaces the hold (0 ends it at once)."""
        self.held_until = time.monotonic() + max(0.0, hold_seconds)
        self._hold_changed.set()
        dropped = list(self.connections.values())
        for connection in dropped:
            connection.close_code, connection.close_reason = 1001, "Going away"
        await asyncio.gather(
            *(c.ws.close(code=1001, message=b"Going away") for c in dropped), return_exceptions=True
        )
        return len(dropped)

    async def _held(self) -> None:
        while (remaining := self.held_until - time.monotonic()) > 0:
            self._hold_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hold_changed.wait(), remaining)

    async def stop(self) -> None:
        self.stopping = True  # the API is going away with its functions: no $disconnect now
        self.held_until = 0.0
        self._hold_changed.set()
        for connection in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"Going away")
        if self.listener is not None:
            await self.listener.close()

    async def forbidden(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "Forbidden"}, status=403)

    def _context(
        self,
        connection_id: str,
        stage: Stage,
        route: str,
        event_type: str,
        connected_at: int,
        peer: str,
        agent: str | None,
    ) -> dict[str, Any]:
        now = time.time()
        identity: dict[str, Any] = {"sourceIp": peer}
        if agent is not None:
            identity["userAgent"] = agent
        return {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode()[:16],
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": stage.name,
            "connectedAt": connected_at,
            "requestTimeEpoch": int(now * 1000),
            "identity": identity,
            "requestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode()[:16],
            "domainName": self.host,
            "connectionId": connection_id,
            "apiId": self.id,
        }

    async def _invoke(
        self, route: Route, stage: Stage, event: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        source_arn = self.plan.execute_api_arn(self.id, f"{stage.name}/{route.key}")
        outcome = await call_lambda(self.service, self.permissions, route.target, source_arn, event)
        return outcome.response, outcome.error is None

    async def connect(self, request: web.Request) -> web.StreamResponse:
        stage = self.stages.get(request.match_info["stage"])
        if stage is None or request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response({"message": "Forbidden"}, status=403)
        await self._held()
        connection_id = _connection_id()
        connected_at = int(time.time() * 1000)
        peer = request.remote or "127.0.0.1"
        agent = request.headers.get("User-Agent")
        headers = dict(request.headers)
        if self._throttled(stage, "$connect"):
            return web.json_response({"message": "Too Many Requests"}, status=429)
        route = self.routes.get("$connect")
        authorized: dict[str, Any] | None = None
        if route is not None and route.authorizer is not None:
            status, authorized = await self._authorize(
                route,
                stage,
                request,
                self._context(connection_id, stage, "$connect", "CONNECT", connected_at, peer, agent),
            )
            if status:
                message = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Internal server error")
                return web.json_response({"message": message}, status=status)
        if route is not None:
            multi: dict[str, list[str]] = {}
            for name, value in request.headers.items():
                multi.setdefault(name, []).append(value)
            event: dict[str, Any] = {
                "headers": headers,
                "multiValueHeaders": multi,
                "requestContext": self._context(
                    connection_id, stage, "$connect", "CONNECT", connected_at, peer, agent
                ),
                "isBase64Encoded": False,
            }
            if authorized is not None:
                event["requestContext"]["authorizer"] = authorized
            if request.query:
                event["queryStringParameters"] = dict(request.query)
                event["multiValueQueryStringParameters"] = {k: request.query.getall(k) for k in request.query}
            response, ok = await self._invoke(route, stage, event)
            status = (response or {}).get("statusCode", 200) if ok else 500
            if not isinstance(status, int) or not 200 <= status < 300:
                return web.json_response(
                    {"message": "Forbidden" if ok else "Internal server error"},
                    status=status if isinstance(status, int) and status >= 400 else 500,
                )
        ws = web.WebSocketResponse(max_msg_size=MESSAGE_LIMIT, autoping=True)
        await ws.prepare(request)
        connection = Connection(connection_id, stage, ws, connected_at, peer, agent, headers, connected_at)
        self.connections[connection_id] = connection
        try:
            await self._receive(connection)
        finally:
            self.connections.pop(connection_id, None)
            connection.closed.set()
            if not self.stopping and not connection.vanished:
                self.service.spawn(self._disconnected(connection), f"disconnect {connection_id}")
        return ws

    async def _receive(self, connection: Connection) -> None:
        ws = connection.ws
        deadline = connection.connected_at / 1000 + MAX_CONNECTION_SECONDS
        while True:
            remaining = min(IDLE_TIMEOUT_SECONDS, deadline - time.time())
            if remaining <= 0:
                await ws.close(code=1001, message=b"Going away")
                connection.close_code = 1001
                return
            try:
                message = await ws.receive(timeout=remaining)
            except TimeoutError:
                await ws.close(code=1001, message=b"Going away")
                connection.close_code, connection.close_reason = 1001, "Going away"
                return
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                # The gateway's own close (DELETE, drop_connections) has set its code already.
                connection.close_code = connection.close_code or ws.close_code or 1005
                return
            if message.type == WSMsgType.ERROR:
                connection.close_code = (
                    1009
                    if "too big" in str(message.data).lower() or "size" in str(message.data).lower()
                    else 1006
                )
                connection.close_reason = str(message.data)
                return
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            connection.last_active = int(time.time() * 1000)
            await self._message(connection, message.data)

    def _select(self, body: str) -> str | None:
        try:
            value: Any = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse: the $default route
            return None
        for part in self.selection_path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value if isinstance(value, str) else None

    async def _message(self, connection: Connection, data: str | bytes) -> None:
        stage = connection.stage
        binary = isinstance(data, bytes)
        body = base64.b64encode(data).decode() if isinstance(data, bytes) else data
        selected = None if binary else self._select(body)
        route = self.routes.get(selected) if selected else None
        if route is None or selected in ("$connect", "$disconnect"):
            route = self.routes.get("$default")
        context = self._context(
            connection.id,
            stage,
            route.key if route else "$default",
            "MESSAGE",
            connection.connected_at,
            connection.source_ip,
            connection.user_agent,
        )
        context["messageId"] = base64.b64encode(uuid.uuid4().bytes[:12]).decode()[:16]
        reply: dict[str, Any] = {"connectionId": connection.id, "requestId": context["requestId"]}
        if route is None:
            await self._send(connection, json.dumps({"message": "Forbidden", **reply}))
            return
        if self._throttled(stage, route.key):
            await self._send(connection, json.dumps({"message": "Too Many Requests", **reply}))
            return
        event = {"requestContext": context, "body": body, "isBase64Encoded": binary}
        response, ok = await self._invoke(route, stage, event)
        if not ok:
            await self._send(connection, json.dumps({"message": "Internal server error", **reply}))
            return
        if route.returns_response and isinstance(response, dict) and response.get("body") is not None:
            await self._send(connection, str(response["body"]))

    async def _send(self, connection: Connection, text: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await connection.ws.send_str(text)

    async def _disconnected(self, connection: Connection) -> None:
        route = self.routes.get("$disconnect")
        if route is None:
            return
        context = self._context(
            connection.id,
            connection.stage,
            "$disconnect",
            "DISCONNECT",
            connection.connected_at,
            connection.source_ip,
            connection.user_agent,
        )
        context["disconnectStatusCode"] = connection.close_code or 1005
        context["disconnectReason"] = connection.close_reason
        multi = {k: [v] for k, v in connection.headers.items()}
        event = {
            "headers": connection.headers,
            "multiValueHeaders": multi,
            "requestContext": context,
            "isBase64Encoded": False,
        }
        await self._invoke(route, connection.stage, event)

    def _throttled(self, stage: Stage, route: str) -> bool:
        bucket = stage.route_throttles.get(route) or stage.default_throttle
        return bucket is not None and not bucket.take()

    # -- the management API -------------------------------------------------------------------

    async def manage(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return aws_error(403, "ForbiddenException", "Forbidden")
        stage = self.stages.get(request.match_info["stage"])
        if stage is None:
            return aws_error(403, "ForbiddenException", "Forbidden")
        refused = self._refused(request, stage)
        if refused is not None:
            return refused
        connection = self.connections.get(request.match_info["connection_id"])
        if connection is None or connection.stage is not stage or connection.ws.closed:
            return aws_error(410, "GoneException", None)
        if request.method == "POST":
            data = await request.read()
            if len(data) > MESSAGE_LIMIT:
                return aws_error(413, "PayloadTooLargeException", "Message too long")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            try:
                if text is None:
                    await connection.ws.send_bytes(data)
                else:
                    await connection.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return aws_error(410, "GoneException", None)
            return web.Response(status=200, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        if request.method == "GET":
            return web.json_response(
                {
                    "connectedAt": _iso(connection.connected_at),
                    "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                    "lastActiveAt": _iso(connection.last_active or connection.connected_at),
                },
                headers={"x-amzn-RequestId": str(uuid.uuid4())},
            )
        if request.method == "DELETE":
            connection.close_code, connection.close_reason = 1000, ""
            await connection.ws.close(code=1000)
            return web.Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        return aws_error(403, "ForbiddenException", "Forbidden")

    def _refused(self, request: web.Request, stage: Stage) -> web.Response | None:
        """API Gateway's answer when the calling function's role does not allow
        execute-api:ManageConnections on this connection; None when it does, or for other callers."""
        identities = self.service.identities
        principal = identities.principal(request.headers, request.query) if identities else None
        if identities is None or principal is None:
            return None
        connection = request.raw_path.partition("?")[0].rsplit("/", 1)[-1]  # as sent: %3D, not =
        path = f"{stage.name}/{request.method}/@connections/{connection}"
        arn = self.plan.execute_api_arn(self.id, path)
        denial = identities.authorize(principal, [("execute-api:ManageConnections", arn)])
        if denial is None:
            return None
        # API Gateway masks all but the last four digits of the account, and gives no reason for an
        # implicit deny.
        account = self.plan.account_id
        masked = denial.resource.replace(f":{account}:", f":{'*' * (len(account) - 4)}{account[-4:]}:", 1)
        message = denial.message(resource=masked, reason=False)
        return aws_error(403, "AccessDeniedException", message, message_key="Message")


def _covers(resource: Any, arn: str) -> bool:
    """Whether a policy statement's Resource (a string or a list, `*` wildcards) names `arn`."""
    import fnmatch

    resources = resource if isinstance(resource, list) else [resource]
    return any(isinstance(r, str) and fnmatch.fnmatchcase(arn, r) for r in resources)


def _bucket(settings: dict[str, Any]) -> TokenBucket | None:
    rate, burst = settings.get("throttling_rate_limit"), settings.get("throttling_burst_limit")
    if rate is None or burst is None:
        return None
    return TokenBucket(float(rate), int(burst))
