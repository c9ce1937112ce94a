"""API Gateway WebSocket: routes, proxy events and the @connections API, with a real WebSocket
client (websockets) and boto3's apigatewaymanagementapi client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from local_cloud.harness import Running, connection_id_of, events, eventually


def management(running: Running) -> Any:
    url = running.outputs["websocket_url"].replace("ws://", "http://")
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=url,
        region_name="eu-central-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def client(running: Running) -> Iterator[ClientConnection]:
    with connect(running.outputs["websocket_url"], open_timeout=20) as ws:
        yield ws


class TestConnect:
    def test_connect_event_as_api_gateway_sends_it(self, running: Running, client: ClientConnection) -> None:
        connection_id = connection_id_of(running, client)
        assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", connection_id)
        (connect_event,) = [
            e for e in events(running, connection_id) if e["requestContext"]["routeKey"] == "$connect"
        ]
        context = connect_event["requestContext"]
        assert context["eventType"] == "CONNECT"
        assert context["stage"] == "prod"
        assert context["messageDirection"] == "IN"
        assert context["identity"]["sourceIp"] == "127.0.0.1"
        assert isinstance(context["connectedAt"], int)
        assert context["domainName"].endswith(".execute-api.eu-central-1.amazonaws.com")
        assert connect_event["headers"]["Upgrade"].lower() == "websocket"
        assert connect_event["isBase64Encoded"] is False

    def test_a_connect_route_that_refuses_refuses_the_handshake(self, running: Running) -> None:
        with pytest.raises(InvalidStatus) as refused:
            connect(running.outputs["websocket_url"] + "?deny=1", open_timeout=20)
        assert refused.value.response.status_code == 403

    def test_an_unknown_stage_is_forbidden(self, running: Running) -> None:
        base = running.outputs["websocket_url"].removesuffix("/prod")
        with pytest.raises(InvalidStatus):
            connect(base + "/dev", open_timeout=20)


class TestMessages:
    def test_route_selection_by_action(self, running: Running, client: ClientConnection) -> None:
        client.send(json.dumps({"action": "echo", "n": 1}))
        assert client.recv(timeout=20) == 'echo:{"action": "echo", "n": 1}'

    @pytest.mark.parametrize(
        "message", ["not json", "[" * 5_000 + "]" * 5_000, '{"action": "nope"}', '{"no": "action"}', "[1, 2]"]
    )
    def test_anything_else_goes_to_default_whose_route_response_answers(
        self, client: ClientConnection, message: str
    ) -> None:
        client.send(message)
        assert json.loads(client.recv(timeout=20)) == {"route": "$default"}

    def test_a_route_without_a_route_response_sends_nothing_back(
        self, running: Running, client: ClientConnection
    ) -> None:
        client.send(json.dumps({"action": "echo"}))
        assert client.recv(timeout=20).startswith("echo:")  # the function's own post, nothing else
        client.send("ping")
        assert json.loads(client.recv(timeout=20)) == {"route": "$default"}

    def test_a_failing_integration_answers_internal_server_error(self, client: ClientConnection) -> None:
        client.send(json.dumps({"action": "boom"}))
        reply = json.loads(client.recv(timeout=20))
        assert reply["message"] == "Internal server error"
        assert set(reply) == {"message", "connectionId", "requestId"}

    def test_message_event(self, running: Running, client: ClientConnection) -> None:
        connection_id = connection_id_of(running, client)
        client.send(json.dumps({"action": "echo", "m": 2}))
        client.recv(timeout=20)
        (event,) = [e for e in events(running, connection_id) if e["requestContext"]["routeKey"] == "echo"]
        assert event["requestContext"]["eventType"] == "MESSAGE"
        assert event["requestContext"]["messageId"]
        assert json.loads(event["body"]) == {"action": "echo", "m": 2}


class TestConnectionsApi:
    def test_post_get_delete(self, running: Running, client: ClientConnection) -> None:
        connection_id = connection_id_of(running, client)
        api = management(running)
        api.post_to_connection(ConnectionId=connection_id, Data=b'{"type": "workflow_update"}')
        assert json.loads(client.recv(timeout=20)) == {"type": "workflow_update"}
        described = api.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"
        assert described["ConnectedAt"] <= described["LastActiveAt"]
        api.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=20)
        disconnect = eventually(
            lambda: next(
                e for e in events(running, connection_id) if e["requestContext"]["routeKey"] == "$disconnect"
            )
        )
        assert disconnect["requestContext"]["eventType"] == "DISCONNECT"
        assert disconnect["requestContext"]["disconnectStatusCode"] == 1000

    @pytest.mark.parametrize("operation", ["post_to_connection", "get_connection", "delete_connection"])
    def test_a_closed_connection_is_gone(self, running: Running, operation: str) -> None:
        with connect(running.outputs["websocket_url"], open_timeout=20) as ws:
            connection_id = connection_id_of(running, ws)
        api = management(running)
        eventually(lambda: connection_id not in running.cloud.websocket_apis[0].connections)
        kwargs: dict[str, Any] = {"ConnectionId": connection_id}
        if operation == "post_to_connection":
            kwargs["Data"] = b"x"
        with pytest.raises(api.exceptions.GoneException):
            getattr(api, operation)(**kwargs)

    def test_a_client_close_runs_disconnect(self, running: Running) -> None:
        with connect(running.outputs["websocket_url"], open_timeout=20) as ws:
            connection_id = connection_id_of(running, ws)
        event = eventually(
            lambda: next(
                e for e in events(running, connection_id) if e["requestContext"]["routeKey"] == "$disconnect"
            )
        )
        assert event["requestContext"]["disconnectStatusCode"] == 1000

    def test_an_unsigned_request_is_forbidden(self, running: Running) -> None:
        url = running.outputs["websocket_url"].replace("ws://", "http://") + "/@connections/abc="
        response = requests.post(url, data=b"x", timeout=10)
        assert response.status_code == 403
        assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"

    def test_a_function_posts_through_the_localized_endpoint(self, running: Running) -> None:
        # The ws function's MANAGEMENT_ENDPOINT was https://<id>.execute-api.../prod in the stack.
        assert running.cloud.lambdas is not None
        env = running.cloud.lambdas.functions["test-ws"].spec.environment
        assert env["MANAGEMENT_ENDPOINT"] == running.outputs["websocket_url"].replace("ws://", "http://")


class TestControlApi:
    """websocket/disconnect on the control API: the gateway drops every connection (local only)."""

    def control(self, running: Running, body: Any) -> requests.Response:
        url = f"{running.cloud.endpoints.lambda_}/_localcloud/websocket/disconnect"
        return requests.post(url, json=body, timeout=10)

    def test_every_connection_is_closed_going_away_and_new_handshakes_wait_out_the_hold(
        self, running: Running
    ) -> None:
        url = running.outputs["websocket_url"]
        with connect(url, open_timeout=20) as first, connect(url, open_timeout=20) as second:
            ids = [connection_id_of(running, ws) for ws in (first, second)]
            answer = self.control(running, {"hold_seconds": 30})
            assert answer.status_code == 200
            assert answer.json()["closed"] >= 2
            for ws in (first, second):
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=20)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        for connection_id in ids:
            event = eventually(
                lambda connection_id=connection_id: next(
                    e
                    for e in events(running, connection_id)
                    if e["requestContext"]["routeKey"] == "$disconnect"
                )
            )
            assert event["requestContext"]["disconnectStatusCode"] == 1001
        with pytest.raises(TimeoutError):
            connect(url, open_timeout=1)
        assert self.control(running, {"hold_seconds": 0}).json()["closed"] == 0  # ends the hold
        with connect(url, open_timeout=20) as again:
            assert connection_id_of(running, again) not in ids

    @pytest.mark.parametrize("body", [{"hold_seconds": -1}, {"hold_seconds": "5"}, [1]])
    def test_a_bad_hold_is_refused(self, running: Running, body: Any) -> None:
        assert self.control(running, body).status_code == 400
