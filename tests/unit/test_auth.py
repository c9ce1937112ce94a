"""Who may do what: the permission rules (engine.auth), the REST API's 401 and 403 before anything
else, and the WebSocket's record of who connected (broadcasts go to readers only)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CORS_ORIGIN
from driver import MACHINE_CLAIMS, OPERATOR_CLAIMS, VIEWER_CLAIMS, Cloud
from engine.auth import (
    ANONYMOUS,
    OPERATE,
    READ,
    caller_from_claims,
    may_receive,
    required_permission,
    rest_caller,
)


class TestPermissionRules:
    @pytest.mark.parametrize(
        ("claims", "permissions", "role"),
        [
            (OPERATOR_CLAIMS, {READ, OPERATE}, "operator"),
            (VIEWER_CLAIMS, {READ}, "viewer"),
            ({**OPERATOR_CLAIMS, "cognito:groups": "[viewers operators]"}, {READ, OPERATE}, "operator"),
            ({**OPERATOR_CLAIMS, "cognito:groups": "admins,viewers"}, {READ}, "viewer"),
            ({**OPERATOR_CLAIMS, "cognito:groups": ""}, set(), "none"),
            (MACHINE_CLAIMS, {READ}, "machine"),
            ({**MACHINE_CLAIMS, "scope": "orchestra/read orchestra/operate"}, {READ, OPERATE}, "machine"),
            ({**MACHINE_CLAIMS, "scope": "openid"}, set(), "machine"),
        ],
    )
    def test_groups_for_people_scopes_for_machines(
        self, claims: dict[str, Any], permissions: set[str], role: str
    ) -> None:
        caller = caller_from_claims(claims)
        assert caller.permissions == permissions
        assert caller.role == role

    def test_a_person_never_gains_a_permission_from_a_scope(self) -> None:
        claims = {**VIEWER_CLAIMS, "scope": "orchestra/read orchestra/operate"}
        assert not caller_from_claims(claims).may(OPERATE)

    @pytest.mark.parametrize(
        ("method", "path", "needed"),
        [
            ("GET", "/workflows", READ),
            ("HEAD", "/workflows/wf-1", READ),
            ("POST", "/workflows", OPERATE),
            ("POST", "/workflows/wf-1/cancel", OPERATE),
            ("DELETE", "/workflows", OPERATE),
            ("OPTIONS", "/workflows", None),
            ("GET", "/openapi.json", None),
        ],
    )
    def test_what_each_request_needs(self, method: str, path: str, needed: str | None) -> None:
        assert required_permission(method, path) == needed

    def test_no_claims_is_no_caller_unless_sign_in_is_off(self) -> None:
        assert rest_caller({"requestContext": {}}, "cognito", ["cli-client"]) is None
        assert rest_caller({"requestContext": {}}, "none") is ANONYMOUS

    def test_only_tokens_of_the_stacks_app_clients_make_a_caller(self) -> None:
        event = {"requestContext": {"authorizer": {"claims": OPERATOR_CLAIMS}}}
        caller = rest_caller(event, "cognito", ["dashboard-client", "cli-client"])
        assert caller is not None and caller.may(OPERATE)
        assert rest_caller(event, "cognito", ["dashboard-client"]) is None
        assert rest_caller(event, "cognito", []) is None  # no clients configured: nobody

    def test_the_recipient_filter(self) -> None:
        assert may_receive("operate read") and may_receive("read")
        assert not may_receive("-") and not may_receive(None)


class TestRestApi:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/workflows"),
            ("POST", "/workflows"),
            ("GET", "/definitions"),
            ("POST", "/workflows/x/retry"),
        ],
    )
    def test_no_claims_is_a_401(self, cloud: Cloud, method: str, path: str) -> None:
        status, body, headers = cloud.api(method, path, {} if method == "POST" else None, claims=None)
        assert status == 401
        assert body["error"] == "unauthorized"
        assert headers["Content-Type"] == "application/json"

    @pytest.mark.parametrize("claims", [VIEWER_CLAIMS, MACHINE_CLAIMS])
    @pytest.mark.parametrize("path", ["/workflows", "/workflows/wf-1/cancel", "/workflows/wf-1/retry"])
    def test_readers_may_not_operate(self, cloud: Cloud, claims: dict[str, str], path: str) -> None:
        status, body, _ = cloud.api("POST", path, {}, claims=claims)
        assert status == 403, body
        assert body["error"] == "forbidden"
        assert "may not operate" in body["message"]

    @pytest.mark.parametrize("claims", [OPERATOR_CLAIMS, MACHINE_CLAIMS])
    @pytest.mark.parametrize(("method", "path"), [("GET", "/workflows"), ("POST", "/workflows")])
    def test_a_token_of_another_app_client_of_the_pool_is_a_401(
        self, cloud: Cloud, claims: dict[str, str], method: str, path: str
    ) -> None:
        # API Gateway's Cognito authorizer takes any client's token; the pool may have others.
        foreign = {**claims, "client_id": "another-apps-client", "scope": "orchestra/read orchestra/operate"}
        status, body, _ = cloud.api(method, path, {} if method == "POST" else None, claims=foreign)
        assert (status, body["error"]) == (401, "unauthorized"), body

    def test_the_403_comes_before_validation(self, cloud: Cloud) -> None:
        # A viewer learns nothing from the body's validation: the answer is the same 403.
        status, body, _ = cloud.api("POST", "/workflows", raw_body="{not json", claims=VIEWER_CLAIMS)
        assert (status, body["error"]) == (403, "forbidden")

    @pytest.mark.parametrize("claims", [VIEWER_CLAIMS, MACHINE_CLAIMS, OPERATOR_CLAIMS])
    def test_readers_read(self, cloud: Cloud, claims: dict[str, str]) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "wf-read"})
        status, body, _ = cloud.api("GET", "/workflows/wf-read", claims=claims)
        assert status == 200 and body["workflow_id"] == "wf-read"

    def test_the_document_and_preflights_need_nothing(self, cloud: Cloud) -> None:
        status, document, _ = cloud.api("GET", "/openapi.json", claims=None)
        assert status == 200
        assert document["components"]["securitySchemes"]["cognito"] == {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": document["components"]["securitySchemes"]["cognito"]["description"],
        }
        assert document["security"] == [{"cognito": []}]
        status, _, headers = cloud.api(
            "OPTIONS",
            "/workflows",
            headers={"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST"},
            claims=None,
        )
        assert status == 204
        assert "Authorization" in headers.get("Access-Control-Allow-Headers", "")


class TestWebSocket:
    def test_connect_without_an_authorizer_identity_is_refused(self, cloud: Cloud) -> None:
        reply = cloud.websocket("$connect", "c1", authorizer=None)
        assert reply["statusCode"] == 401

    def test_connect_of_a_caller_who_may_not_read_is_refused(self, cloud: Cloud) -> None:
        nobody = {"principalId": "x@example.com", "kind": "user", "permissions": ""}
        assert cloud.websocket("$connect", "c1", authorizer=nobody)["statusCode"] == 403

    def test_the_record_keeps_who_connected(self, cloud: Cloud) -> None:
        viewer = {
            "principalId": "viewer@example.com",
            "kind": "user",
            "permissions": "read",
            "groups": "viewers",
        }
        assert cloud.websocket("$connect", "c1", authorizer=viewer)["statusCode"] == 200
        item = cloud.dynamodb.get_item(TableName=cloud.connections, Key={"connection_id": {"S": "c1"}})[
            "Item"
        ]
        assert item["principal"] == {"S": "viewer@example.com"}
        assert item["permissions"] == {"S": "read"}
        assert item["role"] == {"S": "viewer"}

    def test_broadcasts_skip_connections_whose_record_may_not_read(self, cloud: Cloud) -> None:
        cloud.websocket("$connect", "reader")
        # A record from before sign-in, or written by anything else: no read permission, no updates.
        cloud.dynamodb.put_item(
            TableName=cloud.connections,
            Item={"connection_id": {"S": "stranger"}, "topic": {"S": "*"}, "permissions": {"S": "-"}},
        )
        cloud.api("POST", "/workflows", {"workflowId": "w"})
        cloud.orchestrate(cloud.read_stream())
        assert {cid for cid, _ in cloud.posts} == {"reader"}
