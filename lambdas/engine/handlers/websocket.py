"""WebSocket API: `$connect`, `$disconnect`, `subscribe` and `$default` (route key `$request.body.action`)."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from engine import auth, runtime
from engine.connections import ALL_WORKFLOWS, Connections
from engine.observability import logger
from engine.schemas import WORKFLOW_ID_PATTERN, TooDeep, load_json_bounded


def _reply(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body)}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return _reply(status, {"type": "error", "error": code, "message": message})


def _subscribe(connections: Connections, connection_id: str, body: str | None) -> dict[str, Any]:
    try:
        message = load_json_bounded(body or "{}")
    except TooDeep as too_deep:
        return _error(400, "validation_error", f"message is {too_deep}")
    except json.JSONDecodeError:
        return _error(400, "invalid_json", "message is not valid JSON")
    except ValueError as exc:  # a number JSON cannot carry (NaN, Infinity)
        return _error(400, "validation_error", f"message: {exc}")
    if not isinstance(message, dict):
        return _error(400, "validation_error", "message must be a JSON object")
    topic = message.get("workflow_id", ALL_WORKFLOWS)
    if topic is None:
        topic = ALL_WORKFLOWS
    if not isinstance(topic, str) or (
        topic != ALL_WORKFLOWS and not re.fullmatch(WORKFLOW_ID_PATTERN, topic)
    ):
        return _error(400, "validation_error", "workflow_id must be a workflow id or '*'")
    if not connections.subscribe(connection_id, topic):
        return _error(410, "gone", "connection is closed")
    return _reply(200, {"type": "subscribed", "workflow_id": topic})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings("websocket")
    connections = Connections(runtime.clients().dynamodb, settings.connections_table)
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), request.get("connectionId")
    if not connection_id:
        return _error(400, "bad_request", "no connection id")
    logger.append_keys(connection_id=connection_id, route=route)
    if route == "$connect":
        # The authorizer has verified the token; with no identity from it, refuse the handshake.
        caller = auth.websocket_caller(event, settings.auth_mode)
        if caller is None:
            return _error(401, "unauthorized", "no verified access token")
        if not caller.may(auth.READ):
            return _error(403, "forbidden", f"{caller.principal} may not read workflows")
        logger.append_keys(caller=caller.principal, role=caller.role)
        connections.connect(connection_id, runtime.clock(), settings.connection_ttl_seconds, caller)
        return {"statusCode": 200}
    if route == "$disconnect":
        connections.disconnect(connection_id)
        return {"statusCode": 200}
    if route == "subscribe":
        return _subscribe(connections, connection_id, event.get("body"))
    return _error(400, "unknown_action", 'send {"action": "subscribe", "workflow_id": "<id>" or "*"}')
